"""The signaling WebSocket endpoint: authenticate, then read messages until the participant goes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from aiohttp import ClientWebSocketResponse, WSMsgType, web
from redis.exceptions import RedisError

from hearing_server.appkeys import COURT, ROOMS, SETTINGS
from hearing_server.config import SignalingSettings
from hearing_server.court import Court
from hearing_server.errors import ApiError
from hearing_server.live.room import HearingRoom, hearing_summary
from hearing_server.live.rooms import Rooms
from hearing_server.media.ice import browser_ice_servers
from hearing_server.media.peer import OfferError
from hearing_server.models import ParticipantState
from hearing_server.roles import PERMISSIONS
from hearing_server.routing import RELAY_HEADER
from hearing_server.tokens import TokenKind

from . import messages as msg
from .connection import CLOSE_POLICY, CLOSE_UNAUTHORIZED, Connection
from .relay import CarrierUnreachable, open_upstream, relay

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 15.0
MAX_VIOLATIONS = 50  # a client that keeps sending garbage is cut off; one bad message is only answered
_cleanups: set[asyncio.Task] = set()
# Open WebSockets per client address (one process serves one event loop: a plain counter is enough).
_open_by_address: Counter[str] = Counter()


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
    def __init__(self, ws: web.WebSocketResponse, court: Court, rooms: Rooms, settings: SignalingSettings) -> None:
        self.ws = ws
        self.court = court
        self.rooms = rooms
        self.settings = settings
        self.conn = Connection(ws, settings.send_queue)
        self.room: HearingRoom | None = None
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
        except OfferError as exc:
            self.conn.send(msg.error("bad_sdp", str(exc), ref))
        except ApiError as exc:
            self.conn.send(msg.error(exc.code, exc.message, ref))
            if exc.status == 401 and self.room is None:
                self.conn.close(CLOSE_UNAUTHORIZED, exc.code)
        except (RedisError, ConnectionError) as exc:
            log.error("signaling: the state store is unreachable: %s", exc)
            self.conn.send(msg.error("state_unavailable", "the court's shared state is unreachable for a moment; "
                                                          "try again in a few seconds", ref))
        except Exception:
            log.exception("signaling message failed")
            self.conn.send(msg.error("internal_error", "the server could not handle that message", ref))

    async def _dispatch(self, message: msg.ClientMessage) -> None:
        if isinstance(message, msg.Hello):
            await self._hello(message)
            return
        assert self.room is not None and self.conn.participant is not None
        room, pid = self.room, self.conn.participant_id
        if isinstance(message, msg.Ping):
            self.conn.send(msg.message("pong", message.ref, at=time.time()))
        elif isinstance(message, msg.Offer):
            answer = await room.answer_offer(self.conn, message.sdp, message.sources)
            self.conn.send(msg.message("answer", message.ref, sdp=answer))
        elif isinstance(message, msg.SelfMute):
            person = await self.court.set_self_state(room.hearing_id, pid, muted=message.muted)
            await room.set_self_state(person)
        elif isinstance(message, msg.Camera):
            person = await self.court.set_self_state(room.hearing_id, pid, camera_off=not message.on)
            await room.set_self_state(person)
        elif isinstance(message, msg.Leave):
            self.conn.send(msg.message("bye", message.ref))
            self.conn.close(1000, "left")
            await self.court.leave(room.hearing_id, pid)
        elif isinstance(message, msg.PreviewOffer):
            answer = await room.start_preview(self.conn, message.participant_id, message.sdp)
            self.conn.send(msg.message("preview-answer", message.ref, participant_id=message.participant_id,
                                       sdp=answer))
        elif isinstance(message, msg.PreviewStop):
            await room.stop_preview(pid, message.participant_id)

    async def _relayed(self, hearing_id: str) -> bool:
        """Several nodes: find (or place) the node that carries the hearing before anything else; when it is
        another, connect to its front, which answers this hello and all that follows."""
        hearing = await self.court.hearing(hearing_id)
        unreachable: set[str] = set()
        for _ in range(3):
            where = await self.rooms.locate(hearing, may_relay=not self.relayed_from, unreachable=unreachable)
            if isinstance(where, HearingRoom):
                return False
            assert self.rooms.http is not None
            try:
                self._upstream = await open_upstream(where.url, self.court.tokens.relay_mark(self.address),
                                                     self.rooms.http, self.settings.max_message_bytes * 4)
                return True
            except CarrierUnreachable:
                unreachable.add(where.node_id)  # it died a moment ago: wait out its lease, then place anew
        raise ApiError(503, "hearing_moving", "the server that carries this hearing did not answer; reconnect")

    async def _hello(self, hello: msg.Hello) -> None:
        if self.room is not None:
            raise msg.ProtocolError("already_joined", "hello was already accepted", hello.ref)
        claims = await self.court.authenticate(hello.token, (TokenKind.STAFF, TokenKind.INVITE, TokenKind.SESSION))
        hearing_id = hello.hearing_id if claims.kind is TokenKind.STAFF else claims.hearing
        if self.rooms.router.shared and hearing_id and await self._relayed(hearing_id):
            return
        # The court decides first; a room is only made for someone it let in.
        if claims.kind is TokenKind.STAFF:
            if not hello.hearing_id:
                raise msg.ProtocolError("missing_field", "hello: staff must name the hearing_id", hello.ref)
            person = await self.court.join_staff(claims, hello.hearing_id)
        elif claims.kind is TokenKind.INVITE:
            live = self.rooms.rooms.get(claims.hearing)
            taken = live is not None and claims.subject in live.connections
            person = await self.court.enter_lobby(claims, hello.name, seat_taken=taken)
        else:
            person = await self.court.resume_session(claims)
        where = await self.rooms.locate(await self.court.hearing(person.hearing_id), may_relay=False)
        if not isinstance(where, HearingRoom):  # placed elsewhere meanwhile: the participant reconnects
            raise ApiError(503, "hearing_moving", "the hearing is moving to another server; reconnect")
        room = where
        self.conn.claims = claims
        self.conn.participant = person
        self.room = room
        in_hearing = person.state is ParticipantState.ADMITTED
        self.conn.send(msg.message(
            "welcome", hello.ref,
            state="admitted" if in_hearing else "lobby",
            participant=dict(person.public(), stated_name=person.stated_name),
            hearing=hearing_summary(room.hearing),
            ice_servers=browser_ice_servers(self.rooms.settings.media),
            permissions=sorted(p.value for p in PERMISSIONS.get(claims.role, frozenset()))
            if claims.kind is TokenKind.STAFF else [],
        ))
        await room.connect(self.conn)  # then roster and lobby, so that welcome always comes first


async def signaling_endpoint(request: web.Request) -> web.WebSocketResponse:
    settings = request.app[SETTINGS].signaling
    mark = request.headers.get(RELAY_HEADER, "")
    relayed = request.app[COURT].tokens.relayed_address(mark) if mark else None
    address = relayed or request.remote or "?"  # a fellow node vouches for the participant's own address
    if _open_by_address[address] >= settings.max_connections_per_address:
        raise ApiError(429, "too_many_connections",
                       f"at most {settings.max_connections_per_address} signaling connections from one address")
    # aiohttp drops a frame over max_msg_size by closing the socket; leave headroom so that an oversize
    # message within 4× the limit is answered with an error message instead.
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=settings.max_message_bytes * 4)
    _open_by_address[address] += 1  # before the first await: parallel upgrades cannot slip past the cap
    try:
        await ws.prepare(request)
        session = SignalingSession(ws, request.app[COURT], request.app[ROOMS], settings)
        session.address = address
        session.relayed_from = request.remote or "?" if relayed else ""
        await session.run()
    finally:
        _open_by_address[address] -= 1
        if not _open_by_address[address]:
            del _open_by_address[address]
    return ws
