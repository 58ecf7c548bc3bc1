"""Which lost packets a receiver of the composite is sent again.

aiortc answers every NACK with the packet, as often as it is asked and at once. On a link that loses
packets because it is full, that adds load exactly where there is no room: a phone at 600 kbit/s sent
480 NACKs a second for a layer of 38 packets a second, and each was answered. Here a receiver gets again:

- only packets of the layer it is on: after a move its decoder starts afresh at the new layer's keyframe,
  and what was lost before that is of no use to it (a browser goes on asking for it for a while);
- each packet at most MAX_TRIES times, and not again within MIN_INTERVAL (a browser asks every round trip);
- within its estimate: what its layer sends and what is sent again stay under its REMB, but at least
  RTX_FLOOR of the layer may be sent again, so that a single loss on a full link is still repaired (without
  an estimate: RTX_SHARE of the layer). What is over the budget is not sent; the receiver's decoder waits
  for the layer's next keyframe instead.

Retransmissions are sent from aiortc's RTCP handler, on the connection's receive path: they are dropped,
never delayed, so that the party's own voice coming in is not held up behind them.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from aiortc import RTCRtpSender
from aiortc.rtcrtpsender import RTP_HISTORY_SIZE

log = logging.getLogger(__name__)

MAX_TRIES = 2
MIN_INTERVAL = 0.1  # seconds
RTX_SHARE = 0.3
RTX_FLOOR = 0.1
BURST_SECONDS = 0.25  # how much of a second's budget may go at once
MAX_PACKET = 1300  # bytes: aiortc's largest video packet and its overhead
RTP_OVERHEAD = 50  # bytes a packet carries besides its payload (IP, UDP, SRTP, RTP and RTX headers)


def _newer(a: int, b: int) -> bool:
    """a is later than b on the 32-bit RTP clock (which wraps)."""
    return a != b and ((a - b) & 0xFFFFFFFF) < 0x80000000


class RetransmitBudget:
    """The decisions, on a clock a test can drive; RetransmitGate applies them to an aiortc sender."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.boundary: int | None = None  # RTP timestamp of the last frame sent before the last layer move
        self._tries: dict[int, tuple[int, float]] = {}  # sequence number → (times sent again, when last)
        self._tokens = 0.0
        self._filled_at: float | None = None
        self.sent = self.refused = 0  # for the log and the bench

    def moved(self, last_timestamp: int | None) -> None:
        """The receiver's layer changed after the frame with this RTP timestamp: what came before is stale."""
        self.boundary = last_timestamp
        self._tries.clear()

    def current(self, timestamp: int) -> bool:
        """A packet with this RTP timestamp belongs to the layer the receiver is on."""
        return self.boundary is None or _newer(timestamp, self.boundary)

    def allow(self, sequence_number: int, timestamp: int, size: int, budget_bps: float) -> bool:
        now = self._clock()
        if not self.current(timestamp):
            self.refused += 1
            return False
        tries, last = self._tries.get(sequence_number, (0, -MIN_INTERVAL))
        if tries >= MAX_TRIES or now - last < MIN_INTERVAL:
            self.refused += 1
            return False
        rate = budget_bps / 8  # bytes a second
        depth = max(rate * BURST_SECONDS, MAX_PACKET)  # a slow layer's packet must still fit
        if self._filled_at is not None:
            self._tokens = min(depth, self._tokens + (now - self._filled_at) * rate)
        else:
            self._tokens = depth
        self._filled_at = now
        if size > self._tokens:
            self.refused += 1
            return False
        self._tokens -= size
        self._tries[sequence_number] = (tries + 1, now)
        if len(self._tries) > RTP_HISTORY_SIZE:
            self._tries.pop(next(iter(self._tries)))  # the oldest: long out of aiortc's history anyway
        self.sent += 1
        return True


def budget_bps(layer_bps: float, estimate_bps: int | None) -> float:
    """What a receiver's retransmissions may use: see the module's docstring."""
    if estimate_bps is None:
        return RTX_SHARE * layer_bps
    return max(estimate_bps - layer_bps, RTX_FLOOR * layer_bps)


class RetransmitGate:
    """Installs RetransmitBudget on one aiortc sender of the composite.

    aiortc keeps what it sent in a private history (RTCRtpSender.__rtp_history, by sequence number) and the
    RTP timestamp of the last frame it sent; both are read here, where its API offers nothing."""

    def __init__(self, sender: RTCRtpSender, budget: Callable[[], float],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sender = sender
        self.decide = RetransmitBudget(clock)
        self._budget = budget
        self._asked: dict[int, None] = {}  # sequence numbers NACKed so far (oldest first), to count each once
        original = sender._retransmit

        async def retransmit(sequence_number: int) -> None:
            packet = self._sent(sequence_number)
            if packet is None:
                return  # long gone from the history: aiortc would not find it either
            if self.decide.allow(sequence_number, packet.timestamp, len(packet.payload) + RTP_OVERHEAD,
                                 self._budget()):
                await original(sequence_number)

        sender._retransmit = retransmit  # type: ignore[method-assign]

    def _sent(self, sequence_number: int) -> Any:
        history = getattr(self.sender, "_RTCRtpSender__rtp_history", {})
        packet = history.get(sequence_number % RTP_HISTORY_SIZE)
        return packet if packet is not None and packet.sequence_number == sequence_number else None

    def current(self, lost: list[int]) -> int:
        """How many of these NACKed packets are newly lost from the receiver's layer: a packet asked for again
        (a browser asks every round trip until it comes) is one loss, and the old layer's say nothing."""
        count = 0
        for sequence_number in lost:
            packet = self._sent(sequence_number)
            if packet is None or not self.decide.current(packet.timestamp) or sequence_number in self._asked:
                continue
            self._asked[sequence_number] = None
            if len(self._asked) > RTP_HISTORY_SIZE:
                self._asked.pop(next(iter(self._asked)))
            count += 1
        return count

    def layer_moving(self) -> None:
        """Called just before the first packet of the new layer is handed to the sender."""
        sent_any = getattr(self.sender, "_RTCRtpSender__packet_count", 0) > 0
        self.decide.moved(getattr(self.sender, "_RTCRtpSender__rtp_timestamp", None) if sent_any else None)
