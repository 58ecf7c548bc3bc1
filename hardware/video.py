"""Getting pictures out of each kind of camera source, one blocking `read()` at a time (a thread calls it).

Which library reads what, and why:
* V4L2 cameras and OpenCV indices: OpenCV's VideoCapture. It negotiates size and rate with the driver,
  asks for MJPEG (a USB 2 webcam can send 720p at 30 fps only compressed) and decodes it, and takes the
  nearest mode when the exact one is not offered, where FFmpeg's v4l2 input refuses to open at all.
* DirectShow (Windows), AVFoundation (macOS): PyAV, because those devices are named the way FFmpeg names
  them, which is what `hearing-server devices` lists and the config holds (OpenCV only knows indices there,
  and the index of a camera changes when another is plugged in).
* Recordings (file:): PyAV, decoded and looped at the pace of their own timestamps.
"""

from __future__ import annotations

import os
import time
from typing import Iterator, Protocol

import av
import cv2
import numpy as np

from .capture import DeviceError
from .config import CameraConfig, Source
from .synthetic import SyntheticVideoReader

try:  # OpenCV warns on stderr at every failed open; the capture thread logs outages itself, once.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
except AttributeError:
    pass


class VideoReader(Protocol):
    def read(self) -> np.ndarray | None:
        """The next picture (BGR), None when none came this time, DeviceError when the device is gone."""

    def close(self) -> None: ...


def open_video_reader(source: Source, config: CameraConfig) -> VideoReader:
    if source.scheme == "synthetic":
        return SyntheticVideoReader(config.name, config.width, config.height, config.fps,
                                    source.options.get("color"))
    if source.scheme in ("v4l2", "opencv"):
        return OpenCvReader(source, config)
    if source.scheme == "file":
        return FileVideoReader(source.target)
    return DeviceVideoReader(source, config)


class OpenCvReader:
    def __init__(self, source: Source, config: CameraConfig) -> None:
        if source.scheme == "v4l2":
            if not os.path.exists(source.target):
                raise DeviceError(f"{source.target} does not exist (unplugged?)")
            self.capture = cv2.VideoCapture(source.target, cv2.CAP_V4L2)
        else:
            self.capture = cv2.VideoCapture(int(source.target))
        if not self.capture.isOpened():
            self.capture.release()
            raise DeviceError("cannot open it (used by another program, or no permission: is the user in "
                              "the 'video' group?)")
        if source.scheme == "v4l2":
            self.capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, config.width)
        self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, config.height)
        self.capture.set(cv2.CAP_PROP_FPS, config.fps)
        # The newest picture, not a queue of old ones: the hearing is live.
        self.capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if hasattr(cv2, "CAP_PROP_READ_TIMEOUT_MSEC"):
            # Where the backend honours it, a vanished camera fails the read instead of blocking it.
            self.capture.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, 1000)
        self.path = source.target if source.scheme == "v4l2" else ""

    def read(self) -> np.ndarray | None:
        ok, image = self.capture.read()
        if ok and image is not None:
            return image
        if self.path and not os.path.exists(self.path):
            raise DeviceError(f"{self.path} disappeared (unplugged?)")
        time.sleep(0.05)  # a failed read returns at once; the stall timer decides when it is an outage
        return None

    def close(self) -> None:
        self.capture.release()


def _open_device(target: str, fmt: str, attempts: list[dict[str, str]]) -> av.container.InputContainer:
    if fmt not in av.formats_available:
        raise DeviceError(f"this PyAV has no '{fmt}' input ({fmt} is a "
                          f"{'Windows' if fmt == 'dshow' else 'macOS'} camera system)")
    error: Exception | None = None
    for options in attempts:
        try:
            return av.open(target, format=fmt, options=options)
        except (av.FFmpegError, OSError) as exc:
            error = exc
    raise DeviceError(f"cannot open it: {error}")


class DeviceVideoReader:
    """A DirectShow or AVFoundation camera through FFmpeg."""

    def __init__(self, source: Source, config: CameraConfig) -> None:
        wanted = {"video_size": f"{config.width}x{config.height}", "framerate": str(config.fps)}
        extra = {"rtbufsize": "64M"} if source.scheme == "dshow" else {}
        # The configured mode first; when the camera has no such mode, whatever it offers (then scaled).
        self.container = _open_device(source.target, source.scheme, [{**wanted, **extra}, extra])
        if not self.container.streams.video:
            self.container.close()
            raise DeviceError("it has no video")
        self.frames: Iterator[av.VideoFrame] = self.container.decode(self.container.streams.video[0])

    def read(self) -> np.ndarray | None:
        try:
            frame = next(self.frames)
        except StopIteration:
            raise DeviceError("the camera stopped sending") from None
        return frame.to_ndarray(format="bgr24")

    def close(self) -> None:
        self.container.close()


class FileVideoReader:
    """A recording played over and over at its own pace, as if a camera were filming it."""

    def __init__(self, path: str) -> None:
        if not os.path.isfile(path):
            raise DeviceError(f"no such file: {path}")
        try:
            self.container = av.open(path)
        except av.FFmpegError as exc:
            raise DeviceError(f"cannot read {path}: {exc}") from None
        if not self.container.streams.video:
            self.container.close()
            raise DeviceError(f"{path} has no video")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        rate = self.stream.average_rate or self.stream.guessed_rate or 25
        self.frame_seconds = 1.0 / float(rate)
        self.frames: Iterator[av.VideoFrame] = self.container.decode(self.stream)
        self.started = time.monotonic()
        self.loop_offset = 0.0  # seconds of the recording played in earlier rounds
        self.first: float | None = None
        self.span = 0.0
        self.count = 0

    def _next(self) -> av.VideoFrame:
        try:
            return next(self.frames)
        except StopIteration:
            pass
        if self.count == 0:
            raise DeviceError("the recording has no pictures")
        self.loop_offset += self.span
        self.first, self.span, self.count = None, 0.0, 0
        self.container.seek(0)
        self.frames = self.container.decode(self.stream)
        try:
            return next(self.frames)
        except StopIteration:
            raise DeviceError("the recording has no pictures") from None

    def read(self) -> np.ndarray | None:
        frame = self._next()
        at = frame.time if frame.time is not None else self.count * self.frame_seconds
        if self.first is None:
            self.first = at
        position = at - self.first
        self.count += 1
        self.span = max(self.span, position + self.frame_seconds)
        wait = self.started + self.loop_offset + position - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        return frame.to_ndarray(format="bgr24")

    def close(self) -> None:
        self.container.close()
