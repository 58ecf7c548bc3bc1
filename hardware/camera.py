"""A courtroom camera: a capture thread that keeps the device open (and reopens it after a failure), and the
aiortc tracks that carry its pictures into the hearing.

While the camera is offline no frame is sent at all: the server shows "camera offline" on the tile when a
camera's frames stop, which is the truth, where a frozen last picture would not be.
"""

from __future__ import annotations

import asyncio
import threading
import time
from fractions import Fraction

import av
import cv2
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .capture import STALL_SECONDS, DeviceError, Health, Plug, Registry, log
from .config import CameraConfig, parse_source
from .video import open_video_reader

CLOCK = 90000
TIME_BASE = Fraction(1, CLOCK)


def fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to the configured size, keeping the shape: bars rather than a stretched or cropped courtroom."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = min(width / w, height / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if size == (width, height):
        return scaled
    out = np.zeros((height, width, 3), dtype=np.uint8)
    x, y = (width - size[0]) // 2, (height - size[1]) // 2
    out[y:y + size[1], x:x + size[0]] = scaled
    return out


class Camera:
    """One configured camera and the thread that reads it, shared by every track that shows it."""

    def __init__(self, config: CameraConfig, retry_seconds: float) -> None:
        self.config = config
        self.label = config.name
        self.retry_seconds = retry_seconds
        self.source = parse_source(config.source, "camera")
        self.plug = Plug()
        self.health = Health(f"camera {config.name!r} ({config.source})", retry_seconds)
        self.frames = 0
        self._interval = 1.0 / config.fps
        self._next_due = 0.0
        self._epoch = time.monotonic()
        self._last_pts = -1
        self._tracks: set[CameraTrack] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera {config.name}", daemon=True)

    @property
    def online(self) -> bool:
        return self.health.online

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Ends the thread; it releases the device as soon as its current read returns."""
        self._closing.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def subscribe(self, track: CameraTrack) -> None:
        with self._lock:
            self._tracks.add(track)

    def unsubscribe(self, track: CameraTrack) -> None:
        with self._lock:
            self._tracks.discard(track)

    def _run(self) -> None:
        while not self._closing.is_set():
            reason = self._capture()
            if self._closing.is_set():
                break
            self.health.down(reason)
            with self._lock:
                tracks = list(self._tracks)
            for track in tracks:
                track._flush()
            self._closing.wait(self.retry_seconds)

    def _capture(self) -> str:
        """Open the device and pass its pictures on until it fails; the reason it failed."""
        try:
            self.plug.check()
            reader = open_video_reader(self.source, self.config)
        except DeviceError as exc:
            return str(exc)
        except Exception as exc:  # a driver or library surprise is an outage too, never the thread's end
            log.debug("opening %s failed", self.config.source, exc_info=True)
            return f"cannot open it: {type(exc).__name__}: {exc}"
        try:
            last = time.monotonic()
            while not self._closing.is_set():
                self.plug.check()
                image = reader.read()
                now = time.monotonic()
                if image is None:
                    if now - last > STALL_SECONDS:
                        return f"no picture for {STALL_SECONDS:g} s"
                    continue
                last = now
                self._deliver(image, now)
            return "closed"
        except DeviceError as exc:
            return str(exc)
        except Exception as exc:
            log.debug("reading %s failed", self.config.source, exc_info=True)
            return f"reading failed: {type(exc).__name__}: {exc}"
        finally:
            try:
                reader.close()
            except Exception:
                log.debug("closing %s failed", self.config.source, exc_info=True)

    def _deliver(self, image: np.ndarray, now: float) -> None:
        # A camera faster than the configured rate gives every other picture; the tolerance keeps a
        # camera running at exactly that rate, with jitter, from losing half of its pictures.
        if now < self._next_due - 0.3 * self._interval:
            return
        self._next_due = max(self._next_due + self._interval, now - self._interval)
        picture = fit(image, self.config.width, self.config.height)
        i420 = np.asarray(cv2.cvtColor(picture, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        pts = max(int((now - self._epoch) * CLOCK), self._last_pts + 1)
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = TIME_BASE
        self.frames += 1
        self.health.up()
        with self._lock:
            tracks = list(self._tracks)
        for track in tracks:
            track._offer(frame)


CAMERAS: Registry[Camera] = Registry()


def camera_key(config: CameraConfig) -> tuple[str, str, int, int, int]:
    return (config.name, config.source, config.width, config.height, config.fps)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class CameraTrack(MediaStreamTrack):
    """The pictures of one courtroom camera, as the agent publishes them (yuv420p, pts on 90 kHz).

    Tracks are cheap: aiortc stops a track when its peer connection closes, so a reconnect makes a new one
    for the same camera, which is still open (held by the DeviceSet or another track)."""

    kind = "video"

    def __init__(self, config: CameraConfig, retry_seconds: float = 3.0,
                 registry: Registry[Camera] = CAMERAS) -> None:
        super().__init__()
        self.config = config
        self.label = config.name
        self._registry = registry
        self._camera = registry.acquire(camera_key(config), lambda: Camera(config, retry_seconds))
        self._queue: asyncio.Queue[av.VideoFrame | None] = asyncio.Queue(maxsize=2)
        self._loop = _running_loop()
        self._released = False
        self._camera.subscribe(self)

    @property
    def camera(self) -> Camera:
        return self._camera

    @property
    def online(self) -> bool:
        return self.readyState == "live" and self._camera.online

    def unplug(self) -> None:
        """Simulate pulling the camera's cable (tests, demos): the device fails and is retried."""
        self._camera.plug.unplug()

    def replug(self) -> None:
        self._camera.plug.replug()

    def _offer(self, frame: av.VideoFrame) -> None:
        """From the camera thread: hand a picture to the event loop that receives this track."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._put, frame)
        except RuntimeError:  # the loop has closed under us: nobody is receiving any more
            pass

    def _flush(self) -> None:
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._drop_queued)
            except RuntimeError:
                pass

    def _drop_queued(self) -> None:
        # Pictures taken before the outage must not trickle out after it was declared.
        ended = False
        while not self._queue.empty():
            ended = ended or self._queue.get_nowait() is None
        if ended:
            self._queue.put_nowait(None)

    def _put(self, item: av.VideoFrame | None) -> None:
        if self.readyState != "live" and item is not None:
            return
        while self._queue.full():  # a slow receiver loses the oldest picture, never stalls the camera
            self._queue.get_nowait()
        self._queue.put_nowait(item)

    async def recv(self) -> av.VideoFrame:  # type: ignore[override]
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if frame is None:
            raise MediaStreamError
        return frame

    def stop(self) -> None:
        super().stop()
        if self._released:
            return
        self._released = True
        self._camera.unsubscribe(self)
        self._registry.release(camera_key(self.config), self._camera)
        if self._loop is not None:
            try:
                if self._loop is _running_loop():
                    self._put(None)
                else:
                    self._loop.call_soon_threadsafe(self._put, None)
            except RuntimeError:
                pass
