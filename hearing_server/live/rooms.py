"""The live hearings on this node, created on demand and closed with the hearing.

Each hearing's media runs in this process (media.workers = 0) or in one of the node's media workers
(hearing_server.live.pool), chosen when the room starts; when that worker dies the room's media is placed
on another at once and everyone is asked to reconnect.
"""

from __future__ import annotations

import asyncio
import logging

from recorder.manifest import Manifest
from recorder.recorder import Recorder
from signaling.connection import CLOSE_GOING_AWAY, CLOSE_UNAUTHORIZED

from .. import events as ev
from ..config import Settings
from ..court import Court
from ..errors import ApiError
from ..events import CourtEvent
from ..models import Hearing
from ..routing import NoCapacity
from . import wire
from .media_handle import InProcessMedia, MediaHandle
from .pool import WorkerPool, worker_count
from .room import HearingRoom
from .worker_client import RemoteMedia

log = logging.getLogger(__name__)


class Rooms:
    def __init__(self, court: Court, settings: Settings, recorder: Recorder | None = None) -> None:
        self.court = court
        self.settings = settings
        self.recorder = recorder
        self.rooms: dict[str, HearingRoom] = {}
        self._creating: dict[str, asyncio.Lock] = {}
        count = worker_count(settings)
        self.pool = WorkerPool(settings, count, self._worker_event, self._worker_lost) if count > 0 else None
        court.bus.subscribe(self.on_event)

    async def start(self) -> None:
        if self.pool is not None:
            await self.pool.start()
        await self.resume_live()

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

    async def _place(self, room: HearingRoom) -> MediaHandle:
        if self.pool is None:
            return InProcessMedia(room.hearing, self.settings, self.recorder, room)
        try:
            connection = await self.pool.place(room.hearing_id)
        except NoCapacity as exc:
            raise ApiError(503, "server_full", f"this server cannot carry another hearing now: {exc.reason}") \
                from None
        media = RemoteMedia(connection, room.hearing_id)
        await media.open(room.hearing, list(room.people.values()))
        return media

    async def _start(self, hearing: Hearing) -> HearingRoom:
        """A hearing's media that cannot start fails that hearing alone, visibly, never the server."""
        try:
            room = HearingRoom(hearing, self.court, self.settings)
            room.media = await self._place(room)
            await room.load()
        except ApiError as exc:
            if exc.code == "server_full":
                log.error("hearing %s refused: %s", hearing.id, exc.message)
                raise
            raise self._failed(hearing, exc) from None
        except Exception as exc:
            raise self._failed(hearing, exc) from None
        if hearing.media_error:
            hearing.media_error = ""
            await self.court.store.save_hearing(hearing)
        return room

    def check_capacity(self, hearing_id: str) -> None:
        """Before a hearing opens: a full node refuses it (503) rather than degrade the hearings it carries."""
        if self.pool is None or hearing_id in self.rooms:
            return
        try:
            self.pool.check_capacity()
        except NoCapacity as exc:
            raise ApiError(503, "server_full", f"this server cannot carry another hearing now: {exc.reason}") \
                from None

    def _failed(self, hearing: Hearing, exc: BaseException) -> ApiError:
        log.error("hearing %s: its live media could not be started", hearing.id, exc_info=exc)
        hearing.media_error = f"live media could not be started ({exc.__class__.__name__})"
        asyncio.ensure_future(self._save_quietly(hearing))
        if self.pool is not None:
            self.pool.release(hearing.id)
        return ApiError(503, "media_failed", "the hearing's live media could not be started; the court "
                                             "administrator has the details in the server log")

    async def _save_quietly(self, hearing: Hearing) -> None:
        try:
            await self.court.store.save_hearing(hearing)
        except Exception:
            log.exception("hearing %s: could not mark it failed", hearing.id)

    # -- media workers --------------------------------------------------------------------------------

    def _worker_event(self, worker_id: str, event: wire.Event) -> None:
        if event.kind == "recording_final" and self.recorder is not None:
            self.recorder.catalog.add(Manifest.from_dict(event.args["manifest"]))
            return
        room = self.rooms.get(event.hearing_id)
        if room is None:
            return
        if event.kind == "cameras_changed":
            room.cameras_changed(event.hearing_id, event.args["cameras"])
        elif event.kind == "preview_ended":
            room.preview_ended(event.hearing_id, event.args["viewer_id"], event.args["target_id"])
        elif event.kind == "senders_changed":
            room.senders_changed(event.hearing_id, event.args["with_camera"])

    async def _worker_lost(self, worker_id: str, hearing_ids: list[str]) -> None:
        """A worker died: its hearings go on on the others, in the same record (with the gap marked)."""
        for hearing_id in hearing_ids:
            room = self.rooms.get(hearing_id)
            if room is None:
                continue
            try:
                hearing = await self.court.store.get_hearing(hearing_id)
                if hearing is not None:
                    room.hearing = hearing
                room.media = await self._place(room)
                await room.media.update_people(list(room.people.values()))
                log.warning("hearing %s moved from media worker %s to %s", hearing_id, worker_id,
                            getattr(room.media, "worker_id", "this process"))
                room.media_moved("the hearing's media moved to another worker; reconnecting")
            except Exception:
                log.exception("hearing %s could not be moved off media worker %s", hearing_id, worker_id)
                room.media_moved("the hearing's media is restarting")

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
            if self.pool is not None:
                self.pool.release(event.hearing_id)

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
        if self.pool is not None:
            await self.pool.close()
