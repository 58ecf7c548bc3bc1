"""The live hearings this node carries, created on demand and closed with the hearing.

Each hearing's media runs in this process (media.workers = 0) or in one of the node's media workers
(hearing_server.live.pool), chosen when the room starts; when that worker dies the room's media is placed
on another at once and everyone is asked to reconnect.

With several nodes (state.backend = "redis") a hearing is carried by exactly one of them, the holder of its
lease in the Router; the others relay to it whoever reaches them (signaling.relay, `forward` for the API)
and hear its court events over the bus. A node that stops heart-beating loses its leases, and the node the
selector picks adopts its hearings; a node told to stop (SIGTERM) hands its hearings over first.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from aiohttp import web

from recorder.files import private_dir, touch_private
from recorder.manifest import Manifest
from recorder.recorder import Recorder
from signaling.connection import CLOSE_GOING_AWAY, CLOSE_MEDIA_RESTARTING, CLOSE_UNAUTHORIZED

from .. import events as ev
from ..config import Settings
from ..court import Court
from ..errors import ApiError
from ..events import CourtEvent
from ..models import Hearing, HearingStatus
from ..routing import RELAY_HEADER, LocalRouter, NoCapacity, NodeInfo, NodeMessage, Router, WorkerLoad, wait_for_lease
from ..routing.bus import CARRY, END_SESSIONS, EVENT, RECORDING_FINAL, event_of
from ..routing.registry import CLAIM_SECONDS, HEARTBEAT_SECONDS
from . import wire
from .cpu import CpuShare
from .media_handle import InProcessMedia, MediaHandle
from .pool import WorkerPool, worker_count
from .room import HearingRoom
from .worker_client import RemoteMedia

log = logging.getLogger(__name__)

PLACEMENT_SECONDS = 8.0  # a hello waits this long at most for the hearing to find its node


def _full(exc: NoCapacity) -> ApiError:
    return ApiError(503, "server_full", f"this server cannot carry another hearing now: {exc.reason}")


def hearing_moving() -> ApiError:
    """The hearing is between carriers (its node died or is stopping): the participant reconnects."""
    return ApiError(503, "hearing_moving", "the hearing is moving to another server; reconnect")


class Rooms:
    def __init__(self, court: Court, settings: Settings, recorder: Recorder | None = None,
                 router: Router | None = None) -> None:
        self.court = court
        self.settings = settings
        self.recorder = recorder
        self.router: Router = router or LocalRouter(settings.node_id)
        self.rooms: dict[str, HearingRoom] = {}
        self.draining = False
        self.http: aiohttp.ClientSession | None = None  # relays to the other nodes
        self._creating: dict[str, asyncio.Lock] = {}
        self._cpu = CpuShare()
        # After Redis comes back, every node first renews its own leases before anyone adopts "orphans".
        self._quiet_until = 0.0
        self._spool_checked = not self.router.shared
        count = worker_count(settings)
        self.pool = WorkerPool(settings, count, self._worker_event, self._worker_lost,
                               node_id=self.router.node_id) if count > 0 else None
        court.bus.subscribe(self.on_event)
        if self.router.shared:
            court.bus.forward = self.router.forward_event
            if recorder is not None and count == 0:
                recorder.on_final = self._recording_final

    async def start(self) -> None:
        if self.pool is not None:
            await self.pool.start()
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30, sock_connect=3))
        if self.router.shared:  # our mark in the spool before the others can see us in the registry
            marks = private_dir(self.settings.spool_path / ".nodes")
            await asyncio.to_thread(touch_private, marks / self.router.node_id)
        await self.router.start(self)
        await self.resume_live()

    # -- where a hearing is carried -----------------------------------------------------------------

    async def room(self, hearing: Hearing) -> HearingRoom:
        """The hearing's room on this node (started if need be). With several nodes, the caller holds the
        hearing's lease (see `locate`)."""
        room = self.rooms.get(hearing.id)
        if room is not None:
            return room
        lock = self._creating.setdefault(hearing.id, asyncio.Lock())
        async with lock:
            room = self.rooms.get(hearing.id)
            if room is None:
                room = await self._start(hearing)
                self.rooms[hearing.id] = room
                self.router.placed(self.router.node_id, hearing.id)
        return room

    async def where(self, hearing_id: str) -> NodeInfo | None:
        """The other node that carries the hearing now (to relay to), or None: this node, or nobody yet."""
        if not self.router.shared or hearing_id in self.rooms:
            return None
        holder = await wait_for_lease(self.router, hearing_id, self._alive)
        if holder is None or holder == self.router.node_id:
            return None
        return await self.router.node(holder)

    async def locate(self, hearing: Hearing, *, may_relay: bool = True,
                     unreachable: set[str] | None = None) -> HearingRoom | NodeInfo:
        """The hearing's room here, or the node to relay to. A hearing nobody carries is placed: here, or
        on the node the selector picks (then this waits for that node to take it). Nodes in `unreachable`
        are taken for dead whatever the registry says (a relay to them just failed)."""
        if not self.router.shared:
            return await self.room(hearing)
        gone = unreachable or set()

        async def alive(node_id: str) -> bool:
            return node_id not in gone and await self._alive(node_id)

        deadline = time.monotonic() + PLACEMENT_SECONDS + (CLAIM_SECONDS if gone else 0.0)
        while True:
            if hearing.id in self.rooms:
                return self.rooms[hearing.id]
            holder = await wait_for_lease(self.router, hearing.id, alive)
            if holder == self.router.node_id:
                return await self.room(hearing)
            if holder is not None:
                node = await self.router.node(holder) if holder not in gone else None
                if node is not None and may_relay:
                    return node
                if node is not None:  # a relayed connection that raced a move: the participant retries
                    raise hearing_moving()
            else:
                try:
                    target = await self.router.choose(others_only=self.draining, avoid=gone)
                except NoCapacity as exc:
                    raise _full(exc) from None
                if target.node_id == self.router.node_id:
                    if (room := await self._claim_and_start(hearing)) is not None:
                        return room
                else:
                    self.router.placed(target.node_id, hearing.id)
                    await self.router.send(NodeMessage(self.router.node_id, CARRY, to=target.node_id,
                                                       hearing_id=hearing.id))
            if time.monotonic() >= deadline:
                raise hearing_moving()
            await asyncio.sleep(0.25)

    async def _alive(self, node_id: str) -> bool:
        return await self.router.node(node_id) is not None

    async def forward(self, request: web.Request, hearing_id: str) -> web.Response | None:
        """An API call about a hearing another node carries, answered by that node (None: answer here)."""
        if RELAY_HEADER in request.headers:
            return None  # relayed to us already: never twice
        node = await self.where(hearing_id)
        if node is None:
            return None
        assert self.http is not None
        headers = {k: request.headers[k] for k in ("Authorization", "Content-Type", "Accept")
                   if k in request.headers}
        headers[RELAY_HEADER] = self.court.tokens.relay_mark(request.remote or "?")
        body = await request.read()
        try:
            async with self.http.request(request.method, node.url + request.rel_url.path_qs, headers=headers,
                                         data=body or None) as answer:
                payload = await answer.read()
                return web.Response(status=answer.status, body=payload, content_type=answer.content_type)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("hearing %s: node %s did not answer a relayed call: %s", hearing_id, node.node_id, exc)
            raise ApiError(503, "node_unreachable", "the server that carries this hearing did not answer; "
                                                    "try again in a few seconds") from None

    def _recording_final(self, manifest: Manifest) -> None:
        """A record finished here: the archive of every node lists it (each node keeps its own index)."""
        if self.router.shared:
            message = NodeMessage(self.router.node_id, RECORDING_FINAL, hearing_id=manifest.hearing_id,
                                  manifest=manifest.to_dict())
            asyncio.ensure_future(self._send_quietly(message))

    async def _send_quietly(self, message: NodeMessage) -> None:
        try:
            await self.router.send(message)
        except Exception as exc:  # the others list it at their next start (their index reads the store)
            log.error("could not tell the other nodes (%s about %s): %s", message.kind, message.hearing_id, exc)

    # -- what the Router asks of us -----------------------------------------------------------------

    def node_info(self) -> NodeInfo:
        limit = self.settings.media.hearings_per_worker
        if self.pool is not None:
            info = self.pool.load()
            return NodeInfo(self.router.node_id, self.settings.node_url, info.workers, self.draining, limit,
                            time.time())
        people = sum(len(r.connections) for r in self.rooms.values())
        own = WorkerLoad(f"{self.router.node_id}/0", round(self._cpu.read(min_interval=1.0), 3), len(self.rooms),
                         people)
        return NodeInfo(self.router.node_id, self.settings.node_url, (own,), self.draining, limit, time.time())

    def carried(self) -> list[str]:
        return list(self.rooms)

    async def on_message(self, message: NodeMessage) -> None:
        if message.kind == EVENT and message.event is not None:
            await self.court.bus.deliver(event_of(message))
        elif message.kind == CARRY:
            await self._carry(message.hearing_id)
        elif message.kind == END_SESSIONS:
            self._end_local(message.token_id, message.reason)
        elif message.kind == RECORDING_FINAL and message.manifest is not None and self.recorder is not None:
            self.recorder.catalogue(Manifest.from_dict(message.manifest))

    async def _carry(self, hearing_id: str) -> None:
        """Another node placed a hearing here (a new one, or handed over by a node that is stopping)."""
        if self.draining or hearing_id in self.rooms:
            return
        hearing = await self.court.store.get_hearing(hearing_id)
        if hearing is None or hearing.status is HearingStatus.CLOSED:
            return
        try:
            if await self._claim_and_start(hearing) is not None:
                log.info("hearing %s: now carried by this node (%s)", hearing_id, self.router.node_id)
        except ApiError:
            pass  # logged (and the hearing marked) where its media failed to start

    async def _claim_and_start(self, hearing: Hearing) -> HearingRoom | None:
        """The hearing's room here if this node wins its lease (None: another node holds it). A room that
        cannot start gives the lease back at once, so that another node may try."""
        if not await self.router.claim(hearing.id):
            return None
        try:
            return await self.room(hearing)
        except ApiError:
            await self.router.release(hearing.id)
            raise

    async def lease_lost(self, hearing_id: str) -> None:
        room = self._drop(hearing_id)
        if room is not None:
            await room.shutdown("the hearing moved to another server; reconnecting", CLOSE_MEDIA_RESTARTING)

    def _drop(self, hearing_id: str) -> HearingRoom | None:
        """This node no longer carries the hearing (closed, or carried elsewhere now)."""
        self._creating.pop(hearing_id, None)
        if self.pool is not None:
            self.pool.release(hearing_id)
        return self.rooms.pop(hearing_id, None)

    async def tick(self) -> None:
        """Every heartbeat: adopt the live hearings nobody carries (their node died and the lease ran out)."""
        if not self._spool_checked:
            await self._check_shared_spool()
        if self.draining or time.monotonic() < self._quiet_until:
            return
        for hearing in await self.court.store.list_hearings():
            if not hearing.is_live or hearing.id in self.rooms:
                continue
            if await self.router.holder(hearing.id) is not None:
                continue
            try:
                target = await self.router.choose()
            except NoCapacity as exc:
                log.error("hearing %s has no carrier and no node can take it: %s", hearing.id, exc.reason)
                continue
            if target.node_id != self.router.node_id:
                continue  # the node the selector picks adopts it
            try:
                if await self._claim_and_start(hearing) is not None:
                    log.warning("hearing %s: its node stopped; adopted by %s", hearing.id, self.router.node_id)
            except ApiError:
                continue  # logged and marked; the other hearings carry on

    async def _check_shared_spool(self) -> None:
        """A node that adopts a dead node's hearing carries its record on only if it sees the dead node's spool
        (docs/operations.md): each node leaves a mark in the spool at start and looks for the others' marks."""
        marks = self.settings.spool_path / ".nodes"
        others = [n.node_id for n in await self.router.nodes() if n.node_id != self.router.node_id]
        if not others:
            return  # nobody to compare with yet: look again at the next heartbeat
        self._spool_checked = True
        unseen = [n for n in others if not (marks / n).exists()]
        if unseen:
            log.error("the spool %s is not shared with node(s) %s: a hearing adopted from a node that died cannot "
                      "continue its record here (put recording.spool_dir on a disk all nodes share)",
                      self.settings.spool_path, ", ".join(unseen))

    async def resync(self) -> None:
        """Redis is back after an outage: what it lost of the hearings this node carries is written again
        from the rooms (the leases themselves are renewed by the next heartbeat)."""
        self._quiet_until = time.monotonic() + 3 * HEARTBEAT_SECONDS
        for room in list(self.rooms.values()):
            try:
                stored = await self.court.store.get_hearing(room.hearing_id)
                if stored is None:
                    log.warning("hearing %s: the state store had lost it; written again", room.hearing_id)
                    await self.court.store.save_hearing(room.hearing)
                    for person in room.people.values():
                        await self.court.store.save_participant(person)
                else:
                    room.hearing = stored
                    await room.load()
            except Exception:
                log.exception("hearing %s: could not resynchronise", room.hearing_id)

    # -- starting a room ----------------------------------------------------------------------------

    async def _place(self, room: HearingRoom) -> MediaHandle:
        if self.pool is None:
            return InProcessMedia(room.hearing, self.settings, self.recorder, room)
        try:
            connection = await self.pool.place(room.hearing_id)
        except NoCapacity as exc:
            raise _full(exc) from None
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

    async def check_capacity(self, hearing_id: str) -> None:
        """Before a hearing opens: a full court refuses it (503) rather than degrade the hearings it carries."""
        if hearing_id in self.rooms:
            return
        try:
            if self.router.shared:
                if await self.router.holder(hearing_id) is None:
                    await self.router.choose(others_only=self.draining)
            elif self.pool is not None:
                self.pool.check_capacity()
        except NoCapacity as exc:
            raise _full(exc) from None

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
            manifest = Manifest.from_dict(event.args["manifest"])
            self.recorder.catalogue(manifest)
            self._recording_final(manifest)
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
        elif event.kind == "media_changed":
            room.media_changed(event.hearing_id, event.args["participant_id"], event.args["state"],
                               event.args["reason"])
        elif event.kind == "link_changed":
            room.link_changed(event.hearing_id, event.args["participant_id"], event.args["layer"],
                              event.args["max_send_bitrate"])
        elif event.kind == "speakers_changed":
            room.speakers_changed(event.hearing_id, event.args["speakers"])

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
        """After a restart, carry on every hearing that is still open in the shared state (and that no
        other node carries): its clock, mixer and recording start again at once, not only when somebody
        reconnects."""
        for hearing in await self.court.store.list_hearings():
            if not hearing.is_live:
                continue
            try:
                if await self._claim_and_start(hearing) is not None:  # None: carried by a node that runs
                    log.info("resumed live hearing %s (%s)", hearing.id, hearing.case_number)
            except ApiError:
                continue  # logged and marked; the other hearings carry on

    async def on_event(self, event: CourtEvent) -> None:
        room = self.rooms.get(event.hearing_id)
        if room is None and event.kind == ev.OPENED and not event.origin:
            # The hearing clock (and the mixer and the recording) start when the hearing opens, whoever
            # is connected; the node that opened it places it, and the room then hears the opening.
            await self._place_opened(event.hearing_id)
            room = self.rooms.get(event.hearing_id)
        if room is None:
            return
        await room.on_event(event)
        if event.kind == ev.CLOSED:
            self._drop(event.hearing_id)
            await self.router.release(event.hearing_id)

    async def _place_opened(self, hearing_id: str) -> None:
        hearing = await self.court.store.get_hearing(hearing_id)
        if hearing is None:
            return
        try:
            await self.locate(hearing)  # here, or on the node the selector picks
        except ApiError as exc:
            log.error("hearing %s opened but could not be placed: %s", hearing_id, exc.message)

    async def end_sessions_of(self, token_id: str, reason: str) -> None:
        """Close every live connection that signed in with this token (it was just revoked), on every node."""
        self._end_local(token_id, reason)
        if self.router.shared:
            await self.router.send(NodeMessage(self.router.node_id, END_SESSIONS, token_id=token_id,
                                               reason=reason))

    def _end_local(self, token_id: str, reason: str) -> None:
        for room in self.rooms.values():
            for conn in list(room.connections.values()):
                if conn.claims is not None and conn.claims.jti == token_id:
                    conn.send({"type": "error", "code": "token_revoked", "message": reason})
                    conn.close(CLOSE_UNAUTHORIZED, "token revoked")

    # -- stopping -----------------------------------------------------------------------------------

    async def stop_hearings(self) -> None:
        """An orderly stop (SIGTERM), before the server waits for its connections to end. Alone, the node
        ends its connections with 1001 "going away" and the hearings carry on when it is back. With other
        nodes, it takes no new hearing, lets its own finish for node.drain_seconds, then hands each
        remaining one to another node (1012: reconnect)."""
        if self.draining:
            return
        self.draining = True
        await self.router.drain()
        if self.router.shared and self.settings.node.drain_seconds > 0 and self.rooms:
            log.warning("draining: waiting up to %.0f s for %d hearing(s) to finish",
                        self.settings.node.drain_seconds, len(self.rooms))
            deadline = time.monotonic() + self.settings.node.drain_seconds
            while self.rooms and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
        self.court.bus.unsubscribe(self.on_event)
        rooms, self.rooms = list(self.rooms.values()), {}
        await asyncio.gather(*(self._stop_room(room) for room in rooms), return_exceptions=True)

    async def close(self) -> None:
        await self.stop_hearings()
        await self.router.close()
        self.court.bus.forward = None
        if self.pool is not None:
            await self.pool.close()
        if self.http is not None:
            await self.http.close()

    async def _stop_room(self, room: HearingRoom) -> None:
        target: NodeInfo | None = None
        if self.router.shared:
            try:
                target = await self.router.choose(others_only=True)
            except NoCapacity:
                target = None
        if target is None:
            # 1001 "going away": clients reconnect (to this server once it is back, within the grace period).
            await room.shutdown("the server is shutting down", CLOSE_GOING_AWAY)
            return
        await room.shutdown("this server is stopping; the hearing moves to another", CLOSE_MEDIA_RESTARTING)
        await self.router.release(room.hearing_id)
        await self.router.send(NodeMessage(self.router.node_id, CARRY, to=target.node_id,
                                           hearing_id=room.hearing_id))
        log.warning("hearing %s handed over to node %s", room.hearing_id, target.node_id)
