"""One participant's signaling WebSocket: hello, then every message until they go.

The session speaks the client protocol (docs/signaling.md) — parsing, limits, violations, the order of
replies — and asks a Gateway (signaling.gateway) for everything the court decides; a hearing carried by
another node is relayed there (signaling.relay) before the court hears of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from aiohttp import ClientWebSocketResponse, WSMsgType, web

from . import messages as msg
from .connection import CLOSE_POLICY, CLOSE_UNAUTHORIZED, Connection
from .gateway import Elsewhere, Gateway, LiveHearing, SignalingError
from .relay import CarrierUnreachable, open_upstream, relay
from .settings import SignalingSettings

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 15.0
MAX_VIOLATIONS = 50  # a client that keeps sending garbage is cut off; one bad message is only answered
_cleanups: set[asyncio.Task] = set()
# Open WebSockets per client address (one process serves one event loop: a plain counter is enough).
open_by_address: Counter[str] = Counter()


class RateLimiter:
    """Token bucket: `rate` messages a second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def allow(self) -> bool:
        current = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (current - self.stamp) * self.rate)
        self.stamp = current
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class SignalingSession:
    def __init__(self, ws: web.WebSocketResponse, gateway: Gateway, settings: SignalingSettings) -> None:
        self.ws = ws
        self.gateway = gateway
        self.settings = settings
        self.conn = Connection(ws, settings.send_queue)
        self.room: LiveHearing | None = None
        self.limiter = RateLimiter(settings.messages_per_second, settings.burst)
        self.violations = 0
        self.relayed_from = ""  # a fellow node relayed this connection (it must not be relayed again)
        self.address = ""
        self._hello_frame: str | bytes = ""
        self._upstream: ClientWebSocketResponse | None = None  # to the node that carries the hearing

    async def run(self) -> None:
        try:
            await self._loop()
        finally:
            # aiohttp cancels the handler when the client vanishes; the court must still learn that the
            # participant dropped (grace period, roster), so the clean-up runs in a task of its own.
            cleanup = asyncio.create_task(self._cleanup())
            _cleanups.add(cleanup)
            cleanup.add_done_callback(_cleanups.discard)
            await asyncio.shield(cleanup)

    async def _cleanup(self) -> None:
        if self.room is not None:
            try:
                await self.room.disconnect(self.conn)
            except Exception:
                log.exception("cleaning up after a signaling connection failed")
        await self.conn.finish()

    async def _loop(self) -> None:
        deadline = time.monotonic() + HELLO_TIMEOUT
        while not self.ws.closed:
            timeout = None if self.room else max(0.1, deadline - time.monotonic())
            try:
                frame = await self.ws.receive(timeout=timeout)
            except asyncio.TimeoutError:
                self.conn.send(msg.error("hello_timeout", "send hello first"))
                self.conn.close(CLOSE_UNAUTHORIZED, "no hello")
                return
            if frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return
            if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            await self._handle(frame.data)
            if self._upstream is not None:
                await relay(self.ws, self._upstream, self._hello_frame)
                return
            if self.violations > MAX_VIOLATIONS:
                self.conn.close(CLOSE_POLICY, "too many invalid messages")
                return
            if self.conn.closing:
                return

    async def _handle(self, data: str | bytes) -> None:
        ref = None
        try:
            size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
            if size > self.settings.max_message_bytes:
                raise msg.ProtocolError("message_too_large",
                                        f"messages are limited to {self.settings.max_message_bytes} bytes")
            if not self.limiter.allow():
                raise msg.ProtocolError("rate_limited", "too many messages; slow down")
            message = msg.parse(data)
            ref = message.ref
            if self.room is None and not isinstance(message, msg.Hello):
                raise msg.ProtocolError("hello_required", "the first message must be hello", ref)
            if isinstance(message, msg.Hello):
                self._hello_frame = data
            await self._dispatch(message)
        except msg.ProtocolError as exc:
            self.violations += 1
            self.conn.send(msg.error(exc.code, exc.message, exc.ref or ref))
        except SignalingError as exc:
            self.conn.send(msg.error(exc.code, exc.message, ref))
            if exc.close is not None and self.room is None:
                self.conn.close(exc.close, exc.code)
        except Exception:
            log.exception("signaling message failed")
            self.conn.send(msg.error("internal_error", "the server could not handle that message", ref))

    async def _dispatch(self, message: msg.ClientMessage) -> None:
        if isinstance(message, msg.Hello):
            await self._hello(message)
            return
        assert self.room is not None
        room = self.room
        if isinstance(message, msg.Ping):
            self.conn.send(msg.message("pong", message.ref, at=time.time()))
        elif isinstance(message, msg.Offer):
            answer = await room.offer(self.conn, message.sdp, message.sources)
            self.conn.send(msg.message("answer", message.ref, sdp=answer))
        elif isinstance(message, msg.SelfMute):
            await room.set_self(self.conn, muted=message.muted)
        elif isinstance(message, msg.Camera):
            await room.set_self(self.conn, camera_on=message.on)
        elif isinstance(message, msg.Hand):
            await room.set_self(self.conn, hand=message.raised)
        elif isinstance(message, msg.Leave):
            self.conn.send(msg.message("bye", message.ref))
            self.conn.close(1000, "left")
            await room.leave(self.conn)
        elif isinstance(message, msg.PreviewOffer):
            answer = await room.preview(self.conn, message.participant_id, message.sdp)
            self.conn.send(msg.message("preview-answer", message.ref, participant_id=message.participant_id,
                                       sdp=answer))
        elif isinstance(message, msg.PreviewStop):
            await room.preview_stop(self.conn, message.participant_id)

    async def _hello(self, hello: msg.Hello) -> None:
        if self.room is not None:
            raise msg.ProtocolError("already_joined", "hello was already accepted", hello.ref)
        unreachable: set[str] = set()
        for _ in range(3):
            joined = await self.gateway.hello(hello.token, hello.hearing_id, hello.name,
                                              relayed=bool(self.relayed_from), unreachable=unreachable)
            if not isinstance(joined, Elsewhere):
                break
            # Several nodes: the carrier's own front answers this hello and all that follows.
            try:
                self._upstream = await open_upstream(joined.url, self.gateway.relay_mark(self.address),
                                                     self.gateway.http, self.settings.max_message_bytes * 4)
                return
            except CarrierUnreachable:
                unreachable.add(joined.node_id)  # it died a moment ago: wait out its lease, then place anew
        else:
            raise SignalingError("hearing_moving", "the server that carries this hearing did not answer; reconnect")
        self.conn.claims = joined.claims
        self.conn.participant = joined.participant
        self.room = joined.hearing
        self.conn.send(msg.message("welcome", hello.ref, **joined.welcome))
        await joined.hearing.connect(self.conn)  # then roster and lobby, so that welcome always comes first
