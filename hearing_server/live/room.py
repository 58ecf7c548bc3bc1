"""A live hearing as the front sees it: who is connected, who is admitted or waiting, what each is told.

The room acts on CourtEvents (admitted, muted, removed...) and on what connections ask for (offers,
previews); court rules are decided in hearing_server.court, and the media itself — peer connections,
mixer, previews, recording — runs in a MediaRoom behind a MediaHandle: in this process, or in the media
worker that carries the hearing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from signaling import messages as msg
from signaling.connection import (
    CLOSE_FORBIDDEN,
    CLOSE_HEARING_CLOSED,
    CLOSE_MEDIA_RESTARTING,
    CLOSE_REMOVED,
    CLOSE_REPLACED,
)

from .. import events as ev
from ..config import Settings
from ..court import Court
from ..errors import ApiError
from ..events import CourtEvent
from ..models import Hearing, HearingStatus, Participant, ParticipantState
from ..roles import Permission, Role
from ..tokens import Claims
from .media_handle import MediaHandle

log = logging.getLogger(__name__)

# What a participant's layer of the composite (hearing_server.media.layers) says about their link.
LINK_QUALITY = {"main": "good", "low": "weak", "still": "poor"}


class Link(Protocol):
    """One participant's signaling connection, as the room uses it."""

    claims: Claims | None
    participant: Participant | None

    @property
    def participant_id(self) -> str: ...

    def send(self, message: dict[str, Any]) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


class HearingRoom:
    def __init__(self, hearing: Hearing, court: Court, settings: Settings) -> None:
        self.hearing = hearing
        self.court = court
        self.settings = settings
        self.connections: dict[str, Link] = {}
        self.people: dict[str, Participant] = {}
        self.with_camera: set[str] = set()  # who is sending a picture (the lobby list shows who can be checked)
        self._cameras: list[dict[str, Any]] = []
        self._grace: dict[str, asyncio.Task] = {}
        # participant -> (state, reason): their media's ICE and DTLS, as the media reports it
        self.media_states: dict[str, tuple[str, str]] = {}
        # participant -> the layer of the composite their link carries ("main", "low", "still")
        self.links: dict[str, str] = {}
        self.speakers: list[str] = []  # who is speaking now (the media says; see speakers_changed)
        self.media: MediaHandle  # given by Rooms: in this process, or in the worker that carries the hearing

    @property
    def hearing_id(self) -> str:
        return self.hearing.id

    async def load(self) -> None:
        for person in await self.court.store.list_participants(self.hearing_id):
            if person.in_hearing:
                self.people[person.id] = person
        await self._people_changed()

    # -- what the media tells us ---------------------------------------------------------------------

    def cameras_changed(self, hearing_id: str, cameras: list[dict[str, Any]]) -> None:
        self._cameras = cameras
        message = msg.message("cameras", cameras=cameras)
        for conn in list(self.connections.values()):
            if conn.claims is not None and self.court.may(conn.claims, Permission.CONTROL_HEARING, self.hearing):
                conn.send(message)

    def preview_ended(self, hearing_id: str, viewer_id: str, target_id: str) -> None:
        conn = self.connections.get(viewer_id)
        if conn is not None:
            conn.send(msg.message("preview-ended", participant_id=target_id))

    def senders_changed(self, hearing_id: str, with_camera: list[str]) -> None:
        self.with_camera = set(with_camera)
        self._send_roster_and_lobby()

    def link_changed(self, hearing_id: str, participant_id: str, layer: str, max_send_bitrate: int) -> None:
        quality = LINK_QUALITY.get(layer, "good")
        if self.links.get(participant_id, "good") == quality:
            return
        self.links[participant_id] = quality
        conn = self.connections.get(participant_id)
        if conn is not None:
            # The page lowers its camera's encoder to max_send_bitrate (0: no limit) so its voice gets through.
            conn.send(msg.message("link", quality=quality, max_send_bitrate=max_send_bitrate))
        self._send_roster_and_lobby()

    def speakers_changed(self, hearing_id: str, speakers: list[str]) -> None:
        """Who is speaking now (voice activity, held 0.8 s): a marker in every page's list of people."""
        self.speakers = speakers
        message = msg.message("speaking", participants=speakers)
        for pid, conn in list(self.connections.items()):
            person = self.people.get(pid)
            if person is not None and person.in_hearing:  # the lobby hears nothing of the hearing
                conn.send(message)

    def media_changed(self, hearing_id: str, participant_id: str, state: str, reason: str) -> None:
        if self.media_states.get(participant_id) == (state, reason):
            return
        self.media_states[participant_id] = (state, reason)
        if state == "connecting":
            self.links.pop(participant_id, None)  # a new peer connection starts on the main layer
        conn = self.connections.get(participant_id)
        if conn is not None:
            # Their page may not see it (a DTLS failure can look like a slow start): it is told, and retries.
            conn.send(msg.message("media", state=state, reason=reason))
        self._send_roster_and_lobby()

    # -- connections --------------------------------------------------------------------------------

    async def connect(self, conn: Link) -> None:
        person = conn.participant
        assert person is not None
        old = self.connections.get(person.id)
        if old is not None and old is not conn:
            old.send(msg.error("replaced", "you joined from another window or device"))
            old.close(CLOSE_REPLACED, "replaced by a newer connection")
            self.media_states.pop(person.id, None)
            self.links.pop(person.id, None)
            await self.media.drop(person.id)
        self.connections[person.id] = conn
        grace = self._grace.pop(person.id, None)
        if grace:
            grace.cancel()
        self._remember(person)
        await self._people_changed()
        if self._cameras and conn.claims is not None and \
                self.court.may(conn.claims, Permission.CONTROL_HEARING, self.hearing):
            conn.send(msg.message("cameras", cameras=self._cameras))

    async def disconnect(self, conn: Link) -> None:
        person = conn.participant
        if person is None or self.connections.get(person.id) is not conn:
            return  # replaced already, or never got past hello
        del self.connections[person.id]
        self.media_states.pop(person.id, None)
        self.links.pop(person.id, None)
        await self.media.drop(person.id)
        await self.court.connection_lost(self.hearing_id, person.id)
        current = await self.court.store.get_participant(self.hearing_id, person.id)
        if current and current.state is ParticipantState.DISCONNECTED:
            self._grace[person.id] = asyncio.create_task(self._expire_grace(person.id))

    async def _expire_grace(self, participant_id: str) -> None:
        await asyncio.sleep(self.settings.media.reconnect_grace_seconds)
        self._grace.pop(participant_id, None)
        await self.court.grace_expired(self.hearing_id, participant_id)

    # -- media --------------------------------------------------------------------------------------

    async def answer_offer(self, conn: Link, sdp: str, sources: dict[str, str] | None = None) -> str:
        if self.hearing.status is HearingStatus.CLOSED:
            raise ApiError(409, "hearing_closed", "the hearing is closed")
        role = conn.claims.role.value if conn.claims is not None else ""
        return await self.media.answer_offer(conn.participant_id, role, sdp, sources)

    async def start_preview(self, conn: Link, target_id: str, sdp: str) -> str:
        assert conn.claims is not None
        if not self.court.may(conn.claims, Permission.WATCH_LOBBY, self.hearing):
            raise ApiError(403, "forbidden", "only the court running this hearing may watch the lobby cameras")
        target = self.people.get(target_id)
        if target is None or target.state is not ParticipantState.WAITING:
            raise ApiError(409, "not_in_lobby", "that person is not waiting in the lobby")
        return await self.media.start_preview(conn.participant_id, target_id, sdp)

    async def stop_preview(self, viewer_id: str, target_id: str) -> None:
        await self.media.stop_preview(viewer_id, target_id)

    async def camera_list(self) -> list[dict[str, Any]]:
        return await self.media.camera_list()

    async def show_camera(self, key: str, shown: bool, actor: str) -> dict[str, Any]:
        return await self.media.show_camera(key, shown, actor)

    # -- court events -------------------------------------------------------------------------------

    async def on_event(self, event: CourtEvent) -> None:
        kind, pid = event.kind, event.participant_id
        if pid:
            person = await self.court.store.get_participant(self.hearing_id, pid)
            if person is not None:
                self._remember(person)
        await self.media.note_event(event)
        conn = self.connections.get(pid) if pid else None
        if kind == ev.LOG_NOTE:
            self._broadcast_to_court(msg.message("log-note", note=event.data))
            return
        if kind in (ev.OPENED, ev.RECESS, ev.RESUMED, ev.LOCKED, ev.UNLOCKED, ev.CLOSED, ev.RECORDING_PAUSED,
                    ev.RECORDING_RESUMED):
            hearing = await self.court.store.get_hearing(self.hearing_id)
            if hearing is not None:
                self.hearing = hearing
            if kind == ev.CLOSED:
                self._broadcast(msg.message("hearing", hearing=hearing_summary(self.hearing)))
                await self.shutdown("the hearing is closed", finished=True)
                return
            await self.media.update_hearing(self.hearing, event.actor)
            self._broadcast(msg.message("hearing", hearing=hearing_summary(self.hearing)))
            return
        if kind == ev.ADMITTED and conn is not None:
            conn.participant = self.people[pid]
            conn.send(msg.message("admitted", session_token=event.data.get("session_token", ""),
                                  participant=self.people[pid].public()))
        elif kind == ev.REJECTED and conn is not None:
            conn.send(msg.message("rejected", reason=event.data.get("reason", "")))
            conn.close(CLOSE_FORBIDDEN, "not admitted")
            await self._forget(pid)
        elif kind == ev.REMOVED:
            if conn is not None:
                conn.send(msg.message("removed", reason=event.data.get("reason", "")))
                conn.close(CLOSE_REMOVED, "removed by the court")
            await self._forget(pid)
        elif kind in (ev.MUTED, ev.UNMUTED) and pid in self.people:
            if conn is not None:
                conn.send(msg.message("muted", muted=self.people[pid].muted_by_court, by="court"))
        elif kind == ev.LEFT:
            await self._forget(pid)
        await self._people_changed()

    async def set_self_state(self, person: Participant) -> None:
        self._remember(person)
        await self._people_changed()

    def _remember(self, person: Participant) -> None:
        if person.in_hearing or person.state is ParticipantState.WAITING:
            self.people[person.id] = person
        else:
            self.people.pop(person.id, None)

    async def _forget(self, pid: str) -> None:
        self.people.pop(pid, None)
        self.media_states.pop(pid, None)
        self.links.pop(pid, None)
        grace = self._grace.pop(pid, None)
        if grace:
            grace.cancel()
        await self.media.drop(pid)

    async def _people_changed(self) -> None:
        await self.media.update_people(list(self.people.values()))
        self._send_roster_and_lobby()

    # -- what people are told -----------------------------------------------------------------------

    def _broadcast(self, message: dict[str, Any]) -> None:
        for conn in list(self.connections.values()):
            conn.send(message)

    def roster(self) -> list[dict[str, Any]]:
        admitted = sorted((p for p in self.people.values() if p.in_hearing), key=lambda p: p.admitted_at or 0.0)
        return [dict(p.public(), online=p.id in self.connections, speaking=p.id in self.speakers,
                     **self._media_of(p.id)) for p in admitted]

    def _media_of(self, pid: str) -> dict[str, str]:
        state, reason = self.media_states.get(pid, ("none", ""))
        return {"media": state, "media_error": reason, "link": self.links.get(pid, "good")}

    def lobby(self) -> list[dict[str, Any]]:
        waiting = sorted((p for p in self.people.values() if p.state is ParticipantState.WAITING),
                         key=lambda p: p.lobby_at or 0.0)
        return [dict(p.public(), stated_name=p.stated_name, waiting_since=p.lobby_at,
                     online=p.id in self.connections, camera=p.id in self.with_camera,
                     returning=p.returning, admitted_at=p.admitted_at if p.returning else None)
                for p in waiting]

    def _broadcast_to_court(self, message: dict[str, Any]) -> None:
        for conn in list(self.connections.values()):
            if conn.claims is not None and self.court.may(conn.claims, Permission.LOG_NOTES, self.hearing):
                conn.send(message)

    def _send_roster_and_lobby(self) -> None:
        roster = msg.message("roster", participants=self.roster())
        lobby = msg.message("lobby", entrants=self.lobby())
        for pid, conn in list(self.connections.items()):
            person = self.people.get(pid)
            if person is None or not person.in_hearing:
                continue  # the lobby learns nothing about who is in the hearing
            if conn.claims is not None and conn.claims.role is Role.COURTROOM:
                continue  # the courtroom PC publishes the room; it has no use for names and states
            conn.send(roster)
            if conn.claims is not None and self.court.may(conn.claims, Permission.ADMIT, self.hearing):
                conn.send(lobby)

    def media_moved(self, reason: str) -> None:
        """The hearing's media now runs elsewhere (its worker stopped): everyone comes back with a new offer
        and their session token, without passing the lobby again (they are within the grace period)."""
        self._cameras = []
        for conn in list(self.connections.values()):
            conn.send(msg.error("media_restarting", reason))
            conn.close(CLOSE_MEDIA_RESTARTING, "media restarting")

    async def shutdown(self, reason: str, code: int = CLOSE_HEARING_CLOSED, finished: bool = False) -> None:
        """Close every connection and stop the media; `finished`: the hearing closed (its record is final)."""
        for conn in list(self.connections.values()):
            conn.close(code, reason)
        for task in self._grace.values():
            task.cancel()
        self._grace.clear()
        await self.media.close(finished)


def hearing_summary(hearing: Hearing) -> dict[str, Any]:
    return {
        "id": hearing.id,
        "case_number": hearing.case_number,
        "title": hearing.title,
        "court": hearing.court,
        "courtroom": hearing.courtroom,
        "judge_name": hearing.judge_name,
        "status": hearing.status.value,
        "locked": hearing.locked,
        "recording_paused": hearing.recording_paused,
    }
