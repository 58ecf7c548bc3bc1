"""Which picture each receiver gets, from what its own link reports.

Three layers of the same composite:

- `main`: the hearing's encode, the one the court records (media.video_bitrate, full size);
- `low`: the same picture at half size, at media.low_layer_bitrate, made only while a receiver is on it;
- `still`: the low layer's keyframes only — while a receiver is on it, the low layer makes one a second — for
  a link that can carry the voice and little else ("audio first").

A receiver's link is judged from what its RTCP says to our sender — the fraction lost in its receiver reports,
the NACKs it sends, and REMB (a browser's estimate of what it receives) — against what its layer really sends
(LayerRates). It goes down one layer after 2 s of a struggling link, and tries the layer above after 10 s of a
clean one; a try that struggles goes back after 1 s, and a try that fails within twice that wait doubles the
wait (up to 80 s), so a link at the edge does not flap. Moves take effect at a keyframe of the new layer (see
CompositeVideoTrack).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

MAIN, LOW, STILL = "main", "low", "still"
ORDER = (STILL, LOW, MAIN)

LOSS_DOWN = 0.10  # a tenth of the packets lost: the layer is too much for this link
LOSS_UP = 0.02
DOWN_AFTER = 2.0  # seconds of a bad link before going down (one bad report is not a link)
# A try up that struggles is given up sooner: the link was already known to be weak, and every second of
# the try is a second of frozen picture for the receiver.
DOWN_AFTER_TRY = 1.0
UP_AFTER = 10.0  # seconds of a good link before trying the layer above; doubled after each failed try
UP_AFTER_MAX = 80.0
NACK_DOWN = 0.10  # NACKed packets as a share of the packets the layer sends
# A receive-side REMB is bounded by what arrives (Chrome's: 1.5 × the incoming rate), so it can only say
# that a link carries less than it is sent, never that it could carry more: a REMB below this share of
# the layer's own rate means the link is full. Going up is by trying. Half, not more: aiortc's receivers'
# estimates run well below what they receive without loss (seen: 400 kbit/s for a clean 600 kbit/s).
REMB_DOWN = 0.5
# Receivers report at least once a second (RTCP); none for this long means its reports are stuck behind
# its own camera on a full uplink, or lost on a full downlink: the link is struggling either way.
SILENT_AFTER = 3.5


class LayerRates:
    """What each layer actually sends (bits and packets a second), measured by the mixer: a plain picture
    needs a fraction of video_bitrate, and a link is judged against what it is really given."""

    def __init__(self, window: float = 2.0, still_window: float = 4.0) -> None:
        self.windows = {MAIN: window, LOW: window, STILL: max(window, still_window)}
        self._sent: dict[str, deque[tuple[float, int]]] = {MAIN: deque(), LOW: deque(), STILL: deque()}

    def sent(self, layer: str, now: float, sizes: list[int]) -> None:
        samples = self._sent[layer]
        samples.extend((now, size) for size in sizes)
        while samples and now - samples[0][0] > self.windows[layer]:
            samples.popleft()

    def bps(self, layer: str) -> float:
        return sum(size for _, size in self._sent[layer]) * 8 / self.windows[layer]

    def packets_per_second(self, layer: str) -> float:
        # RTP packets: a video packet of at most ~1200 bytes of payload
        return sum(max(1, -(-size // 1200)) for _, size in self._sent[layer]) / self.windows[layer]


@dataclass
class LinkReport:
    """What one receiver's RTCP said about the link to it, lately."""

    remb_bps: int | None = None
    fraction_lost: float = 0.0
    nacks: deque[tuple[float, int]] = field(default_factory=deque)  # (when, packets asked for)

    def nack_rate(self, now: float, window: float = 2.0) -> float:
        while self.nacks and now - self.nacks[0][0] > window:
            self.nacks.popleft()
        return sum(count for _, count in self.nacks) / window


class LayerChooser:
    """One receiver's layer. `clock` is injectable for tests."""

    def __init__(self, rates: LayerRates, clock: Callable[[], float] = time.monotonic) -> None:
        self.rates = rates
        self.layer = MAIN
        self.report = LinkReport()
        self._clock = clock
        self._bad_since: float | None = None
        self._good_since: float | None = None
        self._up_after = UP_AFTER
        self._tried_up_at: float | None = None  # when we last went up: a failure soon after backs off
        self._heard: float | None = None  # the receiver's last RTCP (None: not yet; it is not judged silent)
        self.why = ""  # what made the last move, for the log

    def remb(self, bps: int) -> None:
        self.report.remb_bps = bps
        self._heard = self._clock()

    def receiver_report(self, fraction_lost: int) -> None:
        """`fraction_lost` as RTCP carries it: lost/256 since the last report."""
        self.report.fraction_lost = fraction_lost / 256
        self._heard = self._clock()

    def nack(self, packets: int) -> None:
        self._heard = self._clock()
        self.report.nacks.append((self._heard, packets))

    def _struggling(self, now: float) -> str:
        """Why this receiver's link cannot carry its layer ("" when it can), for the move and the log."""
        if self.layer == STILL:
            return ""  # nothing below it: the voice goes on, a picture now and then
        if self._heard is not None and now - self._heard >= SILENT_AFTER:
            return f"no report for {now - self._heard:.1f} s"
        if self.report.fraction_lost >= LOSS_DOWN:
            return f"{self.report.fraction_lost:.0%} lost"
        sent = self.rates.packets_per_second(self.layer)
        nacked = self.report.nack_rate(now)
        if sent and nacked >= NACK_DOWN * sent:
            return f"{nacked:.0f} of {sent:.0f} packets a second asked again"
        remb, rate = self.report.remb_bps, self.rates.bps(self.layer)
        if remb is not None and rate > 0 and remb < REMB_DOWN * rate:
            return f"estimate {remb // 1000} kbit/s for {rate / 1000:.0f} kbit/s sent"
        return ""

    def _clean(self, now: float) -> bool:
        heard = self._heard is None or now - self._heard < SILENT_AFTER
        return heard and self.report.fraction_lost <= LOSS_UP and self.report.nack_rate(now) == 0

    def choose(self) -> str:
        """The layer this receiver should be on now (call it a few times a second)."""
        now = self._clock()
        index = ORDER.index(self.layer)
        trouble = self._struggling(now)
        if trouble:
            self._good_since = None
            self._bad_since = self._bad_since if self._bad_since is not None else now
            trying = self._tried_up_at is not None and now - self._tried_up_at < 2 * self._up_after
            if now - self._bad_since >= (DOWN_AFTER_TRY if trying else DOWN_AFTER):
                if self._tried_up_at is not None and now - self._tried_up_at < 2 * self._up_after:
                    self._up_after = min(UP_AFTER_MAX, self._up_after * 2)  # the try up failed: wait longer
                self._tried_up_at = None
                self.layer = ORDER[index - 1]
                self.why = trouble
                self._bad_since = None
                self.report.fraction_lost = 0.0  # that report was about the layer we left
                self.report.nacks.clear()
                if self._heard is not None:
                    self._heard = now  # give the lighter layer time to let the reports through
            return self.layer
        self._bad_since = None
        if index + 1 < len(ORDER) and self._clean(now):
            self._good_since = self._good_since if self._good_since is not None else now
            if now - self._good_since >= self._up_after:
                self.layer = ORDER[index + 1]
                self.why = f"clean for {now - self._good_since:.0f} s"
                self._good_since = None
                self._tried_up_at = now
        else:
            self._good_since = None
        if self._tried_up_at is not None and now - self._tried_up_at >= 2 * self._up_after:
            self._tried_up_at = None  # the layer held: the next step down starts with a short wait again
            self._up_after = UP_AFTER
        return self.layer
