"""What the courtroom agent publishes: a track per configured camera and microphone, and the DeviceSet that
keeps the devices open for as long as the agent runs, across reconnects.

    devices = DeviceSet(config)          # opens every device (each in its own thread)
    for track in devices.tracks():       # new tracks for each peer connection: aiortc stops a track
        pc.addTrack(track)               # when its connection closes, the device stays open
    ...
    await devices.close()                # ends the threads and releases the devices
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Callable

from .camera import CAMERAS, Camera, CameraTrack, camera_key
from .capture import Plug
from .config import AgentConfig, CameraConfig, MicrophoneConfig
from .microphone import DEVICES, AudioDevice, MicrophoneTrack


def open_camera(config: CameraConfig, retry_seconds: float = 3.0) -> CameraTrack:
    return CameraTrack(config, retry_seconds)


def open_microphone(config: MicrophoneConfig, retry_seconds: float = 3.0) -> MicrophoneTrack:
    return MicrophoneTrack(config, retry_seconds)


@dataclass
class DeviceStatus:
    kind: str  # "camera" | "microphone"
    name: str
    source: str
    online: bool


class DeviceSet:
    """Every device of the courtroom's configuration, open from construction until close()."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.retry_seconds = config.retry_seconds
        self.cameras: dict[str, Camera] = {}
        self.audio_devices: dict[str, AudioDevice] = {}
        # Microphones on one device share its capture, opened once with every input any of them uses.
        self._channels: dict[str, int | None] = {}
        for mic in config.microphones:
            wanted = [m.channel for m in config.microphones if m.source == mic.source and m.channel]
            self._channels[mic.source] = max(wanted) if wanted else None
        for cam in config.cameras:
            self.cameras[cam.name] = CAMERAS.acquire(camera_key(cam), self._camera_maker(cam))
        for mic in config.microphones:
            if mic.source not in self.audio_devices:
                self.audio_devices[mic.source] = DEVICES.acquire(mic.source, self._audio_maker(mic))
        self._tracks: list[CameraTrack | MicrophoneTrack] = []
        self._closed = False

    def _camera_maker(self, config: CameraConfig) -> Callable[[], Camera]:
        return lambda: Camera(config, self.retry_seconds)

    def _audio_maker(self, mic: MicrophoneConfig) -> Callable[[], AudioDevice]:
        names = tuple(m.name for m in self.config.microphones if m.source == mic.source)
        channels = self._channels[mic.source]
        return lambda: AudioDevice(mic.source, mic.sample_rate, self.retry_seconds, channels, names)

    def camera_tracks(self) -> list[CameraTrack]:
        return self._remember([CameraTrack(c, self.retry_seconds) for c in self.config.cameras])

    def microphone_tracks(self) -> list[MicrophoneTrack]:
        return self._remember([MicrophoneTrack(m, self.retry_seconds, channels=self._channels[m.source])
                               for m in self.config.microphones])

    def tracks(self) -> list[CameraTrack | MicrophoneTrack]:
        """A fresh track for every camera and microphone, for one peer connection."""
        return [*self.camera_tracks(), *self.microphone_tracks()]

    def _remember(self, tracks: list) -> list:
        self._tracks = [t for t in self._tracks if t.readyState == "live"] + tracks
        return tracks

    def status(self) -> list[DeviceStatus]:
        out = [DeviceStatus("camera", c.name, c.source, self.cameras[c.name].online)
               for c in self.config.cameras]
        for mic in self.config.microphones:
            device = self.audio_devices[mic.source]
            fits = mic.channel is None or device.channels == 0 or mic.channel <= device.channels
            out.append(DeviceStatus("microphone", mic.name, mic.source, device.online and fits))
        return out

    def unplug(self, name: str, kind: str = "camera") -> None:
        """Simulate pulling a device's cable (tests, demos)."""
        self._plug(name, kind).unplug()

    def replug(self, name: str, kind: str = "camera") -> None:
        self._plug(name, kind).replug()

    def _plug(self, name: str, kind: str) -> Plug:
        if kind == "camera":
            return self.cameras[name].plug
        mic = next(m for m in self.config.microphones if m.name == name)
        return self.audio_devices[mic.source].plug

    async def close(self, timeout: float = 5.0) -> None:
        """Stop every track handed out, let go of every device, and wait for the threads to finish."""
        if self._closed:
            return
        self._closed = True
        for track in self._tracks:
            track.stop()
        self._tracks.clear()
        for cam in self.config.cameras:
            CAMERAS.release(camera_key(cam), self.cameras[cam.name])
        for source, device in self.audio_devices.items():
            DEVICES.release(source, device)
        # A device another holder still uses keeps running; ours are joined off the event loop.
        still_held = {id(d) for d in CAMERAS.held()} | {id(d) for d in DEVICES.held()}
        mine: list[Camera | AudioDevice] = [*self.cameras.values(), *self.audio_devices.values()]
        ours = [d for d in mine if id(d) not in still_held]
        await asyncio.gather(*(asyncio.to_thread(d.join, timeout) for d in ours))
