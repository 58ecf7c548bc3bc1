"""Audio mixing on the hearing clock: a full mix for the record and a mix-minus for each listener.

Everything is 48 kHz mono int16 in 20 ms blocks. Mixing is a few numpy additions per block, cheap enough to
run on the event loop without delaying it measurably.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import av
import numpy as np

RATE = 48000
BLOCK = 960  # 20 ms
MAX_BUFFER = RATE // 5  # keep at most 200 ms per source: a stalled source must not add latency forever


@dataclass
class AudioSource:
    """One microphone: a short jitter buffer the network fills and the mixer drains."""

    key: str
    participant_id: str
    label: str = ""  # a courtroom microphone's position ("Witness stand"); empty for a person's own mic
    muted: bool = False
    level_dbfs: float = -120.0
    _chunks: list[np.ndarray] = field(default_factory=list)
    _buffered: int = 0
    _resampler: av.AudioResampler | None = None

    def push_frame(self, frame: av.AudioFrame) -> None:
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        for out in self._resampler.resample(frame):
            self.push(out.to_ndarray().reshape(-1))

    def push(self, samples: np.ndarray) -> None:
        self._chunks.append(samples.astype(np.int16, copy=False))
        self._buffered += len(samples)
        while self._buffered > MAX_BUFFER and self._chunks:
            dropped = self._chunks.pop(0)
            self._buffered -= len(dropped)

    def pull(self, count: int) -> np.ndarray:
        out = np.zeros(count, dtype=np.int16)
        filled = 0
        while filled < count and self._chunks:
            chunk = self._chunks[0]
            take = min(count - filled, len(chunk))
            out[filled:filled + take] = chunk[:take]
            filled += take
            if take == len(chunk):
                self._chunks.pop(0)
            else:
                self._chunks[0] = chunk[take:]
        self._buffered -= filled
        # Missing samples stay zero: a gap is silence on the clock, never a shift of what follows.
        rms = math.sqrt(float(np.mean(out.astype(np.float32) ** 2))) if count else 0.0
        self.level_dbfs = 20 * math.log10(rms / 32768) if rms > 0 else -120.0
        return out


@dataclass
class MixedBlock:
    full: np.ndarray  # everyone, for the record
    minus: dict[str, np.ndarray]  # participant id -> everyone but that participant
    levels: dict[str, float]  # source key -> dBFS of this block (voice activity)


class AudioMixer:
    def __init__(self) -> None:
        self.sources: dict[str, AudioSource] = {}
        self.silenced = False  # a recess: nothing is heard or recorded

    def remove_source(self, key: str) -> None:
        self.sources.pop(key, None)

    def mix(self, listeners: list[str]) -> MixedBlock:
        total = np.zeros(BLOCK, dtype=np.int32)
        own: dict[str, np.ndarray] = {}
        levels: dict[str, float] = {}
        for source in list(self.sources.values()):
            block = source.pull(BLOCK)  # always drain, so a muted source does not build up a backlog
            levels[source.key] = source.level_dbfs
            if source.muted or self.silenced:
                continue
            total += block
            mine = own.get(source.participant_id)
            own[source.participant_id] = block.astype(np.int32) if mine is None else mine + block
        full = np.clip(total, -32768, 32767).astype(np.int16)
        minus = {}
        for listener in listeners:
            mine = own.get(listener)
            minus[listener] = full if mine is None else np.clip(total - mine, -32768, 32767).astype(np.int16)
        return MixedBlock(full, minus, levels)
