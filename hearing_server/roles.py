"""Who is who in a hearing, and what each role may do."""

from __future__ import annotations

import enum


class Role(str, enum.Enum):
    JUDGE = "judge"
    CLERK = "clerk"
    COURTROOM = "courtroom"
    ADMIN = "admin"
    PLAINTIFF = "plaintiff"
    DEFENDANT = "defendant"
    LAWYER = "lawyer"
    PROSECUTOR = "prosecutor"
    WITNESS = "witness"
    INTERPRETER = "interpreter"
    OBSERVER = "observer"

    @property
    def is_staff(self) -> bool:
        return self in STAFF_ROLES


STAFF_ROLES = frozenset({Role.JUDGE, Role.CLERK, Role.COURTROOM, Role.ADMIN})
PARTY_ROLES = frozenset(set(Role) - STAFF_ROLES)
# Accounts that log in with a password (the courtroom PC gets a device account of its own).
ACCOUNT_ROLES = STAFF_ROLES


class Permission(str, enum.Enum):
    CREATE_HEARING = "create_hearing"
    VIEW_HEARING = "view_hearing"
    CONTROL_HEARING = "control_hearing"  # open, lock, recess, close
    INVITE = "invite"
    ADMIT = "admit"  # lobby list, admit, reject
    MODERATE = "moderate"  # mute, remove
    WATCH_LOBBY = "watch_lobby"  # live camera preview of lobby entrants (ID check)
    LOG_NOTES = "log_notes"  # time-stamped notes in the transcript
    CONTROL_RECORDING = "control_recording"  # pause and resume the recording
    VIEW_RECORDINGS = "view_recordings"  # the archive: find, play, download, verify
    SHARE_RECORDINGS = "share_recordings"  # hand a recording to a party
    VIEW_AUDIT = "view_audit"
    HOLD_RECORDINGS = "hold_recordings"  # place and lift a legal hold (it blocks deletion by retention)
    MANAGE_DEVICES = "manage_devices"  # list and revoke courtroom PCs' device tokens


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.JUDGE: frozenset(Permission) - {Permission.VIEW_AUDIT, Permission.MANAGE_DEVICES},
    # Clerks run the waiting room and the paperwork; the judge runs the hearing itself.
    Role.CLERK: frozenset({Permission.VIEW_HEARING, Permission.INVITE, Permission.ADMIT,
                           Permission.WATCH_LOBBY, Permission.LOG_NOTES, Permission.VIEW_RECORDINGS,
                           Permission.SHARE_RECORDINGS, Permission.VIEW_AUDIT}),
    Role.COURTROOM: frozenset({Permission.VIEW_HEARING}),
}


def allowed(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def parse_role(value: object) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise ValueError(f"unknown role {value!r}; one of: {', '.join(r.value for r in Role)}") from None
