"""A media worker process: carries whole hearings' media (MediaRoom) for its front, on a core of its own.

Started by the front (hearing_server.live.pool) as `python -m hearing_server.live.worker SOCKET`, with the
front's settings as JSON on standard input. It serves one WebSocket on a Unix socket (aiohttp, so the
framing is a well-kept library's): Requests in, one Reply each, Events out. Requests of one hearing run in
the order they came; different hearings run side by side. Its peer connections gather their own ICE
candidates, so media flows between the clients and this process, never through the front. If the front
goes away, the worker stops (its recordings stay in the spool for whoever carries the hearings next).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from typing import Any

from aiohttp import WSMsgType, web

from recorder.manifest import Manifest
from recorder.recorder import Recorder

from ..config import Settings, settings_from_dict
from ..media.ice import configure_host_addresses
from . import wire
from .cpu import CpuShare
from .media_room import MediaRoom

log = logging.getLogger("hearing_server.worker")

LOAD_SECONDS = 2.0


class Worker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.recorder = Recorder(settings)
        self.rooms: dict[str, MediaRoom] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._ws: web.WebSocketResponse | None = None
        self.done = asyncio.Event()
        self.orderly = False  # the front said "shutdown": close the recordings as an orderly stop
        self.recorder.on_final = self._recording_final

    # -- what the rooms tell the front ------------------------------------------------------------------

    def _event(self, kind: str, hearing_id: str = "", **args: Any) -> None:
        if self._ws is not None and not self._ws.closed:
            asyncio.ensure_future(self._ws.send_bytes(wire.encode(wire.Event(kind, hearing_id, args))))

    def cameras_changed(self, hearing_id: str, cameras: list[dict[str, Any]]) -> None:
        self._event("cameras_changed", hearing_id, cameras=cameras)

    def preview_ended(self, hearing_id: str, viewer_id: str, target_id: str) -> None:
        self._event("preview_ended", hearing_id, viewer_id=viewer_id, target_id=target_id)

    def senders_changed(self, hearing_id: str, with_camera: list[str]) -> None:
        self._event("senders_changed", hearing_id, with_camera=with_camera)

    def media_changed(self, hearing_id: str, participant_id: str, state: str, reason: str) -> None:
        self._event("media_changed", hearing_id, participant_id=participant_id, state=state, reason=reason)

    def link_changed(self, hearing_id: str, participant_id: str, layer: str, max_send_bitrate: int) -> None:
        self._event("link_changed", hearing_id, participant_id=participant_id, layer=layer,
                    max_send_bitrate=max_send_bitrate)

    def speakers_changed(self, hearing_id: str, speakers: list[str]) -> None:
        self._event("speakers_changed", hearing_id, speakers=speakers)

    def _recording_final(self, manifest: Manifest) -> None:
        self._event("recording_final", manifest.hearing_id, manifest=manifest.to_dict())

    # -- requests -------------------------------------------------------------------------------------

    async def handle(self, request: wire.Request) -> Any:
        hid, args = request.hearing_id, request.args
        if request.op == "shutdown":
            # The reply goes out first, then this end closes the pipe (see _run); the endpoint's end then
            # sets `done`. Setting it here would start the server's cleanup under an open WebSocket, and
            # the front's close would wait out aiohttp's close timeout for an answer that never comes.
            self.orderly = True
            return None
        if request.op == "open":
            room = self.rooms.get(hid)
            hearing = wire.hearing_in(args["hearing"])
            if room is None:
                room = self.rooms[hid] = MediaRoom(hearing, self.settings, self.recorder, self)
            else:
                room.update_hearing(hearing)
            room.update_people(wire.people_in(args["people"]))
            return None
        room = self.rooms.get(hid)
        if room is None:
            if request.op in ("close", "drop", "stop_preview"):
                return None
            raise wire.MediaWorkerError(f"hearing {hid} is not carried by this worker")
        if request.op == "update_hearing":
            room.update_hearing(wire.hearing_in(args["hearing"]), args.get("actor", ""))
        elif request.op == "update_people":
            room.update_people(wire.people_in(args["people"]))
        elif request.op == "note_event":
            room.note_event(wire.event_in(args["event"]))
        elif request.op == "answer_offer":
            return await room.answer_offer(args["pid"], args["role"], args["sdp"], args.get("sources"))
        elif request.op == "drop":
            await room.drop(args["pid"])
        elif request.op == "start_preview":
            return await room.start_preview(args["viewer_id"], args["target_id"], args["sdp"])
        elif request.op == "stop_preview":
            await room.stop_preview(args["viewer_id"], args["target_id"])
        elif request.op == "camera_list":
            return room.camera_list()
        elif request.op == "show_camera":
            return room.show_camera(args["key"], args["shown"], args["actor"])
        elif request.op == "close":
            self.rooms.pop(hid, None)
            await room.close(bool(args.get("finished")))
        else:
            raise wire.MediaWorkerError(f"unknown operation {request.op!r}")
        return None

    async def _run(self, request: wire.Request, ws: web.WebSocketResponse) -> None:
        lock = self._locks.setdefault(request.hearing_id, asyncio.Lock())
        async with lock:  # one hearing's calls in order; asyncio.Lock hands itself on first come, first served
            try:
                reply = wire.Reply(request.id, result=await self.handle(request))
            except Exception as exc:
                if not isinstance(exc, (wire.MediaWorkerError,)) and wire.failure_of(exc).kind == "fault":
                    log.exception("hearing %s: %s failed", request.hearing_id, request.op)
                reply = wire.Reply(request.id, failure=wire.failure_of(exc))
        if not ws.closed:
            await ws.send_bytes(wire.encode(reply))
            if request.op == "shutdown":
                await ws.close()

    async def endpoint(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024, heartbeat=10.0)
        await ws.prepare(request)
        if self._ws is not None and not self._ws.closed:
            await ws.close(code=4409, message=b"this worker already serves a front")
            return ws
        self._ws = ws
        load = asyncio.create_task(self._report_load(ws))
        tasks: set[asyncio.Task] = set()
        try:
            async for frame in ws:
                if frame.type != WSMsgType.BINARY:
                    continue
                message = wire.decode(frame.data)
                if isinstance(message, wire.Request):
                    task = asyncio.create_task(self._run(message, ws))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        finally:
            load.cancel()
            if not self.orderly:
                # The front died without a word: this is a crash of the hearing's server, and the record must
                # say so. Stop here, as it did; the spool's open segments are salvaged by whoever carries on.
                log.error("the front is gone; stopping at once")
                logging.shutdown()
                os._exit(3)
            self.done.set()
        return ws

    async def _report_load(self, ws: web.WebSocketResponse) -> None:
        cpu = CpuShare()
        while not ws.closed:
            await asyncio.sleep(LOAD_SECONDS)
            share = cpu.read()
            people = sum(len([p for p in room.people.values() if p.in_hearing]) for room in self.rooms.values())
            self._event("load", cpu=round(share, 3), hearings=len(self.rooms), participants=people,
                        pid=os.getpid())

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            try:
                await room.close(False)
            except Exception:
                log.exception("closing hearing %s", room.hearing_id)
        self.rooms.clear()
        await self.recorder.close()


async def serve(socket_path: str, settings: Settings) -> None:
    configure_host_addresses(settings.media.ice_addresses)
    worker = Worker(settings)
    await worker.recorder.start_live()
    app = web.Application()
    app.router.add_get("/media", worker.endpoint)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.UnixSite(runner, socket_path)
    await site.start()
    os.chmod(socket_path, 0o600)
    loop = asyncio.get_running_loop()
    def stop() -> None:  # told to stop (SIGTERM): an orderly stop of its hearings
        worker.orderly = True
        worker.done.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    print("ready", flush=True)  # the front waits for this line
    try:
        await worker.done.wait()
    finally:
        await worker.close()
        await runner.cleanup()


def main() -> int:
    socket_path = sys.argv[1]
    settings = settings_from_dict(json.loads(sys.stdin.readline()))
    logging.basicConfig(level=os.environ.get("COURTROOM_WORKER_LOG_LEVEL", "INFO"),
                        format=f"%(asctime)s %(levelname)s worker[{os.getpid()}] %(name)s: %(message)s")
    loop: asyncio.AbstractEventLoop | None = None
    if settings.server.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            loop = uvloop.new_event_loop()
    loop = loop or asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(serve(socket_path, settings))
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
