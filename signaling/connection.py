"""One participant's signaling connection: an ordered, bounded outbox over an aiohttp WebSocket."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

# Close codes in the 4000 range are ours (docs/signaling.md lists them).
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_REPLACED = 4409
CLOSE_REMOVED = 4410
CLOSE_HEARING_CLOSED = 4411
CLOSE_SLOW_CONSUMER = 4429
CLOSE_POLICY = 1008
CLOSE_GOING_AWAY = 1001
CLOSE_MEDIA_RESTARTING = 1012  # "service restart": the hearing's media moved to another worker; come back


class Connection:
    def __init__(self, ws: web.WebSocketResponse, queue_size: int) -> None:
        self.ws = ws
        # Set by the server once the hello is accepted: its Claims and Participant (signaling does not
        # need their shape, the live room does).
        self.claims: Any = None
        self.participant: Any = None
        self._outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=queue_size)
        self._writer = asyncio.create_task(self._write(), name="signaling-writer")
        self.closing = False

    @property
    def participant_id(self) -> str:
        return self.participant.id if self.participant else ""

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message; never blocks the caller (a broadcast must not wait on one slow phone)."""
        if self.closing:
            return
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("participant %s is not reading its messages; closing", self.participant_id)
            self.close(CLOSE_SLOW_CONSUMER, "too many unread messages")

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close with `code`."""
        if self.closing:
            return
        self.closing = True
        self._close_code = (code, reason)
        try:
            self._outbox.put_nowait(None)
        except asyncio.QueueFull:
            self._writer.cancel()
            asyncio.create_task(self.ws.close(code=code, message=reason.encode()[:120]))

    async def _write(self) -> None:
        try:
            while True:
                message = await self._outbox.get()
                if message is None:
                    code, reason = self._close_code
                    await self.ws.close(code=code, message=reason.encode()[:120])
                    return
                await self.ws.send_json(message)
        except (ConnectionResetError, RuntimeError):
            pass  # the peer went away; the reader notices and cleans up

    async def finish(self) -> None:
        """Let a queued close (with its last messages) go out, then stop the writer."""
        if not self.closing:
            self.closing = True
            self._writer.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), 2.0)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
