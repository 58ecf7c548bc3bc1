"""The front's end of the pipe to one media worker, and a hearing's MediaHandle through it."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any, Callable

import aiohttp

from ..events import CourtEvent
from ..models import Hearing, Participant
from . import wire

log = logging.getLogger(__name__)

CALL_SECONDS = 30.0  # an offer's answer takes well under a second; a worker that takes this long is stuck

EventSink = Callable[[wire.Event], None]


class WorkerConnection:
    """One WebSocket to one worker over its Unix socket; calls matched to replies by id."""

    def __init__(self, worker_id: str, socket_path: str, on_event: EventSink) -> None:
        self.worker_id = worker_id
        self.socket_path = socket_path
        self.on_event = on_event
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task | None = None
        self.closed = asyncio.Event()

    async def connect(self) -> None:
        self._http = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=self.socket_path))
        self._ws = await self._http.ws_connect("http://media-worker/media", max_msg_size=16 * 1024 * 1024,
                                               heartbeat=10.0)
        self._reader = asyncio.create_task(self._read(), name=f"worker-{self.worker_id}")

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                if frame.type != aiohttp.WSMsgType.BINARY:
                    continue
                message = wire.decode(frame.data)
                if isinstance(message, wire.Reply):
                    future = self._pending.pop(message.id, None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif isinstance(message, wire.Event):
                    try:
                        self.on_event(message)
                    except Exception:
                        log.exception("worker %s: event %s failed", self.worker_id, message.kind)
        finally:
            self._fail_pending()
            self.closed.set()

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(wire.MediaWorkerError(f"media worker {self.worker_id} is gone"))
        self._pending.clear()

    async def call(self, hearing_id: str, op: str, **args: Any) -> Any:
        if self._ws is None or self._ws.closed:
            raise wire.MediaWorkerError(f"media worker {self.worker_id} is gone")
        request = wire.Request(next(self._ids), hearing_id, op, args)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[request.id] = future
        try:
            await self._ws.send_bytes(wire.encode(request))
            reply: wire.Reply = await asyncio.wait_for(future, CALL_SECONDS)
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            raise wire.MediaWorkerError(f"media worker {self.worker_id}: {exc}") from None
        finally:
            self._pending.pop(request.id, None)
        if reply.failure is not None:
            wire.raise_failure(reply.failure)
        return reply.result

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        self._fail_pending()


class RemoteMedia:
    """A hearing's MediaHandle in a media worker: the same calls, sent down the pipe."""

    def __init__(self, connection: WorkerConnection, hearing_id: str) -> None:
        self.connection = connection
        self.hearing_id = hearing_id

    @property
    def worker_id(self) -> str:
        return self.connection.worker_id

    async def open(self, hearing: Hearing, people: list[Participant]) -> None:
        await self.connection.call(self.hearing_id, "open", hearing=wire.hearing_out(hearing),
                                   people=wire.people_out(people))

    async def update_hearing(self, hearing: Hearing, actor: str = "") -> None:
        await self.connection.call(self.hearing_id, "update_hearing", hearing=wire.hearing_out(hearing),
                                   actor=actor)

    async def update_people(self, people: list[Participant]) -> None:
        await self.connection.call(self.hearing_id, "update_people", people=wire.people_out(people))

    async def note_event(self, event: CourtEvent) -> None:
        await self.connection.call(self.hearing_id, "note_event", event=wire.event_out(event))

    async def answer_offer(self, pid: str, role: str, sdp: str, sources: dict[str, str] | None = None) -> str:
        return str(await self.connection.call(self.hearing_id, "answer_offer", pid=pid, role=role, sdp=sdp,
                                              sources=sources or {}))

    async def drop(self, pid: str) -> None:
        await self.connection.call(self.hearing_id, "drop", pid=pid)

    async def start_preview(self, viewer_id: str, target_id: str, sdp: str) -> str:
        return str(await self.connection.call(self.hearing_id, "start_preview", viewer_id=viewer_id,
                                              target_id=target_id, sdp=sdp))

    async def stop_preview(self, viewer_id: str, target_id: str) -> None:
        await self.connection.call(self.hearing_id, "stop_preview", viewer_id=viewer_id, target_id=target_id)

    async def camera_list(self) -> list[dict[str, Any]]:
        return list(await self.connection.call(self.hearing_id, "camera_list"))

    async def show_camera(self, key: str, shown: bool, actor: str) -> dict[str, Any]:
        return dict(await self.connection.call(self.hearing_id, "show_camera", key=key, shown=shown, actor=actor))

    async def close(self, finished: bool) -> None:
        await self.connection.call(self.hearing_id, "close", finished=finished)
