"""The server behind the signaling socket (signaling.gateway.Gateway): the court decides who may join and
as what, the live rooms carry the hearing, and the Router says which node that is.

Errors leave here in the protocol's words (SignalingError), so the socket never learns of ApiError,
OfferError or a store outage.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Coroutine, ParamSpec, TypeVar

import aiohttp
from redis.exceptions import RedisError

from signaling import messages as msg
from signaling.connection import CLOSE_UNAUTHORIZED, Connection
from signaling.gateway import Elsewhere, Joined, SignalingError

from ..court import Court
from ..errors import ApiError
from ..media.ice import browser_ice_servers
from ..media.peer import OfferError
from ..models import ParticipantState
from ..roles import PERMISSIONS
from ..tokens import TokenKind
from .room import HearingRoom, hearing_summary
from .rooms import Rooms, hearing_moving

P = ParamSpec("P")
R = TypeVar("R")


def _in_protocol_words(call: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    @functools.wraps(call)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await call(*args, **kwargs)
        except OfferError as exc:
            raise SignalingError("bad_sdp", str(exc)) from None
        except ApiError as exc:
            raise SignalingError(exc.code, exc.message, CLOSE_UNAUTHORIZED if exc.status == 401 else None) \
                from None
        except (RedisError, ConnectionError):
            raise SignalingError("state_unavailable", "the court's shared state is unreachable for a moment; "
                                                      "try again in a few seconds") from None

    return wrapper


class JoinedHearing:
    """One participant's connection to a hearing carried by this node."""

    def __init__(self, court: Court, room: HearingRoom) -> None:
        self.court = court
        self.room = room

    async def connect(self, conn: Connection) -> None:
        await self.room.connect(conn)

    async def disconnect(self, conn: Connection) -> None:
        await self.room.disconnect(conn)

    @_in_protocol_words
    async def offer(self, conn: Connection, sdp: str, sources: dict[str, str] | None) -> str:
        return await self.room.answer_offer(conn, sdp, sources)

    @_in_protocol_words
    async def set_self(self, conn: Connection, *, muted: bool | None = None, camera_on: bool | None = None,
                       hand: bool | None = None) -> None:
        person = await self.court.set_self_state(self.room.hearing_id, conn.participant_id, muted=muted,
                                                 camera_off=None if camera_on is None else not camera_on,
                                                 hand=hand)
        await self.room.set_self_state(person)

    @_in_protocol_words
    async def leave(self, conn: Connection) -> None:
        await self.court.leave(self.room.hearing_id, conn.participant_id)

    @_in_protocol_words
    async def preview(self, conn: Connection, target_id: str, sdp: str) -> str:
        return await self.room.start_preview(conn, target_id, sdp)

    @_in_protocol_words
    async def preview_stop(self, conn: Connection, target_id: str) -> None:
        await self.room.stop_preview(conn.participant_id, target_id)


class CourtGateway:
    def __init__(self, court: Court, rooms: Rooms) -> None:
        self.court = court
        self.rooms = rooms

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self.rooms.http is not None
        return self.rooms.http

    def relay_mark(self, address: str) -> str:
        return self.court.tokens.relay_mark(address)

    @_in_protocol_words
    async def hello(self, token: str, hearing_id: str, name: str, *, relayed: bool,
                    unreachable: set[str]) -> Joined | Elsewhere:
        court, rooms = self.court, self.rooms
        claims = await court.authenticate(token, (TokenKind.STAFF, TokenKind.INVITE, TokenKind.SESSION))
        target = hearing_id if claims.kind is TokenKind.STAFF else claims.hearing
        if rooms.router.shared and target:
            # Several nodes: find (or place) the node that carries the hearing before anything else.
            where = await rooms.locate(await court.hearing(target), may_relay=not relayed, unreachable=unreachable)
            if not isinstance(where, HearingRoom):
                return Elsewhere(where.node_id, where.url)
        # The court decides first; a room is only made for someone it let in.
        session_token = ""
        if claims.kind is TokenKind.STAFF:
            if not hearing_id:
                raise msg.ProtocolError("missing_field", "hello: staff must name the hearing_id")
            person = await court.join_staff(claims, hearing_id)
        elif claims.kind is TokenKind.INVITE:
            person, session_token = await court.enter_lobby(claims, name)
        else:
            person = await court.resume_session(claims)
        where = await rooms.locate(await court.hearing(person.hearing_id), may_relay=False)
        if not isinstance(where, HearingRoom):  # placed elsewhere meanwhile: the participant reconnects
            raise hearing_moving()
        welcome: dict[str, Any] = {
            "state": "admitted" if person.state is ParticipantState.ADMITTED else "lobby",
            "participant": dict(person.public(), stated_name=person.stated_name),
            "hearing": hearing_summary(where.hearing),
            "ice_servers": browser_ice_servers(rooms.settings.media),
            "permissions": sorted(p.value for p in PERMISSIONS.get(claims.role, frozenset()))
            if claims.kind is TokenKind.STAFF else [],
        }
        if session_token:  # back in their seat by their link: the way back in after the next drop
            welcome["session_token"] = session_token
        if person.state is ParticipantState.WAITING and person.returning:
            welcome["returning"] = person.returning
        return Joined(welcome, JoinedHearing(court, where), claims, person)
