"""A participant whose WebSocket reached a node that does not carry their hearing: relayed, never refused.

The node opens a WebSocket of its own to the carrier's front (NodeInfo.url), hands it the participant's
hello unchanged and then copies every frame both ways, so the carrier sees the same client protocol and
decides everything (court rules, media, roster). Only signaling passes here: the media goes straight to
the carrier's ICE candidates. When either side closes, the other is closed with the same code, so that a
"reconnect" (1012) or a removal (4410) reaches the participant as the carrier meant it.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import WSMsgType, web

from .connection import CLOSE_MEDIA_RESTARTING

log = logging.getLogger(__name__)

# A node relaying a WebSocket or an API call to the node that carries the hearing marks it with this header
# (the participant's address, signed with the court's secret): the carrier never relays it again.
RELAY_HEADER = "X-Courtroom-Relay"
CONNECT_SECONDS = 5.0
_CLOSING = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)


def _sendable(code: int | None) -> int:
    # 1005/1006/1015 describe a close, they are never sent; a carrier that vanished means "come back".
    if code is None or code in (1005, 1006, 1015) or not (1000 <= code <= 4999):
        return CLOSE_MEDIA_RESTARTING
    return code


async def _copy(source: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
                sink: aiohttp.ClientWebSocketResponse | web.WebSocketResponse) -> None:
    while True:
        frame = await source.receive()
        if frame.type in _CLOSING:
            return
        if frame.type is WSMsgType.TEXT:
            await sink.send_str(frame.data)
        elif frame.type is WSMsgType.BINARY:
            await sink.send_bytes(frame.data)


class CarrierUnreachable(Exception):
    """The node that holds the hearing's lease does not answer (it may have just died)."""


async def open_upstream(carrier_url: str, mark: str, http: aiohttp.ClientSession,
                        max_msg_size: int) -> aiohttp.ClientWebSocketResponse:
    try:
        return await http.ws_connect(f"{carrier_url}/api/signal", headers={RELAY_HEADER: mark}, heartbeat=20.0,
                                     max_msg_size=max_msg_size,
                                     timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0))
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        log.warning("relay to %s failed: %s", carrier_url, exc)
        raise CarrierUnreachable(str(exc)) from None


async def relay(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse,
                hello: str | bytes) -> None:
    """Copy the participant's signaling to and from the carrier until either side ends it."""
    try:
        if isinstance(hello, str):
            await upstream.send_str(hello)
        else:
            await upstream.send_bytes(hello)
        down = asyncio.create_task(_copy(upstream, client), name="relay-down")
        up = asyncio.create_task(_copy(client, upstream), name="relay-up")
        try:
            await asyncio.wait({down, up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (down, up):
                task.cancel()
            await asyncio.gather(down, up, return_exceptions=True)
    except (aiohttp.ClientError, ConnectionError) as exc:
        log.info("relay ended: %s", exc)
    finally:
        if not client.closed:
            await client.close(code=_sendable(upstream.close_code), message=b"relayed")
        if not upstream.closed:
            await upstream.close(code=_sendable(client.close_code) if client.close_code else 1000)
