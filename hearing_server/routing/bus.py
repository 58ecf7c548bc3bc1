"""Between nodes: court events and node messages over Redis pub/sub, typed with msgspec.

Every node publishes the court events that happen on it (a judge's admit, a clerk's log note) to one
channel, and listens to it and to a channel of its own for messages meant for it alone ("carry this
hearing"). Pub/sub delivers to whoever listens now and keeps nothing: a node that was cut off from Redis
resynchronises from the store when it is back (Rooms.resync), which is why nothing here is durable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, Awaitable, Callable

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..events import CourtEvent

log = logging.getLogger(__name__)

RECONNECT_MAX_SECONDS = 5.0

EVENT = "event"  # a court event that happened on `origin`
CARRY = "carry"  # `to` should take `hearing_id` on (a new hearing placed there, or a hand-over)
END_SESSIONS = "end_sessions"  # close every live connection signed in with `token_id` (revoked)
RECORDING_FINAL = "recording_final"  # a record is complete: every node's archive lists it


class NodeMessage(msgspec.Struct, frozen=True, omit_defaults=True):
    origin: str
    kind: str
    to: str = ""  # a node id; empty: every node
    event: dict[str, Any] | None = None
    hearing_id: str = ""
    token_id: str = ""
    reason: str = ""
    manifest: dict[str, Any] | None = None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(NodeMessage).decode

MessageHandler = Callable[[NodeMessage], Awaitable[None]]


def event_message(origin: str, event: CourtEvent) -> NodeMessage:
    return NodeMessage(origin, EVENT, event=dataclasses.asdict(event))


def event_of(message: NodeMessage) -> CourtEvent:
    assert message.event is not None
    data = dict(message.event, origin=message.origin)
    data.setdefault("data", {})
    return CourtEvent(**data)


class NodeBus:
    """One node's end of the bus. `on_message` hears what other nodes send to everyone or to this node;
    `on_reconnect` is called each time the subscription is back after Redis was unreachable."""

    def __init__(self, client: aioredis.Redis, key_prefix: str, node_id: str, on_message: MessageHandler,
                 on_reconnect: Callable[[], Awaitable[None]] | None = None) -> None:
        self._redis = client
        self._all = f"{key_prefix}bus"
        self._mine = f"{key_prefix}bus:{node_id}"
        self._prefix = key_prefix
        self.node_id = node_id
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._task: asyncio.Task | None = None
        self.subscribed = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name=f"node-bus-{self.node_id}")
        try:  # the first subscription before the node takes part; later outages are the loop's to ride out
            await asyncio.wait_for(self.subscribed.wait(), 5.0)
        except asyncio.TimeoutError:
            log.error("node bus: Redis unreachable at start-up; retrying in the background")

    async def send(self, message: NodeMessage) -> None:
        channel = f"{self._prefix}bus:{message.to}" if message.to else self._all
        await self._redis.publish(channel, _encode(message))

    async def _listen(self) -> None:
        delay, first = 0.2, True
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._all, self._mine)
                self.subscribed.set()
                if not first:
                    log.warning("node bus: Redis reachable again; resynchronising")
                    if self._on_reconnect is not None:
                        await self._on_reconnect()
                first, delay = False, 0.2
                while True:
                    # A timeout of its own: a blocking read would end at the client's socket timeout when
                    # the court is quiet, and that is not an outage.
                    raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if raw is not None and raw.get("type") == "message":
                        await self._handle(raw["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                first = False
                log.warning("node bus: lost Redis (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            finally:
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass

    async def _handle(self, data: bytes | str) -> None:
        try:
            message = _decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("node bus: dropped a message that is not ours: %s", exc)
            return
        if message.origin == self.node_id or (message.to and message.to != self.node_id):
            return
        try:
            await self._on_message(message)
        except Exception:
            log.exception("node bus: handling a %s message from %s failed", message.kind, message.origin)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
