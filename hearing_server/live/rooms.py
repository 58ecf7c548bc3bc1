"""The live hearings on this node, created on demand and closed with the hearing."""

from __future__ import annotations

import asyncio
import logging

from recorder.recorder import Recorder
from signaling.connection import CLOSE_GOING_AWAY, CLOSE_UNAUTHORIZED

from .. import events as ev
from ..config import Settings
from ..court import Court
from ..errors import ApiError
from ..events import CourtEvent
from ..models import Hearing
from .media_handle import InProcessMedia, MediaHandle
from .room import HearingRoom

log = logging.getLogger(__name__)


class Rooms:
    def __init__(self, court: Court, settings: Settings, recorder: Recorder | None = None) -> None:
        self.court = court
        self.settings = settings
        self.recorder = recorder
        self.rooms: dict[str, HearingRoom] = {}
        self._creating: dict[str, asyncio.Lock] = {}
        court.bus.subscribe(self.on_event)

    async def room(self, hearing: Hearing) -> HearingRoom:
        room = self.rooms.get(hearing.id)
        if room is not None:
            return room
        lock = self._creating.setdefault(hearing.id, asyncio.Lock())
        async with lock:
            room = self.rooms.get(hearing.id)
            if room is None:
                room = await self._start(hearing)
                self.rooms[hearing.id] = room
        return room

    def _media(self, room: HearingRoom) -> MediaHandle:
        return InProcessMedia(room.hearing, self.settings, self.recorder, room)

    async def _start(self, hearing: Hearing) -> HearingRoom:
        """A hearing's media that cannot start fails that hearing alone, visibly, never the server."""
        try:
            room = HearingRoom(hearing, self.court, self.settings, self._media)
            await room.load()
        except Exception as exc:
            log.exception("hearing %s: its live media could not be started", hearing.id)
            hearing.media_error = f"live media could not be started ({exc.__class__.__name__})"
            try:
                await self.court.store.save_hearing(hearing)
            except Exception:
                log.exception("hearing %s: could not mark it failed", hearing.id)
            raise ApiError(503, "media_failed", "the hearing's live media could not be started; the court "
                                                "administrator has the details in the server log") from None
        if hearing.media_error:
            hearing.media_error = ""
            await self.court.store.save_hearing(hearing)
        return room

    async def resume_live(self) -> None:
        """After a restart, carry on every hearing that is still open in the shared state: its clock,
        mixer and recording start again at once, not only when somebody reconnects."""
        for hearing in await self.court.store.list_hearings():
            if hearing.is_live:
                log.info("resuming live hearing %s (%s)", hearing.id, hearing.case_number)
                try:
                    await self.room(hearing)
                except ApiError:
                    continue  # logged and marked; the other hearings carry on

    async def on_event(self, event: CourtEvent) -> None:
        room = self.rooms.get(event.hearing_id)
        if room is None and event.kind == ev.OPENED:
            hearing = await self.court.store.get_hearing(event.hearing_id)
            if hearing is None:
                return
            # The hearing clock (and the mixer and the recording) start when the hearing opens, whoever
            # is connected; the room then hears the opening like every later event.
            room = await self.room(hearing)
        if room is None:
            return
        await room.on_event(event)
        if event.kind == ev.CLOSED:
            self.rooms.pop(event.hearing_id, None)
            self._creating.pop(event.hearing_id, None)

    def end_sessions_of(self, token_id: str, reason: str) -> None:
        """Close every live connection that signed in with this token (it was just revoked)."""
        for room in self.rooms.values():
            for conn in list(room.connections.values()):
                if conn.claims is not None and conn.claims.jti == token_id:
                    conn.send({"type": "error", "code": "token_revoked", "message": reason})
                    conn.close(CLOSE_UNAUTHORIZED, "token revoked")

    async def close(self) -> None:
        self.court.bus.unsubscribe(self.on_event)
        rooms, self.rooms = list(self.rooms.values()), {}
        # 1001 "going away": clients reconnect (to this server once it is back, within the grace period).
        await asyncio.gather(*(room.shutdown("the server is shutting down", CLOSE_GOING_AWAY) for room in rooms),
                             return_exceptions=True)
