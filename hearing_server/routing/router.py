"""The Router: which node carries a hearing, and the messages between nodes (LiveKit's router, two twins).

- LocalRouter: one node, nothing to install. Every hearing is this node's; nothing is relayed.
- RedisRouter: many nodes on one Redis. Each node heart-beats its NodeInfo (load of every worker) and
  renews the lease of each hearing it carries (a SET NX PX lock: never two carriers); a hearing whose
  carrier stopped renewing is free again when the lease runs out, and the node the selector picks adopts it.
  Court events and node messages go over pub/sub (routing.bus).

The live rooms (hearing_server.live.rooms) ask the Router and act; the Router never touches a room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable, Protocol

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..events import CourtEvent
from .bus import NodeBus, NodeMessage, event_message
from .messages import NodeInfo
from .registry import CLAIM_SECONDS, HEARTBEAT_SECONDS, RedisRegistry
from .selector import NoCapacity, choose_worker, with_pending

log = logging.getLogger(__name__)


class RouterCallbacks(Protocol):
    """What the Router asks of the node's rooms."""

    def node_info(self) -> NodeInfo: ...

    def carried(self) -> list[str]: ...

    async def on_message(self, message: NodeMessage) -> None: ...

    async def lease_lost(self, hearing_id: str) -> None: ...

    async def tick(self) -> None: ...

    async def resync(self) -> None: ...


class Router(Protocol):
    node_id: str
    shared: bool  # several nodes: hearings may be carried elsewhere

    async def start(self, rooms: RouterCallbacks) -> None: ...

    async def holder(self, hearing_id: str) -> str | None: ...

    async def node(self, node_id: str) -> NodeInfo | None: ...

    async def nodes(self) -> list[NodeInfo]: ...

    async def claim(self, hearing_id: str) -> bool: ...

    async def release(self, hearing_id: str) -> None: ...

    async def choose(self, *, others_only: bool = False, avoid: set[str] | None = None) -> NodeInfo: ...

    async def send(self, message: NodeMessage) -> None: ...

    async def forward_event(self, event: CourtEvent) -> None: ...

    async def drain(self) -> None: ...

    def placed(self, node_id: str, hearing_id: str) -> None: ...

    async def close(self) -> None: ...


class LocalRouter:
    """One node: every hearing is ours."""

    shared = False

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._rooms: RouterCallbacks | None = None

    async def start(self, rooms: RouterCallbacks) -> None:
        self._rooms = rooms

    async def holder(self, hearing_id: str) -> str | None:
        return self.node_id

    async def node(self, node_id: str) -> NodeInfo | None:
        return self._rooms.node_info() if self._rooms is not None and node_id == self.node_id else None

    async def nodes(self) -> list[NodeInfo]:
        return [self._rooms.node_info()] if self._rooms is not None else []

    async def claim(self, hearing_id: str) -> bool:
        return True

    async def release(self, hearing_id: str) -> None:
        pass

    async def choose(self, *, others_only: bool = False, avoid: set[str] | None = None) -> NodeInfo:
        if others_only or self._rooms is None:
            raise NoCapacity("no other media node is running")
        node, _ = choose_worker([self._rooms.node_info()])
        return node

    async def send(self, message: NodeMessage) -> None:
        pass

    async def forward_event(self, event: CourtEvent) -> None:
        pass

    async def drain(self) -> None:
        pass

    def placed(self, node_id: str, hearing_id: str) -> None:
        pass

    async def close(self) -> None:
        pass


class RedisRouter:
    """Many nodes on one Redis (or a Sentinel-managed pair: pass its URL)."""

    shared = True

    def __init__(self, client: aioredis.Redis, key_prefix: str, node_id: str) -> None:
        """`client`: decode_responses=True, with timeouts (hearing_server.redis_client)."""
        self.node_id = node_id
        self._redis = client
        self.registry = RedisRegistry(self._redis, key_prefix)
        self._bus: NodeBus | None = None
        self._rooms: RouterCallbacks | None = None
        self._beat: asyncio.Task | None = None
        self._reachable = True
        # Hearings placed on a node since its last heartbeat, counted at once (else a burst of openings
        # would all go to the node that looked least loaded two seconds ago).
        self._recent: dict[str, list[tuple[float, str]]] = {}
        self._beat_now = asyncio.Event()

    async def start(self, rooms: RouterCallbacks) -> None:
        self._rooms = rooms
        self._bus = NodeBus(self._redis, self.registry.key_prefix, self.node_id, rooms.on_message, rooms.resync)
        await self._bus.start()
        await self._heartbeat()
        self._beat = asyncio.create_task(self._beat_loop(), name=f"heartbeat-{self.node_id}")

    def _info(self) -> NodeInfo:
        assert self._rooms is not None
        return self._rooms.node_info()  # draining included: the rooms know when the node is stopping

    async def _heartbeat(self) -> None:
        assert self._rooms is not None
        await self.registry.heartbeat(self._info())
        for hearing_id in self._rooms.carried():
            if not await self.registry.claim(hearing_id, self.node_id, CLAIM_SECONDS):
                # Another node holds it: we were taken for dead (a long pause, a partition). Two carriers
                # would write two records of one hearing, so ours stops at once.
                log.error("hearing %s: its lease passed to another node; this node lets it go", hearing_id)
                await self._rooms.lease_lost(hearing_id)

    async def _beat_loop(self) -> None:
        assert self._rooms is not None
        while True:
            try:
                await asyncio.wait_for(self._beat_now.wait(), HEARTBEAT_SECONDS)
            except asyncio.TimeoutError:
                pass
            self._beat_now.clear()
            try:
                await self._heartbeat()
                if not self._reachable:
                    # The rooms resynchronise when the bus is subscribed again (every outage breaks it).
                    self._reachable = True
                    log.warning("node %s: Redis reachable again", self.node_id)
                await self._rooms.tick()
            except (RedisError, OSError) as exc:
                if self._reachable:
                    # The media does not need Redis: the hearings on this node go on while it is away.
                    log.error("node %s: Redis unreachable (%s); hearings go on, state resynchronises later",
                              self.node_id, exc)
                self._reachable = False
            except Exception:
                log.exception("node %s: heartbeat failed", self.node_id)

    async def holder(self, hearing_id: str) -> str | None:
        return await self.registry.carrier(hearing_id)

    async def node(self, node_id: str) -> NodeInfo | None:
        """The node as last heard, or None when it has stopped heart-beating (it is gone)."""
        # A node's key expires STALE_SECONDS after its last heartbeat (Redis' clock, not the nodes').
        return next((n for n in await self.registry.nodes() if n.node_id == node_id), None)

    async def nodes(self) -> list[NodeInfo]:
        return await self.registry.nodes()

    async def claim(self, hearing_id: str) -> bool:
        return await self.registry.claim(hearing_id, self.node_id, CLAIM_SECONDS)

    async def release(self, hearing_id: str) -> None:
        await self.registry.release(hearing_id, self.node_id)

    async def choose(self, *, others_only: bool = False, avoid: set[str] | None = None) -> NodeInfo:
        """The node for a new hearing; `avoid`: nodes known to be gone though their key has not expired."""
        nodes = [n for n in await self.registry.nodes() if not avoid or n.node_id not in avoid]
        nodes = [self._info() if n.node_id == self.node_id else self._with_recent(n) for n in nodes]
        if not any(n.node_id == self.node_id for n in nodes):
            nodes.append(self._info())  # ours, as of now
        if others_only:
            nodes = [n for n in nodes if n.node_id != self.node_id]
        node, _ = choose_worker(nodes)
        return node

    def placed(self, node_id: str, hearing_id: str) -> None:
        """This node sent `hearing_id` to `node_id`; until that node reports it, count it here."""
        if node_id != self.node_id:
            self._recent.setdefault(node_id, []).append((time.time(), hearing_id))
        else:
            self._beat_now.set()  # tell the others now, not at the next beat

    def _with_recent(self, node: NodeInfo) -> NodeInfo:
        recent = [(at, h) for at, h in self._recent.get(node.node_id, []) if at > node.updated_at - 1.0]
        self._recent[node.node_id] = recent
        if not recent or not node.workers:
            return node
        workers = sorted(node.workers, key=lambda w: (w.hearings, w.cpu))
        first = workers[0]
        return msgspec.structs.replace(node, workers=(with_pending(first, first.hearings + len(recent)),
                                                      *workers[1:]))

    async def send(self, message: NodeMessage) -> None:
        assert self._bus is not None
        await self._bus.send(message)

    async def forward_event(self, event: CourtEvent) -> None:
        await self.send(event_message(self.node_id, event))

    async def drain(self) -> None:
        """SIGTERM (the rooms are draining): the other nodes stop placing hearings here from the next read
        of the registry."""
        try:
            await self.registry.heartbeat(self._info())
        except (RedisError, OSError) as exc:
            log.error("node %s: could not announce the drain: %s", self.node_id, exc)

    async def close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
        if self._bus is not None:
            await self._bus.close()
        try:
            await self.registry.forget(self.node_id)
        except (RedisError, OSError):
            pass
        await self._redis.aclose()


async def wait_for_lease(router: Router, hearing_id: str, alive: Callable[[str], Awaitable[bool]],
                         timeout: float = CLAIM_SECONDS + 2.0) -> str | None:
    """The live holder of a hearing, waiting out the lease of a holder that is gone. Returns the holder's
    node id, or None once the hearing is free (and this node may claim it)."""
    deadline = time.monotonic() + timeout
    while True:
        holder = await router.holder(hearing_id)
        if holder is None or holder == router.node_id or await alive(holder):
            return holder
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.5)
