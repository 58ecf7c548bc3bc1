"""Which cameras and microphones this PC has, written as the source strings config/courtroom.toml takes.

Linux: V4L2 cameras (/dev/video*, their formats asked of the driver with the VIDIOC_ENUM_* ioctls), ALSA
capture devices (/proc/asound) and PulseAudio/PipeWire sources (pactl). Windows and macOS: FFmpeg's device
list (DirectShow, AVFoundation) through PyAV. The synthetic sources are always there.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av


@dataclass
class Device:
    kind: str  # "camera" | "microphone"
    source: str  # what to write in courtroom.toml
    name: str
    formats: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


SYNTHETIC = [
    Device("camera", "synthetic", "Test card with the camera's name (always available)"),
    Device("camera", "synthetic:color=#3060c0", "Test card on a chosen background colour"),
    Device("microphone", "synthetic:tone=440", "Steady 440 Hz tone at -12 dBFS (always available)"),
    Device("microphone", "synthetic:tone=440,on=2,off=1", "Tone in bursts: 2 s on, 1 s off"),
    Device("microphone", "synthetic:channels=2,tones=440/880",
           "Two-channel device (one position per channel: channel = 1, 2)"),
]


# --- V4L2 -------------------------------------------------------------------------------------------------

def _ioc(direction: int, number: int, size: int) -> int:
    # linux/ioctl.h: dir(2 bits) size(14) type(8) nr(8); 'V' is the V4L2 type.
    return (direction << 30) | (size << 16) | (ord("V") << 8) | number


_READ, _READ_WRITE = 2, 3
_CAPABILITY = struct.Struct("16s32s32sIII12x")  # struct v4l2_capability, 104 bytes
_FMTDESC = struct.Struct("III32sII12x")  # struct v4l2_fmtdesc, 64 bytes
_FRMSIZE = struct.Struct("III24s8x")  # struct v4l2_frmsizeenum, 44 bytes
_FRMIVAL = struct.Struct("IIIII24s8x")  # struct v4l2_frmivalenum, 52 bytes
VIDIOC_QUERYCAP = _ioc(_READ, 0, _CAPABILITY.size)
VIDIOC_ENUM_FMT = _ioc(_READ_WRITE, 2, _FMTDESC.size)
VIDIOC_ENUM_FRAMESIZES = _ioc(_READ_WRITE, 74, _FRMSIZE.size)
VIDIOC_ENUM_FRAMEINTERVALS = _ioc(_READ_WRITE, 75, _FRMIVAL.size)
CAP_VIDEO_CAPTURE, CAP_VIDEO_CAPTURE_MPLANE, CAP_DEVICE_CAPS = 0x1, 0x1000, 0x80000000
BUF_TYPE_VIDEO_CAPTURE = 1
FRMSIZE_DISCRETE, FRMIVAL_DISCRETE = 1, 1


def _ioctl(fd: int, request: int, layout: struct.Struct, *values: object) -> tuple | None:
    buffer = ctypes.create_string_buffer(layout.pack(*values), layout.size)
    try:
        fcntl.ioctl(fd, request, buffer)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.ENOTTY):  # the end of an enumeration, or not supported
            return None
        raise
    return layout.unpack(buffer.raw)


def _fourcc(code: int) -> str:
    return code.to_bytes(4, "little").decode("ascii", "replace").strip()


def _best_fps(fd: int, pixelformat: int, width: int, height: int) -> float | None:
    best = None
    for index in range(32):
        got = _ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, _FRMIVAL, index, pixelformat, width, height, 0, b"")
        if got is None:
            break
        # Discrete: the interval; stepwise: its minimum first. Either way the first fraction is the fastest.
        numerator, denominator = struct.unpack_from("II", got[5])
        if numerator:
            fps = denominator / numerator
            best = fps if best is None else max(best, fps)
        if got[4] != FRMIVAL_DISCRETE:
            break
    return best


def v4l2_formats(fd: int) -> list[str]:
    """e.g. ["MJPG 1920x1080@30 1280x720@30 640x360@30", "YUYV 640x480@30 ..."]."""
    formats = []
    for index in range(64):
        got = _ioctl(fd, VIDIOC_ENUM_FMT, _FMTDESC, index, BUF_TYPE_VIDEO_CAPTURE, 0, b"", 0, 0)
        if got is None:
            break
        pixelformat = got[4]
        sizes = []
        for size_index in range(64):
            size = _ioctl(fd, VIDIOC_ENUM_FRAMESIZES, _FRMSIZE, size_index, pixelformat, 0, b"")
            if size is None:
                break
            if size[2] == FRMSIZE_DISCRETE:
                width, height = struct.unpack_from("II", size[3])
                fps = _best_fps(fd, pixelformat, width, height)
                sizes.append(f"{width}x{height}" + (f"@{fps:g}" if fps else ""))
            else:  # stepwise or continuous: min_w, max_w, step_w, min_h, max_h, step_h
                min_w, max_w, _, min_h, max_h, _ = struct.unpack_from("IIIIII", size[3])
                sizes.append(f"{min_w}x{min_h}..{max_w}x{max_h}")
                break
        formats.append(" ".join([_fourcc(pixelformat), *sizes]))
    return formats


def _video_number(path: Path) -> int:
    match = re.search(r"(\d+)$", path.name)
    return int(match.group(1)) if match else 0


def _stable_paths(dev: Path) -> dict[str, str]:
    # /dev/v4l/by-id/usb-<maker>_<model>_<serial>-video-index0 names the same camera after a reboot or a
    # replug into another port, where /dev/videoN may change: it is the better source to write down.
    stable: dict[str, str] = {}
    for link in sorted((dev / "v4l" / "by-id").glob("*")) + sorted((dev / "v4l" / "by-path").glob("*")):
        try:
            stable.setdefault(str(link.resolve()), str(link))
        except OSError:
            continue
    return stable


def v4l2_cameras(dev: Path = Path("/dev"), sysfs: Path = Path("/sys/class/video4linux")) -> list[Device]:
    cameras = []
    stable = _stable_paths(dev)
    for node in sorted(dev.glob("video*"), key=_video_number):
        name_file = sysfs / node.name / "name"
        name = node.name
        if name_file.exists():
            name = name_file.read_text(encoding="utf-8", errors="replace").strip() or node.name
        try:
            fd = os.open(node, os.O_RDWR | os.O_NONBLOCK)
        except OSError as exc:
            cameras.append(Device("camera", f"v4l2:{node}", name, [f"cannot open: {exc.strerror}"]))
            continue
        try:
            cap = _ioctl(fd, VIDIOC_QUERYCAP, _CAPABILITY, b"", b"", b"", 0, 0, 0)
            if cap is None:
                continue
            caps = cap[5] if cap[4] & CAP_DEVICE_CAPS else cap[4]
            # A UVC camera has a second node for metadata only; it gives no pictures, so it is not listed.
            if not caps & (CAP_VIDEO_CAPTURE | CAP_VIDEO_CAPTURE_MPLANE):
                continue
            if name == node.name:
                name = cap[1].rstrip(b"\0").decode("utf-8", "replace")
            path = stable.get(str(node.resolve()), str(node))
            shown = name if path == str(node) else f"{name} ({node})"
            cameras.append(Device("camera", f"v4l2:{path}", shown, v4l2_formats(fd)))
        except OSError as exc:
            cameras.append(Device("camera", f"v4l2:{node}", name, [f"cannot query: {exc.strerror}"]))
        finally:
            os.close(fd)
    return cameras


# --- ALSA and PulseAudio -------------------------------------------------------------------------------

def alsa_microphones(asound: Path = Path("/proc/asound")) -> list[Device]:
    """Capture PCMs, named by card id so that the source survives a change in USB plug-in order."""
    mics = []
    card_names = _card_names(asound / "cards")
    for card in sorted(asound.glob("card[0-9]*"), key=lambda p: int(p.name[4:])):
        id_file = card / "id"
        card_id = id_file.read_text(encoding="utf-8").strip() if id_file.exists() else card.name[4:]
        for pcm in sorted(card.glob("pcm*c")):
            number = int(re.sub(r"\D", "", pcm.name))
            info = _info(pcm / "info")
            name = f"{card_names.get(card.name[4:], card_id)}: {info.get('name', pcm.name)}"
            formats = [_stream_formats(card)] if (card / "stream0").exists() else []
            # plughw converts rate and channel count in ALSA, so any device opens at 48 kHz.
            mics.append(Device("microphone", f"alsa:plughw:CARD={card_id},DEV={number}", name,
                               [f for f in formats if f]))
    return mics


def _card_names(path: Path) -> dict[str, str]:
    # " 1 [USB            ]: USB-Audio - Zoom F8n" -> {"1": "Zoom F8n"}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\s*(\d+) \[[^\]]*\]: [^\n]*? - ([^\n]+)$",
                                                                text, re.MULTILINE)}


def _info(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines) if v}


def _stream_formats(card: Path) -> str:
    # USB audio cards describe their capture modes in streamN ("Channels: 8", "Rates: 48000").
    try:
        text = (card / "stream0").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    capture = text.split("Capture:", 1)[1] if "Capture:" in text else ""
    channels = sorted(set(re.findall(r"Channels: (\d+)", capture)), key=int)
    rates = sorted(set(r.strip() for r in re.findall(r"Rates: ([^\n]+)", capture)))
    return ", ".join(filter(None, [f"{'/'.join(channels)} ch" if channels else "", "; ".join(rates)]))


def pulse_microphones() -> list[Device]:
    if not shutil.which("pactl"):
        return []
    try:
        listing = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True, text=True,
                                 timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    mics = []
    for line in listing.splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or fields[1].endswith(".monitor"):  # monitors are the speakers' output, not mics
            continue
        mics.append(Device("microphone", f"pulse:{fields[1]}", fields[1], [fields[3]]))
    return mics


# --- Windows and macOS -----------------------------------------------------------------------------------

def ffmpeg_devices(fmt: str) -> list[Device]:
    """DirectShow or AVFoundation inputs as FFmpeg names them (PyAV >= 16 can list them)."""
    enumerate_inputs = getattr(getattr(av, "device", None), "enumerate_input_devices", None)
    if enumerate_inputs is None or fmt not in av.formats_available:
        return []
    try:
        found = enumerate_inputs(fmt)
    except (ValueError, av.FFmpegError, OSError):
        return []
    devices = []
    for info in found:
        media = list(getattr(info, "media_types", []) or ["video", "audio"])
        for kind in ("video", "audio"):
            if kind not in media:
                continue
            if fmt == "dshow":
                source = f"dshow:{kind}={info.name}"
            else:  # avfoundation: "N" is a camera, ":N" a microphone
                source = f"avfoundation:{info.name}" if kind == "video" else f"avfoundation::{info.name}"
            devices.append(Device("camera" if kind == "video" else "microphone", source,
                                  info.description or info.name))
    return devices


def discover() -> tuple[list[Device], list[str]]:
    """Every device found, then the synthetic ones; and notes for what could not be looked at."""
    found: list[Device] = []
    notes: list[str] = []
    if sys.platform.startswith("linux"):
        found += v4l2_cameras()
        found += alsa_microphones()
        found += pulse_microphones()
        if not Path("/proc/asound").exists():
            notes.append("no /proc/asound: this machine has no ALSA sound devices")
    elif sys.platform == "win32":
        found += ffmpeg_devices("dshow")
    elif sys.platform == "darwin":
        found += ffmpeg_devices("avfoundation")
    if not any(d.kind == "camera" for d in found):
        notes.append("no cameras found on this machine; the synthetic camera sources below always work")
    if not any(d.kind == "microphone" for d in found):
        notes.append("no microphones found on this machine; "
                     "the synthetic microphone sources below always work")
    return found + SYNTHETIC, notes


def table(devices: list[Device]) -> str:
    header = ("KIND", "SOURCE (for courtroom.toml)", "NAME", "FORMATS")
    rows = [header] + [(d.kind, d.source, d.name, "; ".join(d.formats) or "-") for d in devices]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3] for row in rows)
