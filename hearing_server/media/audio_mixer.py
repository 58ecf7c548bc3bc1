"""Audio mixing on the hearing clock: a full mix for the record and a mix-minus for each listener.

Everything is 48 kHz mono int16 in 20 ms blocks. Mixing is a few numpy additions per block, cheap enough to
run on the event loop without delaying it measurably.

Each source places its sound on the hearing clock by the sender's timestamps (RTP), anchored when its first
frame arrives plus PLAYOUT_DELAY: a frame arriving after its slot was mixed is dropped (that slot already
played as silence) and a gap stays silent, so neither shifts what follows, and lip sync survives jitter.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import av
import numpy as np

RATE = 48000
BLOCK = 960  # 20 ms
MAX_BUFFER = RATE // 5  # at most 200 ms ahead of the clock per source: a backlog must not add latency
# 20 ms of jitter allowance. The anchor puts a source's sound on the first block boundary at least this long
# after it arrived, so it plays 20-40 ms after arriving and a later frame may be as much later than the
# first and still be heard: no latency that is not also margin.
PLAYOUT_DELAY = RATE // 50
JUMP = RATE  # a frame this late is not jitter: the sender's clock jumped (a restart), so anchor again
WINDOW = RATE  # drift is judged on the earliest arrival of each second
CONTIGUOUS = RATE // 500  # 2 ms: a resampler's delay and rounding, not a gap in the sender's sound
RTP_WRAP = 1 << 32


@dataclass
class _Frame:
    timestamp: int  # the sender's clock, in 48 kHz samples
    samples: np.ndarray
    arrived: float  # monotonic
    timed: bool  # False: no sender timestamp, placed in arrival order


@dataclass
class AudioSource:
    """One microphone: its sound placed on the hearing clock by the sender's timestamps, anchored when its
    first frame arrives, then drained by the mixer block by block."""

    key: str
    participant_id: str
    label: str = ""  # a courtroom microphone's position ("Witness stand"); empty for a person's own mic
    muted: bool = False
    level_dbfs: float = -120.0
    _resampler: av.AudioResampler | None = None
    _pending: list[_Frame] = field(default_factory=list)  # arrived since the last pull
    _pending_samples: int = 0
    # push() runs in the track's decoder thread (see hearing_server.media.receiving), pull() on the event
    # loop: the pending frames are all they share.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # The sound for hearing-clock samples [_position, _position + MAX_BUFFER); zeros where nothing arrived.
    _buffer: np.ndarray = field(default_factory=lambda: np.zeros(MAX_BUFFER, dtype=np.int16))
    _position: int = 0  # the next sample the mixer pulls
    _zero: float | None = None  # monotonic time of the hearing clock's zero, as the pulls show it
    _offset: int | None = None  # hearing clock − sender clock; None until anchored
    _next: int | None = None  # sender clock where the previous frame ended
    _last_pts: int | None = None
    _unwrapped: int = 0
    _window_end: int = 0
    _earliest: int | None = None  # the largest margin any frame of this window arrived with

    def push_frame(self, frame: av.AudioFrame) -> None:
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        timestamp = self._sender_time(frame)
        for out in self._resampler.resample(frame):
            samples = out.to_ndarray().reshape(-1)
            self.push(samples, timestamp)
            timestamp = None if timestamp is None else timestamp + len(samples)

    def _sender_time(self, frame: av.AudioFrame) -> int | None:
        """The frame's start in 48 kHz samples on the sender's clock, carried across RTP's 32-bit wrap."""
        if frame.pts is None or frame.time_base is None:
            return None
        if self._last_pts is None:
            self._unwrapped = frame.pts
        else:
            self._unwrapped += (frame.pts - self._last_pts + RTP_WRAP // 2) % RTP_WRAP - RTP_WRAP // 2
        self._last_pts = frame.pts
        return int(self._unwrapped * frame.time_base * RATE)

    def push(self, samples: np.ndarray, timestamp: int | None = None) -> None:
        """Sound that just arrived; `timestamp` is its start on the sender's clock in 48 kHz samples (None:
        it follows the previous push)."""
        timed = timestamp is not None
        if self._next is not None and (timestamp is None or abs(timestamp - self._next) <= CONTIGUOUS):
            timestamp = self._next  # resampled frames vary by a sample or so; keep them seamless
        elif timestamp is None:
            timestamp = 0
        self._next = timestamp + len(samples)
        frame = _Frame(timestamp, samples.astype(np.int16, copy=False), time.monotonic(), timed)
        with self._lock:
            self._pending.append(frame)
            self._pending_samples += len(samples)
            # Not being pulled (not yet in the mixer): older sound would be late by the first pull anyway.
            while self._pending_samples > MAX_BUFFER and len(self._pending) > 1:
                self._pending_samples -= len(self._pending.pop(0).samples)

    def _take_pending(self) -> list[_Frame]:
        with self._lock:
            pending, self._pending, self._pending_samples = self._pending, [], 0
        return pending

    def pull(self, count: int, position: int | None = None) -> np.ndarray:
        """The `count` samples at `position` on the hearing clock, pulled once the clock reaches it, as the
        mixer does. Without a position (an offline caller: no clock) the samples after the previous pull."""
        if position is None:
            self._place_offline(self._position)
            position = self._position
        else:
            # Never early, so the earliest-looking pull dates the clock best; going back means a new clock.
            zero = time.monotonic() - position / RATE
            if self._zero is None or zero < self._zero or position < self._position:
                self._zero = zero
            self._move_to(position)
            self._place_pending(position)
        if position >= self._window_end and self._earliest is not None:
            # Even the earliest frames come late (drift) or a block earlier than the anchor allowed for (it was
            # itself late, or drift the other way): by whole blocks, a short silence or the oldest sound
            # trimmed, back on the anchor's 20-40 ms. The block between the two is jitter, left alone.
            if self._earliest < PLAYOUT_DELAY // 2 or self._earliest >= PLAYOUT_DELAY + 2 * BLOCK:
                self._shift(-((self._earliest - PLAYOUT_DELAY) // BLOCK) * BLOCK)
            self._earliest = None
            self._window_end = position + WINDOW
        out = self._buffer[:count].copy()
        self._move_to(position + count)
        self.level_dbfs = _dbfs(out)
        return out

    def _place_pending(self, position: int) -> None:
        pending = self._take_pending()
        if not pending:
            return
        assert self._zero is not None
        arrivals = [int((frame.arrived - self._zero) * RATE) for frame in pending]
        newest, arrival = pending[-1], arrivals[-1]
        # Anchored on the newest frame, so a burst of stale frames before it is dropped, not followed.
        if self._offset is None or self._off_clock(newest, self._offset, arrival, position):
            slot = -(-(arrival + PLAYOUT_DELAY) // BLOCK) * BLOCK  # on the block grid: no margin wasted
            self._offset = slot - newest.timestamp
            self._earliest, self._window_end = None, position + WINDOW
        for frame, arrival in zip(pending, arrivals):
            slot = frame.timestamp + self._offset
            margin = self._margin(slot, arrival)
            self._earliest = margin if self._earliest is None else max(self._earliest, margin)
            self._write(slot - position, frame.samples)

    def _place_offline(self, position: int) -> None:
        """No clock to tell when sound arrived (the bench): it plays in timestamp order from the first pull,
        starting again at the clock when it no longer fits."""
        pending = self._take_pending()
        if not pending:
            return
        oldest = pending[0]
        if self._offset is None or not 0 <= oldest.timestamp + self._offset - position < MAX_BUFFER:
            self._offset = position - oldest.timestamp
        for frame in pending:
            self._write(frame.timestamp + self._offset - position, frame.samples)

    def _off_clock(self, frame: _Frame, offset: int, arrival: int, position: int) -> bool:
        """Whether the anchor no longer fits this frame: the sender's clock jumped (a restart), it cannot be
        buffered, or untimed sound resumes after a pause."""
        slot = frame.timestamp + offset
        margin = self._margin(slot, arrival)
        return (margin < -JUMP or slot + len(frame.samples) > position + MAX_BUFFER
                or (not frame.timed and margin < 0))

    @staticmethod
    def _margin(slot: int, arrival: int) -> int:
        """How long before the mixer needs a frame it arrived (negative: too late, at least in part)."""
        return slot // BLOCK * BLOCK - arrival

    def _write(self, start: int, samples: np.ndarray) -> None:
        """Samples from `start` past the next pull; what is already mixed or beyond the buffer is dropped."""
        begin, end = max(start, 0), min(start + len(samples), MAX_BUFFER)
        if begin < end:
            self._buffer[begin:end] = samples[begin - start:end - start]

    def _move_to(self, position: int) -> None:
        step, self._position = position - self._position, position
        if step == 0:
            return
        if 0 < step < MAX_BUFFER:
            self._buffer[:-step] = self._buffer[step:]
            self._buffer[-step:] = 0
        else:  # the mixer skipped ahead (a starved loop) or a new clock: what was buffered is gone
            self._buffer[:] = 0

    def _shift(self, delta: int) -> None:
        """Move everything after the clock by `delta` samples: later leaves a silent gap, earlier drops the
        oldest buffered sound."""
        assert self._offset is not None
        self._offset += delta
        if abs(delta) >= MAX_BUFFER:
            self._buffer[:] = 0
        elif delta > 0:
            self._buffer[delta:] = self._buffer[:-delta].copy()
            self._buffer[:delta] = 0
        elif delta < 0:
            self._buffer[:delta] = self._buffer[-delta:].copy()
            self._buffer[delta:] = 0


def _dbfs(samples: np.ndarray) -> float:
    rms = math.sqrt(float(np.mean(samples.astype(np.float32) ** 2))) if len(samples) else 0.0
    return 20 * math.log10(rms / 32768) if rms > 0 else -120.0


@dataclass
class MixedBlock:
    full: np.ndarray  # everyone, for the record
    minus: dict[str, np.ndarray]  # participant id -> everyone but that participant
    levels: dict[str, float]  # source key -> dBFS of this block (voice activity)
    # participant id -> dBFS of what their microphones put into `full` (absent: nothing, so their
    # mix-minus is exactly `full`)
    own_dbfs: dict[str, float] = field(default_factory=dict)


class AudioMixer:
    def __init__(self) -> None:
        self.sources: dict[str, AudioSource] = {}
        self.silenced = False  # a recess: nothing is heard or recorded

    def remove_source(self, key: str) -> None:
        self.sources.pop(key, None)

    def mix(self, listeners: list[str], position: int | None = None) -> MixedBlock:
        """The block at `position` on the hearing clock (in samples; None: the one after the last)."""
        total = np.zeros(BLOCK, dtype=np.int32)
        own: dict[str, np.ndarray] = {}
        levels: dict[str, float] = {}
        own_dbfs: dict[str, float] = {}
        for source in list(self.sources.values()):
            block = source.pull(BLOCK, position)  # a muted source is pulled too: it stays on the clock
            levels[source.key] = source.level_dbfs
            if source.muted or self.silenced:
                continue
            total += block
            mine = own.get(source.participant_id)
            if mine is None:
                own[source.participant_id] = block.astype(np.int32)
                own_dbfs[source.participant_id] = source.level_dbfs
            else:  # several microphones (the courtroom's): what they add up to is what comes back
                own[source.participant_id] = mine = mine + block
                own_dbfs[source.participant_id] = _dbfs(mine)
        full = np.clip(total, -32768, 32767).astype(np.int16)
        minus = {}
        for listener in listeners:
            mine = own.get(listener)
            minus[listener] = full if mine is None else np.clip(total - mine, -32768, 32767).astype(np.int16)
        return MixedBlock(full, minus, levels, own_dbfs)
