"""What every capture thread shares: the failure it reports, a simulated plug, the online/offline story it
logs, and a registry so that a device is opened once however many tracks read it.

A device thread opens its device, reads until that fails, waits `retry_seconds` and opens it again, for as
long as the device is wanted. Tracks come and go (aiortc stops a track when its peer connection closes, so a
reconnecting agent makes new ones); the device stays open for as long as one holder keeps it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Generic, Hashable, Protocol, TypeVar

log = logging.getLogger("hardware")

# A device that has given nothing for this long is offline: the hearing shows "camera offline" when a
# camera's frames stop, and a second is long enough to ride out a USB hiccup.
STALL_SECONDS = 1.0


class DeviceError(Exception):
    """The device cannot be opened or read any more; the thread will close it and try again later."""


class Plug:
    """A simulated cable: pulling it makes the capture thread fail exactly as if the device were gone.

    Tests and demos use it; on a real device it works too (the thread drops the device and retries)."""

    def __init__(self) -> None:
        self._pulled = threading.Event()

    @property
    def pulled(self) -> bool:
        return self._pulled.is_set()

    def unplug(self) -> None:
        self._pulled.set()

    def replug(self) -> None:
        self._pulled.clear()

    def check(self) -> None:
        if self._pulled.is_set():
            raise DeviceError("unplugged")


class Health:
    """Online or offline, with one warning per outage and one line when the device is back, never a flood."""

    def __init__(self, what: str, retry_seconds: float) -> None:
        self.what = what
        self.retry_seconds = retry_seconds
        self._online = False
        self._offline_since: float | None = time.monotonic()
        self._warned = False
        self._last_reason = ""
        self.last_data = 0.0  # monotonic time of the last frame or samples, written by the device thread

    @property
    def online(self) -> bool:
        # A read that hangs (some drivers block for seconds on an unplugged camera) must not look online.
        return self._online and time.monotonic() - self.last_data <= STALL_SECONDS

    def up(self) -> None:
        self.last_data = time.monotonic()
        if self._online:
            return
        self._online = True
        if self._warned and self._offline_since is not None:
            log.info("%s is back online after %.0f s offline", self.what,
                     time.monotonic() - self._offline_since)
        else:
            log.info("%s is online", self.what)
        self._offline_since = None
        self._warned = False

    def down(self, reason: str) -> None:
        if self._online or not self._warned:
            log.warning("%s is offline: %s; retrying every %g s", self.what, reason, self.retry_seconds)
            self._warned = True
            self._offline_since = self._offline_since or time.monotonic()
        elif reason != self._last_reason:
            log.debug("%s still offline: %s", self.what, reason)
        self._last_reason = reason
        self._online = False


class Device(Protocol):
    def start(self) -> None: ...

    def close(self) -> None: ...


D = TypeVar("D", bound=Device)


class Registry(Generic[D]):
    """Devices by key, counted: the first holder opens the device, the last one to let go closes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: dict[Hashable, tuple[D, int]] = {}

    def acquire(self, key: Hashable, make: Callable[[], D]) -> D:
        with self._lock:
            device, count = self._devices.get(key, (None, 0))
            if device is None:
                device = make()
                device.start()
            self._devices[key] = (device, count + 1)
            return device

    def release(self, key: Hashable, device: D) -> None:
        with self._lock:
            held, count = self._devices.get(key, (None, 0))
            if held is not device:
                return
            if count > 1:
                self._devices[key] = (device, count - 1)
                return
            del self._devices[key]
        device.close()

    def held(self) -> list[D]:
        with self._lock:
            return [device for device, _ in self._devices.values()]
