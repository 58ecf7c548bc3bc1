"""Synthetic devices: a test card for cameras and a tone for microphones, for demos, tests and a courtroom
PC whose devices are not wired yet. They pace themselves on the wall clock like a real device would.
"""

from __future__ import annotations

import functools
import math
import time
import unicodedata
import zlib

import cv2
import numpy as np

RATE = 48000
BLOCK = 960  # 20 ms

# The name band across the middle of the picture: the part a viewer (and a test) reads.
BAND_TOP, BAND_BOTTOM = 0.36, 0.64
BAND_BGR = (24, 24, 24)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def parse_color(color: str | tuple[int, int, int] | None, name: str) -> tuple[int, int, int]:
    """BGR from '#rrggbb', or a muted colour of the name's own, so two test cameras never look alike."""
    if isinstance(color, tuple):
        return color
    if color:
        r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
        return (b, g, r)
    hue = zlib.crc32(name.encode("utf-8")) % 180
    hsv = np.array([[[hue, 140, 150]]], dtype=np.uint8)
    b, g, r = (int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])
    return (b, g, r)


def band_rows(height: int) -> tuple[int, int]:
    return int(height * BAND_TOP), int(height * BAND_BOTTOM)


def _ascii(text: str) -> str:
    # OpenCV's Hershey fonts draw ASCII only: "Zeugenstand Öst" becomes "Zeugenstand Ost", not "?".
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii") or "?"


@functools.lru_cache(maxsize=32)
def _card(name: str, width: int, height: int, bgr: tuple[int, int, int]) -> np.ndarray:
    """The still part: background colour and the name, white, large and centred on a dark band."""
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = bgr
    top, bottom = band_rows(height)
    image[top:bottom] = BAND_BGR
    text = _ascii(name)
    (w, h), _ = cv2.getTextSize(text, FONT, 1.0, 2)
    scale = min(0.9 * width / w, 0.55 * (bottom - top) / h)
    thickness = max(1, round(scale * 2))
    (w, h), _ = cv2.getTextSize(text, FONT, scale, thickness)
    origin = ((width - w) // 2, (top + bottom + h) // 2)
    cv2.putText(image, text, origin, FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    image.setflags(write=False)
    return image


def synthetic_picture(name: str, width: int, height: int, t: float,
                      color: str | tuple[int, int, int] | None = None) -> np.ndarray:
    """One frame of a synthetic camera at `t` seconds: BGR, `height` x `width`.

    Above the name band a bar sweeps across and a clock runs; below it a ball bounces: a frozen picture is
    visible at a glance. The band itself does not depend on `t`, so a test can look for it."""
    image = _card(name, width, height, parse_color(color, name)).copy()
    top, bottom = band_rows(height)
    bar = max(2, width // 40)
    x = int((t / 4.0 % 1.0) * (width + bar)) - bar
    image[: max(1, top - 2), max(0, x): max(0, x + bar)] = (235, 235, 235)
    small = max(0.35, height / 720)
    cv2.putText(image, f"{t:9.2f} s", (max(4, width // 60), max(12, int(top * 0.45))), FONT, small,
                (255, 255, 255), max(1, round(small * 2)), cv2.LINE_AA)
    radius = max(3, (height - bottom) // 4)
    phase = (t / 3.0) % 2.0
    cx = int(radius + (width - 2 * radius) * (phase if phase < 1 else 2 - phase))
    cv2.circle(image, (cx, (bottom + height) // 2), radius, (40, 220, 240), -1, cv2.LINE_AA)
    return image


class SyntheticVideoReader:
    """A test card at the configured frame rate, paced by the wall clock as a camera's sensor is."""

    def __init__(self, name: str, width: int, height: int, fps: int, color: str | None) -> None:
        self.name, self.width, self.height = name, width, height
        self.interval = 1.0 / fps
        self.color = parse_color(color, name)
        self.started = time.monotonic()
        self.next_at = self.started

    def read(self) -> np.ndarray:
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        now = time.monotonic()
        self.next_at = max(self.next_at + self.interval, now - self.interval)
        return synthetic_picture(self.name, self.width, self.height, now - self.started, self.color)

    def close(self) -> None:
        pass


class SyntheticAudioReader:
    """A steady sine per channel (voice activity detection sees a talker), optionally in bursts.

    `level` is the tone's RMS in dBFS, the same measure as the server's level meter; -12 dBFS is a
    clearly talking microphone without clipping."""

    def __init__(self, options: dict[str, str]) -> None:
        self.channels = int(options.get("channels", "1"))
        tones = [float(t) for t in options.get("tones", options.get("tone", "440")).split("/")]
        self.tones = np.array(tones * self.channels if len(tones) == 1 else tones, dtype=np.float64)
        self.amplitude = 32768 * 10 ** (float(options.get("level", "-12")) / 20) * math.sqrt(2)
        self.on, self.off = float(options.get("on", "0")), float(options.get("off", "0"))
        self.sample = 0
        self.started = time.monotonic()

    def read(self) -> np.ndarray:
        """The next 20 ms, (960, channels) int16, not before its time."""
        due = self.started + self.sample / RATE
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        elif now - due > 0.2:
            # The thread was held up (a suspended laptop): start afresh rather than catch up in a burst.
            self.started, self.sample = now, 0
        n = np.arange(self.sample, self.sample + BLOCK, dtype=np.float64)
        self.sample += BLOCK
        wave = np.sin(2 * np.pi * np.outer(n / RATE, self.tones)) * self.amplitude
        if self.off > 0:
            wave *= ((n / RATE) % (self.on + self.off) < self.on)[:, None]
        return wave.astype(np.int16)

    def close(self) -> None:
        pass
