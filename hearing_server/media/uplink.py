"""Asking a participant's camera to send less, when their link is weak.

A phone whose link cannot carry the hearing's picture usually cannot carry its own camera either: its video
fills its uplink, and its voice and its RTCP (the very reports that tell us the link is weak) queue behind it.
Our receiver of their camera tells their sender the most it may send with REMB (RFC draft-alvestrand-rmcat-
remb, which browsers and aiortc honour when `goog-remb` is negotiated, as the server's answers do):

- aiortc's own REMB, from its receive-side estimate, is clamped to the cap;
- while a cap is set, a REMB at the cap goes out every second in any case (a receiver without abs-send-time
  has no estimate of its own, and a new cap must not wait for one).

The party's page is also told the cap in the `link` message and lowers its encoder's maxBitrate itself.
"""

from __future__ import annotations

import asyncio
import logging

from aiortc import RTCRtpReceiver
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci

log = logging.getLogger(__name__)

# What a participant's camera may send us while they receive each layer of the composite (bits a second).
CAPS = {"main": None, "low": 250_000, "still": 100_000}
REFRESH_SECONDS = 1.0


class UplinkCap:
    def __init__(self, receiver: RTCRtpReceiver) -> None:
        self.receiver = receiver
        self.cap: int | None = None
        self._task: asyncio.Task | None = None
        send = receiver._send_rtcp

        async def clamped(packet: object) -> None:
            if self.cap is not None and isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                try:
                    bitrate, ssrcs = unpack_remb_fci(packet.fci)
                except ValueError:
                    pass
                else:
                    if bitrate > self.cap:
                        packet.fci = pack_remb_fci(self.cap, ssrcs)
            await send(packet)  # type: ignore[arg-type]

        receiver._send_rtcp = clamped  # type: ignore[method-assign]

    def set(self, cap: int | None) -> None:
        if cap == self.cap:
            return
        self.cap = cap
        if cap is not None and self._task is None:
            self._task = asyncio.create_task(self._refresh(), name="uplink-cap")
        elif cap is None and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _refresh(self) -> None:
        while self.cap is not None:
            rtcp_ssrc = getattr(self.receiver, "_RTCRtpReceiver__rtcp_ssrc", None)
            ssrcs = [source.source for source in self.receiver.getSynchronizationSources()]
            if rtcp_ssrc is not None and ssrcs:
                packet = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0,
                                        fci=pack_remb_fci(self.cap, ssrcs))
                try:
                    await self.receiver._send_rtcp(packet)
                except Exception:  # a closing transport: the next tick or the close ends it
                    log.debug("could not send the uplink cap", exc_info=True)
            await asyncio.sleep(REFRESH_SECONDS)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
