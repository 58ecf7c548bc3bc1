"""Getting sound out of each kind of microphone source, one blocking `read()` at a time (a thread calls it).

Every reader gives 48 kHz int16 samples shaped (samples, channels), all of the device's channels: a court
recorder's interface carries one position per channel, and one capture feeds every microphone on it.
FFmpeg (through PyAV) reads ALSA, PulseAudio, DirectShow and AVFoundation inputs and recordings alike.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from typing import Iterator, Protocol

import av
import numpy as np

from .capture import DeviceError
from .config import Source
from .synthetic import RATE, SyntheticAudioReader

# PyPI's PyAV carries its own alsa-lib, which looks for its configuration in the folder it was built in and
# so knows no PCM at all ("Unknown PCM hw:1,0"). The system's configuration names them all.
_ALSA_SETTINGS = {"ALSA_CONFIG_DIR", "ALSA_CONFIG_PATH"}
if os.path.isfile("/usr/share/alsa/alsa.conf") and not _ALSA_SETTINGS & os.environ.keys():
    os.environ["ALSA_CONFIG_DIR"] = "/usr/share/alsa"


class AudioReader(Protocol):
    def read(self) -> np.ndarray | None:
        """The next samples, (n, channels) int16 at 48 kHz; None when none came; DeviceError when gone."""

    def close(self) -> None: ...


def open_audio_reader(source: Source, sample_rate: int, channels: int | None) -> AudioReader:
    """`channels`: how many inputs to ask the device for (the highest one a microphone uses), None: its
    default."""
    if source.scheme == "synthetic":
        return SyntheticAudioReader(source.options)
    if source.scheme == "file":
        return FileAudioReader(source.target)
    if source.scheme == "pulse" and "pulse" not in av.formats_available:
        # PyPI's PyAV is built without PulseAudio; parec (pulseaudio-utils, also on PipeWire) reads it.
        if shutil.which("parec"):
            return ParecReader(source.target, channels or 1)
        raise DeviceError("this PyAV has no PulseAudio input and parec is missing: install pulseaudio-utils, "
                          "or use the ALSA name of the device (hearing-server devices)")
    if source.scheme == "alsa":
        _check_alsa_card(source.target)
    return DeviceAudioReader(source, sample_rate, channels)


def _check_alsa_card(target: str, asound: str = "/proc/asound") -> None:
    """A missing card fails here, in one clear line, rather than in alsa-lib's stderr at every retry."""
    if not os.path.isdir(asound):
        raise DeviceError(f"this machine has no sound cards (no {asound})")
    match = re.match(r"^(?:plug)?hw:(?:CARD=)?([^,]+)", target)
    if match is None:
        return
    card = match.group(1)
    if not os.path.exists(os.path.join(asound, f"card{card}" if card.isdigit() else card)):
        raise DeviceError(f"sound card {card} is not there (unplugged?)")


class _Converter:
    """Decoded frames to 48 kHz int16, keeping every channel."""

    def __init__(self) -> None:
        self.resampler: av.AudioResampler | None = None

    def convert(self, frame: av.AudioFrame) -> list[np.ndarray]:
        if self.resampler is None:
            self.resampler = av.AudioResampler(format="s16", layout=frame.layout, rate=RATE)
        out = []
        for resampled in self.resampler.resample(frame):
            channels = len(resampled.layout.channels)
            out.append(resampled.to_ndarray().reshape(-1, channels))
        return out


def _joined(blocks: list[np.ndarray]) -> np.ndarray | None:
    if not blocks:
        return None
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


class DeviceAudioReader:
    """An ALSA, PulseAudio, DirectShow or AVFoundation input through FFmpeg."""

    def __init__(self, source: Source, sample_rate: int, channels: int | None) -> None:
        fmt = source.scheme
        if fmt not in av.formats_available:
            raise DeviceError(f"this PyAV has no '{fmt}' input")
        options: dict[str, str] = {}
        if fmt in ("alsa", "pulse", "dshow"):
            options["sample_rate"] = str(sample_rate)
            if channels:
                options["channels"] = str(channels)
        if fmt == "dshow":
            options["audio_buffer_size"] = "20"  # ms; DirectShow's default half second would be heard as lag
        try:
            self.container = av.open(source.target, format=fmt, options=options)
        except (av.FFmpegError, OSError) as exc:
            raise DeviceError(f"cannot open it: {exc}") from None
        if not self.container.streams.audio:
            self.container.close()
            raise DeviceError("it has no audio")
        self.stream = self.container.streams.audio[0]
        self.packets: Iterator[av.Packet] = self.container.demux(self.stream)
        self.converter = _Converter()

    def read(self) -> np.ndarray | None:
        try:
            packet = next(self.packets)
        except StopIteration:
            raise DeviceError("the device stopped sending") from None
        blocks: list[np.ndarray] = []
        for frame in packet.decode():
            if isinstance(frame, av.AudioFrame):
                blocks.extend(self.converter.convert(frame))
        return _joined(blocks)

    def close(self) -> None:
        self.container.close()


class ParecReader:
    """A PulseAudio (or PipeWire) source through `parec`, which also resamples to 48 kHz for us."""

    def __init__(self, name: str, channels: int) -> None:
        self.channels = channels
        command = ["parec", "--raw", "--format=s16le", f"--rate={RATE}", f"--channels={channels}",
                   "--latency-msec=20"]
        if name and name != "default":
            command.append(f"--device={name}")
        try:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError as exc:
            raise DeviceError(f"cannot start parec: {exc}") from None

    def read(self) -> np.ndarray | None:
        assert self.process.stdout is not None
        size = 960 * self.channels * 2
        data = self.process.stdout.read(size)
        if not data:
            raise DeviceError(f"parec ended (exit {self.process.poll()}): is the source still there?")
        usable = len(data) - len(data) % (2 * self.channels)
        return np.frombuffer(data[:usable], dtype="<i2").reshape(-1, self.channels)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class FileAudioReader:
    """The sound of a recording, played over and over at real-time pace."""

    def __init__(self, path: str) -> None:
        if not os.path.isfile(path):
            raise DeviceError(f"no such file: {path}")
        try:
            self.container = av.open(path)
        except av.FFmpegError as exc:
            raise DeviceError(f"cannot read {path}: {exc}") from None
        if not self.container.streams.audio:
            self.container.close()
            raise DeviceError(f"{path} has no sound")
        self.stream = self.container.streams.audio[0]
        self.frames: Iterator[av.AudioFrame] = self.container.decode(self.stream)
        self.converter = _Converter()
        self.started = time.monotonic()
        self.played = 0  # samples handed out since `started`
        self.this_round = 0

    def _next_frame(self) -> av.AudioFrame:
        try:
            return next(self.frames)
        except StopIteration:
            pass
        if self.this_round == 0:
            raise DeviceError("the recording has no sound")
        self.this_round = 0
        self.container.seek(0)
        self.frames = self.container.decode(self.stream)
        try:
            return next(self.frames)
        except StopIteration:
            raise DeviceError("the recording has no sound") from None

    def read(self) -> np.ndarray | None:
        block = _joined(self.converter.convert(self._next_frame()))
        if block is None:
            return None
        self.this_round += len(block)
        wait = self.started + self.played / RATE - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        elif wait < -0.5:
            # Held up (a loaded machine): carry on from now rather than rush the backlog out.
            self.started, self.played = time.monotonic(), 0
        self.played += len(block)
        return block

    def close(self) -> None:
        self.container.close()
