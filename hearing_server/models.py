"""The records the court keeps about a hearing: the hearing itself and each participant."""

from __future__ import annotations

import dataclasses
import enum
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(9)}"


def now() -> float:
    return time.time()


class HearingStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    RECESS = "recess"
    CLOSED = "closed"


class ParticipantState(str, enum.Enum):
    INVITED = "invited"  # has a join link, has not used it yet
    WAITING = "waiting"  # in the lobby
    ADMITTED = "admitted"  # in the hearing
    DISCONNECTED = "disconnected"  # admitted, connection lost, seat kept for the grace period
    REJECTED = "rejected"
    REMOVED = "removed"
    LEFT = "left"


@dataclass
class Hearing:
    id: str
    case_number: str
    title: str
    court: str
    courtroom: str
    scheduled_start: str  # ISO 8601, as the court typed it
    judge: str  # username of the presiding judge
    judge_name: str
    # What the court's retention periods go by (archive.retention_by_category), e.g. "criminal".
    case_category: str = ""
    status: HearingStatus = HearingStatus.SCHEDULED
    locked: bool = False
    recording_paused: bool = False
    created_at: float = field(default_factory=now)
    opened_at: float | None = None
    closed_at: float | None = None
    # Why this hearing's live media could not start on this server (logged too); empty when all is well.
    media_error: str = ""

    @property
    def is_live(self) -> bool:
        return self.status in (HearingStatus.OPEN, HearingStatus.RECESS)


@dataclass
class Participant:
    id: str
    hearing_id: str
    name: str  # as the court wrote it on the invitation
    role: str
    state: ParticipantState = ParticipantState.INVITED
    phone: str = ""
    email: str = ""
    stated_name: str = ""  # what the person typed on the join page; shown to the court for the ID check
    username: str = ""  # staff accounts only
    invite_jti: str = ""
    invite_expires_at: float = 0.0
    session_jti: str = ""
    muted_by_court: bool = False
    self_muted: bool = False
    camera_off: bool = False
    invited_at: float = field(default_factory=now)
    lobby_at: float | None = None
    admitted_at: float | None = None
    disconnected_at: float | None = None
    left_at: float | None = None
    left_reason: str = ""
    # Back in the waiting room after being admitted once: why ("away_too_long", "left", "court_checks_again");
    # the court sees "returning — admitted at …" and readmits with one click. Empty otherwise.
    returning: str = ""
    hand_raised: bool = False  # asks to speak; lowered by them, or by the court (lower-hand, or unmuting them)

    @property
    def in_hearing(self) -> bool:
        return self.state in (ParticipantState.ADMITTED, ParticipantState.DISCONNECTED)

    def public(self) -> dict[str, Any]:
        """What the other participants may see of this person (no contact details, no token ids)."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "state": self.state.value,
            "muted": self.muted_by_court or self.self_muted,
            "muted_by_court": self.muted_by_court,
            "camera_off": self.camera_off,
            "hand_raised": self.hand_raised,
        }

    def for_court(self) -> dict[str, Any]:
        data = to_dict(self)
        data.pop("invite_jti")
        data.pop("session_jti")
        return data


T = TypeVar("T", Hearing, Participant)

_ENUM_FIELDS: dict[type, dict[str, type[enum.Enum]]] = {
    Hearing: {"status": HearingStatus},
    Participant: {"state": ParticipantState},
}


def to_dict(record: Hearing | Participant) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    for name in _ENUM_FIELDS[type(record)]:
        data[name] = data[name].value
    return data


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    known = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in data.items() if k in known}
    for name, enum_type in _ENUM_FIELDS[cls].items():
        if name in values:
            values[name] = enum_type(values[name])
    return cls(**values)
