"""The court's rules for a hearing: who may enter, when, and what each action changes.

Both the HTTP API and the signaling sessions go through here, so a rule is written once. Every change is
saved in the Store and then announced as a CourtEvent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from recorder.db import DatabaseUnavailable
from recorder.shares import RevokedTokens
from recorder.transcript import NOTE_KINDS
from signaling import text

from . import events as ev
from .config import Settings
from .device_tokens import DeviceTokenRegister
from .errors import ApiError, conflict, not_found
from .events import CourtEvent, EventBus
from .models import Hearing, HearingStatus, Participant, ParticipantState, new_id
from .roles import Permission, Role, allowed
from .store import Store
from .tokens import Claims, TokenError, TokenKind, TokenService
from .users import UserDirectory

log = logging.getLogger(__name__)

LOST_CONNECTION = "connection lost"
REVOCATION_CHECK_SECONDS = 2.0
HEARING_FIELDS = ("case_number", "title", "court", "courtroom", "scheduled_start", "case_category")
FIELD_LIMIT = text.FIELD_LIMIT


def forbidden(message: str, code: str = "forbidden") -> ApiError:
    return ApiError(403, code, message)


@dataclass
class Invitation:
    participant: Participant
    token: str


class Court:
    def __init__(self, settings: Settings, store: Store, tokens: TokenService, bus: EventBus,
                 users: UserDirectory | None = None, devices: DeviceTokenRegister | None = None,
                 revoked: RevokedTokens | None = None) -> None:
        self.settings = settings
        self.store = store
        self.tokens = tokens
        self.bus = bus
        self.users = users
        self.devices = devices
        # The archive database's register of revoked tokens, which every node and every restart sees (the
        # state store's copy is what a hearing goes on with while that database is down).
        self.revoked = revoked
        self._unsaved: dict[str, float] = {}  # revoked while the database was down, written when it is back
        self._warned_at = -1e9

    # -- tokens -------------------------------------------------------------------------------------

    async def authenticate(self, token: str, kinds: tuple[TokenKind, ...]) -> Claims:
        try:
            claims = self.tokens.verify(token, kinds=kinds)
        except TokenError as exc:
            raise ApiError(401, exc.code, exc.message) from None
        if await self.is_revoked(claims.jti):
            raise ApiError(401, "token_revoked", "this token has been revoked")
        if claims.kind is TokenKind.STAFF and self.users is not None:
            account = self.users.get(claims.subject)
            if account is None or account.disabled or account.role != claims.role.value:
                raise ApiError(401, "account_changed", "this account was removed or changed; log in again")
            if claims.role is Role.COURTROOM and (not claims.courtroom or claims.courtroom != account.courtroom):
                raise ApiError(401, "account_changed", "this courtroom PC's account now names another courtroom")
        if claims.device and (self.devices is None or not self.devices.is_active(claims.jti)):
            raise ApiError(401, "token_revoked", "this device token has been revoked")
        return claims

    async def revoke(self, jti: str, expires_at: float) -> None:
        await self.store.revoke(jti, expires_at)
        if self.revoked is None:
            return
        self._unsaved[jti] = expires_at
        await self._save_revocations()

    async def is_revoked(self, jti: str) -> bool:
        if jti in self._unsaved or await self.store.is_revoked(jti):
            return True
        if self.revoked is None:
            return False
        if self._unsaved:
            await self._save_revocations()
        try:
            # A slow database must not hold up a hearing's calls: past this, the state store answers.
            return await asyncio.wait_for(self.revoked.is_revoked(jti), REVOCATION_CHECK_SECONDS)
        except (DatabaseUnavailable, asyncio.TimeoutError) as exc:
            if time.monotonic() - self._warned_at > 60:  # once a minute, not once a request
                self._warned_at = time.monotonic()
                log.warning("revocations: the archive database is unavailable, the state store answers: %s",
                            exc or f"no answer within {REVOCATION_CHECK_SECONDS:.0f} s")
            return False

    async def _save_revocations(self) -> None:
        assert self.revoked is not None
        for jti, expires_at in list(self._unsaved.items()):
            try:
                await self.revoked.revoke(jti, expires_at)
            except DatabaseUnavailable as exc:
                log.warning("revocations: %d not yet in the archive database (%s); kept here until it is back",
                            len(self._unsaved), exc)
                return
            self._unsaved.pop(jti, None)

    async def logout(self, claims: Claims) -> None:
        await self.revoke(claims.jti, claims.expires_at)

    def issue_staff_token(self, username: str, role: Role, name: str, courtroom: str = "") -> tuple[str, Claims]:
        return self.tokens.issue(TokenKind.STAFF, username, role, "*",
                                 self.settings.auth.staff_ttl_hours * 3600, name=name, courtroom=courtroom)

    # -- permission checks ---------------------------------------------------------------------------

    def require(self, claims: Claims, permission: Permission, hearing: Hearing | None = None) -> None:
        if claims.kind is not TokenKind.STAFF or not allowed(claims.role, permission):
            raise forbidden(f"a {claims.role.value} may not {permission.value.replace('_', ' ')}")
        # A courtroom PC sees and publishes into the hearings held in its own courtroom, and no others.
        if hearing is not None and claims.role is Role.COURTROOM and not self.in_courtroom(claims, hearing):
            raise forbidden("this courtroom PC belongs to another courtroom", "wrong_courtroom")
        # A judge runs their own hearings; clerks and admins serve the whole court.
        if hearing is not None and claims.role is Role.JUDGE and hearing.judge != claims.subject:
            if permission not in (Permission.VIEW_HEARING,):
                raise forbidden("only the presiding judge may do this", "not_presiding_judge")

    @staticmethod
    def in_courtroom(claims: Claims, hearing: Hearing) -> bool:
        return bool(claims.courtroom) and claims.courtroom.casefold() == hearing.courtroom.casefold()

    def may(self, claims: Claims, permission: Permission, hearing: Hearing | None = None) -> bool:
        try:
            self.require(claims, permission, hearing)
        except ApiError:
            return False
        return True

    # -- hearings -----------------------------------------------------------------------------------

    async def hearing(self, hearing_id: str) -> Hearing:
        hearing = await self.store.get_hearing(hearing_id) if len(hearing_id) < 100 else None
        if hearing is None:
            raise not_found("hearing")
        return hearing

    async def create_hearing(self, claims: Claims, fields: dict[str, Any]) -> Hearing:
        self.require(claims, Permission.CREATE_HEARING)
        values = {name: clean_text(fields.get(name, ""), name, required=name in ("case_number", "title"))
                  for name in HEARING_FIELDS}
        judge = claims.subject
        judge_name = claims.name or claims.subject
        if claims.role is Role.ADMIN:
            judge = clean_text(fields.get("judge", ""), "judge", required=True)
            account = self.users.get(judge) if self.users else None
            if account is None or account.role != Role.JUDGE.value:
                raise ApiError(400, "bad_request", f"judge: no judge account named {judge!r}")
            judge_name = clean_text(fields.get("judge_name", ""), "judge_name") or account.display_name
        hearing = Hearing(id=new_id("h"), judge=judge, judge_name=judge_name, case_number=values["case_number"],
                          title=values["title"], court=values["court"], courtroom=values["courtroom"],
                          scheduled_start=values["scheduled_start"], case_category=values["case_category"])
        await self.store.save_hearing(hearing)
        return hearing

    async def open(self, claims: Claims, hearing_id: str) -> Hearing:
        hearing = await self.hearing(hearing_id)
        self.require(claims, Permission.CONTROL_HEARING, hearing)
        if hearing.status is HearingStatus.CLOSED:
            raise conflict("hearing_closed", "a closed hearing cannot be opened again")
        if hearing.status is HearingStatus.SCHEDULED:
            hearing.status = HearingStatus.OPEN
            hearing.opened_at = time.time()
            await self.store.save_hearing(hearing)
            await self.bus.publish(CourtEvent(ev.OPENED, hearing.id, actor=claims.subject))
        return hearing

    async def set_locked(self, claims: Claims, hearing_id: str, locked: bool) -> Hearing:
        hearing = await self._live_hearing(claims, hearing_id, Permission.CONTROL_HEARING, allow_scheduled=True)
        if hearing.locked != locked:
            hearing.locked = locked
            await self.store.save_hearing(hearing)
            await self.bus.publish(CourtEvent(ev.LOCKED if locked else ev.UNLOCKED, hearing.id,
                                              actor=claims.subject))
        return hearing

    async def set_recess(self, claims: Claims, hearing_id: str, recess: bool) -> Hearing:
        hearing = await self._live_hearing(claims, hearing_id, Permission.CONTROL_HEARING)
        wanted = HearingStatus.RECESS if recess else HearingStatus.OPEN
        if hearing.status is not wanted:
            hearing.status = wanted
            await self.store.save_hearing(hearing)
            await self.bus.publish(CourtEvent(ev.RECESS if recess else ev.RESUMED, hearing.id,
                                              actor=claims.subject))
        return hearing

    async def close(self, claims: Claims, hearing_id: str) -> Hearing:
        hearing = await self.hearing(hearing_id)
        self.require(claims, Permission.CONTROL_HEARING, hearing)
        if hearing.status is HearingStatus.CLOSED:
            return hearing
        hearing.status = HearingStatus.CLOSED
        hearing.closed_at = time.time()
        await self.store.save_hearing(hearing)
        for person in await self.store.list_participants(hearing.id):
            if person.state in (ParticipantState.WAITING, ParticipantState.ADMITTED,
                                ParticipantState.DISCONNECTED, ParticipantState.INVITED):
                await self._revoke_tokens(person)
                person.state = ParticipantState.LEFT
                person.left_at = time.time()
                await self.store.save_participant(person)
                await self.store.lobby_leave(hearing.id, person.id)
        await self.bus.publish(CourtEvent(ev.CLOSED, hearing.id, actor=claims.subject))
        return hearing

    async def set_recording(self, claims: Claims, hearing_id: str, paused: bool) -> Hearing:
        hearing = await self._live_hearing(claims, hearing_id, Permission.CONTROL_RECORDING)
        if not self.settings.recording.enabled:
            raise conflict("recording_disabled", "recording is turned off on this server")
        if hearing.recording_paused != paused:
            hearing.recording_paused = paused
            await self.store.save_hearing(hearing)
            await self.bus.publish(CourtEvent(ev.RECORDING_PAUSED if paused else ev.RECORDING_RESUMED,
                                              hearing.id, actor=claims.subject))
        return hearing

    async def add_note(self, claims: Claims, hearing_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A clerk's or judge's time-stamped log note, kept in the transcript at this instant."""
        hearing = await self._live_hearing(claims, hearing_id, Permission.LOG_NOTES)
        body = clean_text(fields.get("text", ""), "text", required=True, limit=2000, multiline=True)
        kind = fields.get("kind", "note")
        if kind not in NOTE_KINDS:
            raise ApiError(400, "bad_request", f"kind must be one of: {', '.join(NOTE_KINDS)}")
        note = {"id": new_id("n"), "text": body, "kind": kind, "author": claims.name or claims.subject,
                "at": time.time()}
        await self.bus.publish(CourtEvent(ev.LOG_NOTE, hearing.id, actor=claims.subject, data=note, at=note["at"]))
        return note

    async def _live_hearing(self, claims: Claims, hearing_id: str, permission: Permission,
                            allow_scheduled: bool = False) -> Hearing:
        hearing = await self.hearing(hearing_id)
        self.require(claims, permission, hearing)
        if hearing.status is HearingStatus.CLOSED:
            raise conflict("hearing_closed", "the hearing is closed")
        if hearing.status is HearingStatus.SCHEDULED and not allow_scheduled:
            raise conflict("hearing_not_open", "the hearing has not been opened yet")
        return hearing

    # -- participants -------------------------------------------------------------------------------

    async def participant(self, hearing_id: str, participant_id: str) -> Participant:
        person = await self.store.get_participant(hearing_id, participant_id) if len(participant_id) < 100 \
            else None
        if person is None:
            raise not_found("participant")
        return person

    async def invite(self, claims: Claims, hearing_id: str, fields: dict[str, Any]) -> Invitation:
        hearing = await self.hearing(hearing_id)
        self.require(claims, Permission.INVITE, hearing)
        if hearing.status is HearingStatus.CLOSED:
            raise conflict("hearing_closed", "the hearing is closed")
        name = clean_text(fields.get("name", ""), "name", required=True)
        try:
            role = Role(str(fields.get("role", "")))
        except ValueError:
            role = None
        if role is None or role.is_staff:
            raise ApiError(400, "bad_request", "role must be one of: " +
                           ", ".join(sorted(r.value for r in Role if not r.is_staff)))
        participant = Participant(id=new_id("p"), hearing_id=hearing.id, name=name, role=role.value,
                                  phone=clean_text(fields.get("phone", ""), "phone"),
                                  email=clean_text(fields.get("email", ""), "email"))
        token = await self._new_invite(participant)
        await self.store.save_participant(participant)
        await self.bus.publish(CourtEvent(ev.INVITED, hearing.id, participant.id, claims.subject,
                                          {"name": name, "role": role.value}))
        return Invitation(participant, token)

    async def new_link(self, claims: Claims, hearing_id: str, participant_id: str) -> Invitation:
        """The court shows or sends someone's link again (lost SMS, a phone number mistyped): a new link for the
        same seat. The old one stops working, so a link that went astray cannot be used by whoever has it."""
        hearing = await self.hearing(hearing_id)
        self.require(claims, Permission.INVITE, hearing)
        if hearing.status is HearingStatus.CLOSED:
            raise conflict("hearing_closed", "the hearing is closed")
        person = await self.participant(hearing.id, participant_id)
        if person.username:
            raise conflict("no_invitation", "staff join without a link")
        if person.state in (ParticipantState.REJECTED, ParticipantState.REMOVED):
            raise conflict("no_invitation", f"there is no invitation to renew for a {person.state.value} participant")
        token = await self._new_invite(person)
        await self.store.save_participant(person)
        await self.bus.publish(CourtEvent(ev.INVITED, hearing.id, person.id, claims.subject,
                                          {"name": person.name, "role": person.role, "renewed": True}))
        return Invitation(person, token)

    async def _new_invite(self, person: Participant) -> str:
        """An invite token (the join link) for the person; the one they held, if any, is revoked."""
        token, invite = self.tokens.issue(TokenKind.INVITE, person.id, Role(person.role), person.hearing_id,
                                          self.settings.auth.invite_ttl_hours * 3600, name=person.name)
        if person.invite_jti:
            await self.revoke(person.invite_jti, max(person.invite_expires_at, time.time() + 60))
        person.invite_jti = invite.jti
        person.invite_expires_at = invite.expires_at
        return token

    async def enter_lobby(self, claims: Claims, stated_name: str) -> tuple[Participant, str]:
        """A person opened their join link: the first time, into the waiting room (never straight into the
        hearing). Someone the court admitted before comes back with the same link — a closed tab, a phone
        that crashed, Leave pressed by mistake — see `_return_by_link`. One person, one seat: a second device
        with the same link takes the seat over (the room closes the first one's connection).

        Returns the person and, when they go straight back to their seat, their new session token."""
        hearing = await self.hearing(claims.hearing)
        person = await self.participant(claims.hearing, claims.subject)
        if person.invite_jti != claims.jti:
            raise ApiError(401, "invalid_token", "this invitation has been replaced")
        if hearing.status is HearingStatus.CLOSED:
            raise conflict("hearing_closed", "the hearing is closed")
        if person.state in (ParticipantState.REJECTED, ParticipantState.REMOVED):
            raise forbidden("the court has not admitted you to this hearing", f"participant_{person.state.value}")
        person.stated_name = clean_text(stated_name, "name") or person.stated_name
        if person.admitted_at is not None:
            return await self._return_by_link(hearing, person)
        if hearing.locked and person.state is not ParticipantState.WAITING:
            raise forbidden("the hearing is locked; nobody new may enter", "hearing_locked")
        first_time = person.state is not ParticipantState.WAITING
        person.state = ParticipantState.WAITING
        person.lobby_at = person.lobby_at if not first_time and person.lobby_at else time.time()
        await self.store.save_participant(person)
        await self.store.lobby_enter(hearing.id, person.id, person.lobby_at)
        await self.bus.publish(CourtEvent(ev.LOBBY_ENTERED, hearing.id, person.id,
                                          data={"name": person.name, "stated_name": person.stated_name}))
        return person, ""

    async def _return_by_link(self, hearing: Hearing, person: Participant) -> tuple[Participant, str]:
        """An admitted person's link opened again. Within the grace period (media.reconnect_grace_seconds,
        counted from the drop or from Leave) and when the court allows it (court.rejoin_by_link = "seat"),
        straight back to their seat with a new session (the old one is revoked, so a lost phone cannot come
        back); otherwise into the waiting room as returning, and the court readmits them with one click."""
        if person.state is ParticipantState.WAITING:
            await self.store.save_participant(person)
            return person, ""
        now = time.time()
        since = {ParticipantState.DISCONNECTED: person.disconnected_at,
                 ParticipantState.LEFT: person.left_at}.get(person.state, now)
        away = now - (since if since is not None else 0.0)
        grace = self.settings.media.reconnect_grace_seconds
        if self.settings.court.rejoin_by_link == "seat" and away <= grace and \
                person.left_reason != LOST_CONNECTION:
            token = await self._new_session(person)
            person.state = ParticipantState.ADMITTED
            person.disconnected_at = None
            person.left_reason = ""
            await self.store.save_participant(person)
            await self.bus.publish(CourtEvent(ev.RECONNECTED, hearing.id, person.id, person.id, {"by_link": True}))
            return person, token
        if hearing.locked:
            raise forbidden("the hearing is locked; nobody new may enter", "hearing_locked")
        if person.state is ParticipantState.LEFT and person.left_reason != LOST_CONNECTION:
            why = "left"
        elif away > grace or person.left_reason == LOST_CONNECTION:
            why = "away_too_long"
        else:
            why = "court_checks_again"
        if person.session_jti:  # readmission gives a new one
            await self.revoke(person.session_jti, now + self.settings.auth.session_ttl_hours * 3600)
            person.session_jti = ""
        await self._back_to_lobby(hearing, person, why)
        return person, ""

    async def _back_to_lobby(self, hearing: Hearing, person: Participant, why: str) -> None:
        """Someone admitted before waits again, as returning (`why`): the court readmits them with one click."""
        person.state = ParticipantState.WAITING
        person.lobby_at = time.time()
        person.left_reason = ""
        person.returning = why
        await self.store.save_participant(person)
        await self.store.lobby_enter(hearing.id, person.id, person.lobby_at)
        await self.bus.publish(CourtEvent(ev.LOBBY_ENTERED, hearing.id, person.id, data={
            "name": person.name, "stated_name": person.stated_name, "returning": True, "why": why,
            "admitted_at": person.admitted_at}))

    async def lobby(self, claims: Claims, hearing_id: str) -> list[Participant]:
        hearing = await self.hearing(hearing_id)
        self.require(claims, Permission.ADMIT, hearing)
        return await self.lobby_entrants(hearing_id)

    async def lobby_entrants(self, hearing_id: str) -> list[Participant]:
        people = []
        for pid in await self.store.lobby(hearing_id):
            person = await self.store.get_participant(hearing_id, pid)
            if person and person.state is ParticipantState.WAITING:
                people.append(person)
        return people

    async def admit(self, claims: Claims, hearing_id: str, participant_id: str) -> tuple[Participant, str]:
        hearing = await self._live_hearing(claims, hearing_id, Permission.ADMIT)
        person = await self.participant(hearing.id, participant_id)
        if person.state is not ParticipantState.WAITING:
            raise conflict("not_in_lobby", f"the participant is {person.state.value}, not waiting in the lobby")
        returning = person.admitted_at is not None
        # The invitation is spent here, atomically: two clerks clicking "admit" at once admit one person
        # once. Someone returning after the grace period spent theirs already and holds a session instead.
        if not returning and not await self.store.consume_invite(person.invite_jti, person.invite_expires_at):
            raise conflict("invite_used", "this invitation was already used")
        token = await self._new_session(person)
        person.state = ParticipantState.ADMITTED
        person.admitted_at = time.time()
        person.returning = ""
        await self.store.save_participant(person)
        await self.store.lobby_leave(hearing.id, person.id)
        await self.bus.publish(CourtEvent(ev.ADMITTED, hearing.id, person.id, claims.subject,
                                          {"name": person.name, "role": person.role, "session_token": token}))
        return person, token

    async def _new_session(self, person: Participant) -> str:
        """A session token for the person (their way back after a drop); the one they held is revoked."""
        token, session = self.tokens.issue(TokenKind.SESSION, person.id, Role(person.role), person.hearing_id,
                                           self.settings.auth.session_ttl_hours * 3600, name=person.name)
        if person.session_jti:
            await self.revoke(person.session_jti, session.expires_at)
        person.session_jti = session.jti
        return token

    async def reject(self, claims: Claims, hearing_id: str, participant_id: str, reason: str = "") -> Participant:
        reason = clean_text(reason, "reason")  # checked before anything changes
        hearing = await self.hearing(hearing_id)
        self.require(claims, Permission.ADMIT, hearing)
        person = await self.participant(hearing.id, participant_id)
        if person.state not in (ParticipantState.WAITING, ParticipantState.INVITED):
            raise conflict("not_in_lobby", f"the participant is {person.state.value}, not waiting in the lobby")
        person.state = ParticipantState.REJECTED
        await self._revoke_tokens(person)
        await self.store.save_participant(person)
        await self.store.lobby_leave(hearing.id, person.id)
        await self.bus.publish(CourtEvent(ev.REJECTED, hearing.id, person.id, claims.subject,
                                          {"reason": reason}))
        return person

    async def mute(self, claims: Claims, hearing_id: str, participant_id: str, muted: bool) -> Participant:
        hearing = await self._live_hearing(claims, hearing_id, Permission.MODERATE)
        person = await self.participant(hearing.id, participant_id)
        if not person.in_hearing:
            raise conflict("not_in_hearing", "the participant is not in the hearing")
        changed = person.muted_by_court != muted
        lowered = not muted and person.hand_raised  # unmuted by the court: they have the floor they asked for
        if changed or lowered:
            person.muted_by_court = muted
            if lowered:
                person.hand_raised = False
            await self.store.save_participant(person)
        if changed:
            await self.bus.publish(CourtEvent(ev.MUTED if muted else ev.UNMUTED, hearing.id, person.id,
                                              claims.subject, {"name": person.name}))
        if lowered:
            await self.bus.publish(CourtEvent(ev.HAND_LOWERED, hearing.id, person.id, claims.subject,
                                              {"name": person.name}))
        return person

    async def remove(self, claims: Claims, hearing_id: str, participant_id: str, reason: str = "") -> Participant:
        reason = clean_text(reason, "reason")  # checked before anything changes
        hearing = await self.hearing(hearing_id)
        self.require(claims, Permission.MODERATE, hearing)
        person = await self.participant(hearing.id, participant_id)
        if person.state in (ParticipantState.REMOVED, ParticipantState.REJECTED):
            return person
        if person.username and person.username == claims.subject:
            raise conflict("cannot_remove_self", "use leave, not remove, for yourself")
        person.state = ParticipantState.REMOVED
        person.left_at = time.time()
        await self._revoke_tokens(person)
        await self.store.save_participant(person)
        await self.store.lobby_leave(hearing.id, person.id)
        await self.bus.publish(CourtEvent(ev.REMOVED, hearing.id, person.id, claims.subject,
                                          {"name": person.name, "reason": reason}))
        return person

    async def _revoke_tokens(self, person: Participant) -> None:
        horizon = time.time() + max(self.settings.auth.session_ttl_hours, self.settings.auth.invite_ttl_hours) * 3600
        if person.invite_jti:
            await self.revoke(person.invite_jti, max(person.invite_expires_at, time.time() + 60))
        if person.session_jti:
            await self.revoke(person.session_jti, horizon)

    async def roster(self, hearing_id: str) -> list[Participant]:
        return [p for p in await self.store.list_participants(hearing_id) if p.in_hearing]

    # -- arrivals through signaling -----------------------------------------------------------------

    async def join_staff(self, claims: Claims, hearing_id: str) -> Participant:
        """A judge, clerk or courtroom PC joins: no lobby, they are the court."""
        hearing = await self.hearing(hearing_id)
        self.require(claims, Permission.VIEW_HEARING, hearing)
        if hearing.status is HearingStatus.CLOSED:
            raise conflict("hearing_closed", "the hearing is closed")
        people = await self.store.list_participants(hearing.id)
        person = next((p for p in people if p.username == claims.subject), None)
        if person is None:
            person = Participant(id=new_id("p"), hearing_id=hearing.id, name=claims.name or claims.subject,
                                 role=claims.role.value, username=claims.subject)
        presiding = claims.role is Role.JUDGE and hearing.judge == claims.subject
        observer = not presiding and claims.role is not Role.COURTROOM
        event = ev.RECONNECTED if person.in_hearing else ev.OBSERVER_JOINED if observer else ev.JOINED
        person.state = ParticipantState.ADMITTED
        person.admitted_at = person.admitted_at or time.time()
        person.disconnected_at = None
        await self.store.save_participant(person)
        data = {"name": person.name, "role": person.role}
        if observer:
            data["username"] = claims.subject
        await self.bus.publish(CourtEvent(event, hearing.id, person.id, claims.subject, data))
        return person

    async def resume_session(self, claims: Claims) -> Participant:
        """An admitted person comes back with their session token (page reload, network drop).

        Within the grace period they go straight back into the hearing; after it, to the lobby, where the
        court checks them again (their invitation is spent; admission gives them a new session).
        """
        hearing = await self.hearing(claims.hearing)
        person = await self.participant(claims.hearing, claims.subject)
        if person.session_jti != claims.jti:
            raise ApiError(401, "invalid_token", "this session has been replaced")
        if hearing.status is HearingStatus.CLOSED:
            raise conflict("hearing_closed", "the hearing is closed")
        grace = self.settings.media.reconnect_grace_seconds
        lost = person.state is ParticipantState.DISCONNECTED or (
            person.state is ParticipantState.LEFT and person.left_reason == LOST_CONNECTION)
        if lost and person.disconnected_at is not None and time.time() - person.disconnected_at > grace:
            if hearing.locked:
                raise forbidden("the hearing is locked; nobody new may enter", "hearing_locked")
            await self._back_to_lobby(hearing, person, "away_too_long")
            return person
        if person.state not in (ParticipantState.ADMITTED, ParticipantState.DISCONNECTED,
                                ParticipantState.WAITING):
            raise forbidden(f"you are no longer in this hearing ({person.state.value})",
                            f"participant_{person.state.value}")
        if person.state is not ParticipantState.WAITING:
            person.state = ParticipantState.ADMITTED
            person.disconnected_at = None
            await self.store.save_participant(person)
            await self.bus.publish(CourtEvent(ev.RECONNECTED, hearing.id, person.id, person.id))
        return person

    async def connection_lost(self, hearing_id: str, participant_id: str) -> None:
        person = await self.store.get_participant(hearing_id, participant_id)
        if person is None:
            return
        if person.state is ParticipantState.ADMITTED:
            person.state = ParticipantState.DISCONNECTED
            person.disconnected_at = time.time()
            await self.store.save_participant(person)
            await self.bus.publish(CourtEvent(ev.DISCONNECTED, hearing_id, person.id))
        elif person.state is ParticipantState.WAITING:
            await self.bus.publish(CourtEvent(ev.LOBBY_LEFT, hearing_id, person.id))

    async def grace_expired(self, hearing_id: str, participant_id: str) -> None:
        person = await self.store.get_participant(hearing_id, participant_id)
        if person and person.state is ParticipantState.DISCONNECTED:
            person.state = ParticipantState.LEFT
            person.left_at = time.time()
            person.left_reason = LOST_CONNECTION
            await self.store.save_participant(person)
            await self.bus.publish(CourtEvent(ev.LEFT, hearing_id, person.id, data={"reason": LOST_CONNECTION}))

    async def leave(self, hearing_id: str, participant_id: str) -> None:
        person = await self.store.get_participant(hearing_id, participant_id)
        if person is None or person.state in (ParticipantState.LEFT, ParticipantState.REMOVED,
                                              ParticipantState.REJECTED):
            return
        was_waiting = person.state is ParticipantState.WAITING
        person.state = ParticipantState.LEFT
        person.left_at = time.time()
        await self.store.save_participant(person)
        await self.store.lobby_leave(hearing_id, person.id)
        await self.bus.publish(CourtEvent(ev.LOBBY_LEFT if was_waiting else ev.LEFT, hearing_id, person.id))

    async def set_self_state(self, hearing_id: str, participant_id: str, *, muted: bool | None = None,
                             camera_off: bool | None = None, hand: bool | None = None) -> Participant:
        person = await self.participant(hearing_id, participant_id)
        if muted is not None:
            person.self_muted = muted
        if camera_off is not None:
            person.camera_off = camera_off
        hand_changed = hand is not None and hand != person.hand_raised and person.in_hearing
        if hand_changed:
            person.hand_raised = bool(hand)
        await self.store.save_participant(person)
        if hand_changed:
            await self.bus.publish(CourtEvent(ev.HAND_RAISED if hand else ev.HAND_LOWERED, hearing_id, person.id,
                                              person.id, {"name": person.name}))
        return person

    async def lower_hand(self, claims: Claims, hearing_id: str, participant_id: str) -> Participant:
        """The court saw the raised hand (and gave the floor, or not): it goes down."""
        hearing = await self._live_hearing(claims, hearing_id, Permission.MODERATE)
        person = await self.participant(hearing.id, participant_id)
        if person.hand_raised:
            person.hand_raised = False
            await self.store.save_participant(person)
            await self.bus.publish(CourtEvent(ev.HAND_LOWERED, hearing.id, person.id, claims.subject,
                                              {"name": person.name}))
        return person


def clean_text(value: Any, name: str, required: bool = False, limit: int = FIELD_LIMIT,
               multiline: bool = False) -> str:
    """signaling.text.clean_text, as the API's 400 naming the field."""
    try:
        return text.clean_text(value, name, required=required, limit=limit, multiline=multiline)
    except text.TextError as exc:
        raise text_error(exc) from None


def text_error(exc: text.TextError) -> ApiError:
    return ApiError(400, "bad_request", str(exc), field=exc.field, problem=exc.problem)
