"""Participants that make known marks at known instants: a 1 kHz beep, a white flash."""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


class BeepTrack(MediaStreamTrack):
    """Silence, except a 1 kHz beep from wall-clock time `at` for `length` seconds."""

    kind = "audio"

    def __init__(self, at: float, length: float = 0.4, frequency: float = 1000.0) -> None:
        super().__init__()
        self.at, self.length, self.frequency = at, length, frequency
        self._start: float | None = None
        self._samples = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        due = self._start + self._samples / 48000
        if due > time.time():
            await asyncio.sleep(due - time.time())
        t = due + np.arange(960) / 48000
        on = (t >= self.at) & (t < self.at + self.length)
        samples = np.where(on, 0.5 * 32767 * np.sin(2 * math.pi * self.frequency * t), 0).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, 48000)
        self._samples += 960
        return frame


class FlashTrack(MediaStreamTrack):
    """A dark picture that turns white from wall-clock time `at` for `length` seconds."""

    kind = "video"

    def __init__(self, at: float, length: float = 0.5, fps: int = 30) -> None:
        super().__init__()
        self.at, self.length, self.fps = at, length, fps
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        due = self._start + self._count / self.fps
        if due > time.time():
            await asyncio.sleep(due - time.time())
        white = self.at <= due < self.at + self.length
        image = np.full((360, 640, 3), 255 if white else 30, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self._count * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        self._count += 1
        return frame


def find_beep(path: str, threshold: float = 0.1) -> float | None:
    with av.open(path) as container:
        for frame in container.decode(audio=0):
            samples = frame.to_ndarray()[0]
            loud = np.flatnonzero(np.abs(samples) > threshold)
            if loud.size:
                return float(frame.pts * frame.time_base) + loud[0] / frame.sample_rate
    return None


def find_flash(path: str, region: tuple[slice, slice] | None = None) -> float | None:
    """Time of the first frame whose brightest tile is mostly white."""
    with av.open(path) as container:
        for frame in container.decode(video=0):
            gray = frame.to_ndarray(format="gray")
            if region is not None:
                gray = gray[region]
            if (gray > 200).mean() > 0.15:
                return float(frame.pts * frame.time_base)
    return None
