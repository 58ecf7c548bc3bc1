"""GET /api/signal: the upgrade to the signaling WebSocket (docs/signaling.md), then a SignalingSession
that speaks the protocol and asks the court (through CourtGateway) for everything it decides."""

from __future__ import annotations

from aiohttp import web

from signaling.relay import RELAY_HEADER
from signaling.session import SignalingSession, open_by_address

from ..appkeys import COURT, ROOMS, SETTINGS
from ..errors import ApiError
from ..live.gateway import CourtGateway


async def signaling_endpoint(request: web.Request) -> web.WebSocketResponse:
    settings = request.app[SETTINGS].signaling
    mark = request.headers.get(RELAY_HEADER, "")
    relayed = request.app[COURT].tokens.relayed_address(mark) if mark else None
    address = relayed or request.remote or "?"  # a fellow node vouches for the participant's own address
    if open_by_address[address] >= settings.max_connections_per_address:
        raise ApiError(429, "too_many_connections",
                       f"at most {settings.max_connections_per_address} signaling connections from one address")
    # aiohttp drops a frame over max_msg_size by closing the socket; leave headroom so that an oversize
    # message within 4× the limit is answered with an error message instead.
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=settings.max_message_bytes * 4)
    open_by_address[address] += 1  # before the first await: parallel upgrades cannot slip past the cap
    try:
        await ws.prepare(request)
        session = SignalingSession(ws, CourtGateway(request.app[COURT], request.app[ROOMS]), settings)
        session.address = address
        session.relayed_from = (request.remote or "?") if relayed else ""
        await session.run()
    finally:
        open_by_address[address] -= 1
        if not open_by_address[address]:
            del open_by_address[address]
    return ws
