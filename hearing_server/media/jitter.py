"""A camera's jitter buffer that gives up on a lost packet, as a browser's does.

aiortc's video JitterBuffer hands a frame on only when every packet before it has arrived, and gives up on a
missing one only once 512 newer packets are waiting. A phone camera on a weak uplink sends perhaps 15
packets a second: one packet lost for good (its retransmission lost too) froze that party's picture in the
hearing and in the record for half a minute. This one waits for a missing packet at most MAX_WAIT seconds;
then it hands on the frame before the gap if that one is whole, drops what is incomplete up to the next
frame that starts after the gap, and asks the camera for a
keyframe (PLI, through aiortc's own path). The frames that follow lack their reference until that keyframe,
and the picture guard (hearing_server.media.receiving) holds the last good picture meanwhile.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

MAX_WAIT = 0.4  # seconds: several round trips for a retransmission, well under a keyframe interval


class GivingUpJitterBuffer(JitterBuffer):
    def __init__(self, capacity: int = 512, max_wait: float = MAX_WAIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(capacity=capacity, is_video=True)
        self.max_wait = max_wait
        self._clock = clock
        self._gap_since: float | None = None
        self.gave_up = 0  # gaps given up on, for tests and the log
        self._newest: int | None = None  # the latest sequence number held: the span a gap can be in

    def add(self, packet: RtpPacket) -> tuple[bool, Optional[JitterFrame]]:
        if self._newest is None or 0 < ((packet.sequence_number - self._newest) & 0xFFFF) < 0x8000:
            self._newest = packet.sequence_number
        pli, frame = super().add(packet)
        if frame is not None or not self._waiting_for_a_missing_packet():
            self._gap_since = None
            return pli, frame
        now = self._clock()
        if self._gap_since is None:
            self._gap_since = now
        elif now - self._gap_since >= self.max_wait:
            self._gap_since = None
            before = self._frame_before_gap()
            if self._skip_past_gap():
                self.gave_up += 1
                return True, before or self._remove_frame(packet.sequence_number)
            return pli, before
        return pli, frame

    def _frame_before_gap(self) -> JitterFrame | None:
        """The frame at the head, if it is whole: aiortc knows a frame has ended only when the next packet
        arrives, and here the next one is the lost one; the marker bit on its last packet says it ended."""
        assert self._origin is not None
        packets: list[RtpPacket] = []
        for count in range(self._capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None or (packets and packet.timestamp != packets[0].timestamp):
                break
            packets.append(packet)
        if not packets or not packets[-1].marker or self._packets[
                (self._origin + len(packets)) % self._capacity] is not None:
            return None
        self.remove(len(packets))
        return JitterFrame(data=b"".join(p._data for p in packets),  # type: ignore[attr-defined]
                           timestamp=packets[0].timestamp)

    def _waiting_for_a_missing_packet(self) -> bool:
        """A slot is empty between the oldest packet held and a newer one: that frame cannot complete."""
        if self._origin is None or self._newest is None:
            return False
        span = (self._newest - self._origin) & 0xFFFF  # a few packets: this runs for most packets received
        if span >= self._capacity:
            return False  # the newest was dropped with an old frame: aiortc's own rules apply
        seen_gap = False
        for count in range(span + 1):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                seen_gap = True
            elif seen_gap:
                return True
        return False

    def _skip_past_gap(self) -> bool:
        """Drop everything before the first frame that starts after the gap; False if none has begun yet."""
        assert self._origin is not None
        seen_gap, after_gap_timestamp = False, None
        for count in range(self._capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                seen_gap = True
                after_gap_timestamp = None  # a second gap: the frame after it is the one to start at
                continue
            if not seen_gap:
                continue
            if after_gap_timestamp is None:
                after_gap_timestamp = packet.timestamp  # its first packets may be what was lost
            elif packet.timestamp != after_gap_timestamp:
                self.remove(count)  # from here on: a frame whose first packet is here
                return True
        return False


def give_up_on_lost_packets(receiver: RTCRtpReceiver) -> None:
    """Before a video receiver starts (its "track" event): its jitter buffer becomes a GivingUpJitterBuffer.
    aiortc's private name; left alone should it change (checked in tests/test_jitter.py)."""
    attribute = "_RTCRtpReceiver__jitter_buffer"
    current = getattr(receiver, attribute, None)
    if isinstance(current, JitterBuffer) and current._is_video and current._origin is None:
        setattr(receiver, attribute, GivingUpJitterBuffer(current.capacity))
