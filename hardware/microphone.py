"""Courtroom microphones: one capture thread per audio device, feeding every microphone wired to one of its
channels, and the aiortc tracks that carry each microphone into the hearing.

A track delivers 20 ms of 48 kHz mono every 20 ms of wall clock whatever the device does: while the device
is down it delivers silence, which keeps RTP flowing and the hearing's clock honest.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .audio import open_audio_reader
from .capture import STALL_SECONDS, DeviceError, Health, Plug, Registry, log
from .config import MicrophoneConfig, parse_source
from .synthetic import BLOCK, RATE

TIME_BASE = Fraction(1, RATE)
MAX_BUFFER = RATE * 3 // 20  # 150 ms: a device whose clock runs fast loses old samples, never adds lag
# 40 ms of samples in hand before a track plays (at its start and after running dry): a device delivers in
# periods, a little late now and then, and a short steady delay sounds better than a stutter at each.
PREBUFFER = RATE // 25
CATCH_UP = 0.2  # a receiver this far behind the clock skips ahead instead of taking a burst


class AudioDevice:
    """One audio input (a USB microphone, or an 8-channel interface) read by one thread."""

    def __init__(self, source: str, sample_rate: int, retry_seconds: float, channels: int | None = None,
                 names: tuple[str, ...] = ()) -> None:
        self.source_text = source
        self.source = parse_source(source, "microphone")
        self.sample_rate = sample_rate
        self.retry_seconds = retry_seconds
        self.plug = Plug()
        self._names = list(names)
        self.health = Health(self._describe(self._names), retry_seconds)
        self.channels = 0  # what the open device gives; 0 until it is open
        self._wanted_channels = channels
        self._reopen = threading.Event()
        self._tracks: set[MicrophoneTrack] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"microphone {source}", daemon=True)

    def _describe(self, names: tuple[str, ...] | list[str]) -> str:
        if not names:
            return f"microphone device {self.source_text!r}"
        return f"microphone {', '.join(repr(n) for n in names)} ({self.source_text})"

    @property
    def online(self) -> bool:
        return self.health.online

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closing.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def want_channel(self, channel: int | None) -> None:
        """Ask the device for at least this many inputs; an open device with fewer is opened again."""
        if channel is None or (self._wanted_channels or 0) >= channel:
            return
        self._wanted_channels = channel
        if 0 < self.channels < channel and not self.source.simulated:
            self._reopen.set()

    def subscribe(self, track: MicrophoneTrack) -> None:
        with self._lock:
            self._tracks.add(track)
        if track.label not in self._names:
            self._names.append(track.label)
            self.health.what = self._describe(self._names)
        self.want_channel(track.config.channel)

    def unsubscribe(self, track: MicrophoneTrack) -> None:
        with self._lock:
            self._tracks.discard(track)

    def _run(self) -> None:
        while not self._closing.is_set():
            reason = self._capture()
            if self._closing.is_set():
                break
            if reason == "reopen":
                continue
            self.channels = 0
            self.health.down(reason)
            with self._lock:
                tracks = list(self._tracks)
            for track in tracks:  # sound from before the outage must not play after it
                track._buffer.clear()
            self._closing.wait(self.retry_seconds)

    def _capture(self) -> str:
        self._reopen.clear()
        try:
            self.plug.check()
            reader = open_audio_reader(self.source, self.sample_rate, self._wanted_channels)
        except DeviceError as exc:
            return str(exc)
        except Exception as exc:
            log.debug("opening %s failed", self.source_text, exc_info=True)
            return f"cannot open it: {type(exc).__name__}: {exc}"
        try:
            last = time.monotonic()
            while not self._closing.is_set():
                self.plug.check()
                if self._reopen.is_set():
                    return "reopen"
                block = reader.read()
                now = time.monotonic()
                if block is None or not len(block):
                    if now - last > STALL_SECONDS:
                        return f"no sound for {STALL_SECONDS:g} s"
                    continue
                last = now
                self.channels = block.shape[1]
                self.health.up()
                with self._lock:
                    tracks = list(self._tracks)
                for track in tracks:
                    track._push(block)
            return "closed"
        except DeviceError as exc:
            return str(exc)
        except Exception as exc:
            log.debug("reading %s failed", self.source_text, exc_info=True)
            return f"reading failed: {type(exc).__name__}: {exc}"
        finally:
            try:
                reader.close()
            except Exception:
                log.debug("closing %s failed", self.source_text, exc_info=True)


class SampleBuffer:
    """Samples on their way from the device thread to the track's clock (thread-safe)."""

    def __init__(self) -> None:
        self._chunks: deque[np.ndarray] = deque()
        self._size = 0
        self._primed = False
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._size = 0
            self._primed = False

    def push(self, samples: np.ndarray) -> None:
        with self._lock:
            self._chunks.append(samples)
            self._size += len(samples)
            self._trim(MAX_BUFFER)

    def keep_latest(self, count: int) -> None:
        with self._lock:
            self._trim(count)

    def _trim(self, limit: int) -> None:
        while self._size > limit and self._chunks:
            extra = self._size - limit
            head = self._chunks[0]
            if len(head) <= extra:
                self._chunks.popleft()
                self._size -= len(head)
            else:
                self._chunks[0] = head[extra:]
                self._size -= extra

    def pull(self, count: int) -> np.ndarray:
        out = np.zeros(count, dtype=np.int16)
        filled = 0
        with self._lock:
            if not self._primed:
                if self._size < max(PREBUFFER, count):
                    return out
                self._primed = True
            while filled < count and self._chunks:
                chunk = self._chunks[0]
                take = min(count - filled, len(chunk))
                out[filled:filled + take] = chunk[:take]
                filled += take
                if take == len(chunk):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = chunk[take:]
            self._size -= filled
            if filled < count:
                self._primed = False  # ran dry: gather PREBUFFER again before playing on
        # Missing samples stay zero: a gap is silence on the clock, never a shift of what follows.
        return out


DEVICES: Registry[AudioDevice] = Registry()


class MicrophoneTrack(MediaStreamTrack):
    """One courtroom microphone (one channel of its device, or all of them mixed), 20 ms mono frames."""

    kind = "audio"

    def __init__(self, config: MicrophoneConfig, retry_seconds: float = 3.0,
                 registry: Registry[AudioDevice] = DEVICES, channels: int | None = None) -> None:
        """`channels`: the highest input any microphone of this device uses, when known (DeviceSet knows),
        so that the device is opened with all of them at once."""
        super().__init__()
        self.config = config
        self.label = config.name
        self._registry = registry
        self._device = registry.acquire(config.source, lambda: AudioDevice(
            config.source, config.sample_rate, retry_seconds, channels or config.channel, (config.name,)))
        self._buffer = SampleBuffer()
        self._missing_channel = False
        self._start: float | None = None
        self._pts = 0
        self._released = False
        self._device.subscribe(self)

    @property
    def device(self) -> AudioDevice:
        return self._device

    @property
    def online(self) -> bool:
        return self.readyState == "live" and self._device.online and not self._missing_channel

    def unplug(self) -> None:
        """Simulate pulling the device's cable (every microphone on it goes silent and offline)."""
        self._device.plug.unplug()

    def replug(self) -> None:
        self._device.plug.replug()

    def _push(self, block: np.ndarray) -> None:
        """From the device thread: this microphone's samples out of the device's channels."""
        channel = self.config.channel
        if channel is None:
            # All inputs of a stereo microphone or a small mixer, averaged (summing would clip).
            mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1).astype(np.int16)
        elif channel <= block.shape[1]:
            mono = block[:, channel - 1]
        else:
            if not self._missing_channel:
                log.warning("microphone %r: %s has %d channels, not %d; it stays silent", self.label,
                            self.config.source, block.shape[1], channel)
            self._missing_channel = True
            return
        self._missing_channel = False
        self._buffer.push(np.ascontiguousarray(mono, dtype=np.int16))

    async def recv(self) -> av.AudioFrame:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start, self._pts = now, 0
            self._buffer.keep_latest(PREBUFFER)
        else:
            self._pts += BLOCK
            due = self._start + self._pts / RATE
            if due > now:
                await asyncio.sleep(due - now)
                if self.readyState != "live":
                    raise MediaStreamError
            elif now - due > CATCH_UP:
                # The receiver stalled: jump the clock to now (a gap the far end plays as silence).
                self._pts += int((now - due) * RATE) // BLOCK * BLOCK
        samples = self._buffer.pull(BLOCK)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        return frame

    def stop(self) -> None:
        super().stop()
        if self._released:
            return
        self._released = True
        self._device.unsubscribe(self)
        self._registry.release(self.config.source, self._device)
