"""The courtroom PC's configuration: which server to join and which cameras and microphones to publish.

Loaded from a small TOML file (config/courtroom.toml is the annotated example). Every mistake is a
ValueError naming the key, at start-up, so a courtroom never opens a hearing with a camera silently missing.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

MAX_NAME = 60
ENV_URL = "COURTROOM_AGENT_URL"
ENV_TOKEN_FILE = "COURTROOM_AGENT_TOKEN_FILE"

CAMERA_SCHEMES = ("v4l2", "opencv", "dshow", "avfoundation", "file", "synthetic")
MICROPHONE_SCHEMES = ("alsa", "pulse", "dshow", "avfoundation", "file", "synthetic")
# Options a synthetic source understands, per kind (everything else is a typo worth reporting).
SYNTHETIC_OPTIONS = {"camera": {"color"}, "microphone": {"tone", "tones", "channels", "on", "off", "level"}}


class CourtroomConfigError(ValueError):
    """config/courtroom.toml is invalid; the message names the key."""


@dataclass
class Source:
    """A parsed source string: `scheme:target`, and for synthetic sources `key=value` options."""

    scheme: str
    target: str = ""
    options: dict[str, str] = field(default_factory=dict)

    @property
    def simulated(self) -> bool:
        return self.scheme in ("synthetic", "file")


@dataclass
class CameraConfig:
    name: str
    source: str
    width: int = 640
    height: int = 360
    fps: int = 15


@dataclass
class MicrophoneConfig:
    name: str
    source: str
    # 1-based input of a multi-channel interface (as printed on it); None: all inputs mixed to mono.
    channel: int | None = None
    # The rate asked of the device; everything is resampled to 48 kHz for the hearing anyway.
    sample_rate: int = 48000


@dataclass
class AgentConfig:
    server_url: str
    token_file: str
    courtroom: str = ""
    hearing_id: str = ""
    verify_tls: bool = True
    retry_seconds: float = 3.0
    cameras: list[CameraConfig] = field(default_factory=list)
    microphones: list[MicrophoneConfig] = field(default_factory=list)


def parse_source(text: str, kind: str) -> Source:
    """Split a source string; ValueError (without the key, the caller adds it) when it cannot be used."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("must be a non-empty string such as 'synthetic'")
    text = text.strip()
    schemes = CAMERA_SCHEMES if kind == "camera" else MICROPHONE_SCHEMES
    scheme, _, target = text.partition(":")
    if scheme not in schemes:
        raise ValueError(f"unknown {kind} source {text!r}: it must start with "
                         + ", ".join(f"{s}:" for s in schemes[:-1]) + " or be 'synthetic'")
    if scheme == "synthetic":
        return Source(scheme, "", _synthetic_options(target, kind))
    if not target:
        raise ValueError(f"{text!r} names no device (e.g. {_example(scheme, kind)!r})")
    if scheme == "opencv" and not target.isdigit():
        raise ValueError(f"{text!r}: an OpenCV camera is a number, e.g. 'opencv:0'")
    if scheme == "dshow":
        want = "video=" if kind == "camera" else "audio="
        if not target.startswith(want):
            raise ValueError(f"{text!r}: a DirectShow {kind} is written {_example(scheme, kind)!r}")
    if scheme == "avfoundation" and kind == "microphone" and not target.startswith(":"):
        # avfoundation's "video:audio" pair: an audio-only input is ":<index or name>".
        raise ValueError(f"{text!r}: an AVFoundation microphone is written 'avfoundation::0'")
    return Source(scheme, target)


def _example(scheme: str, kind: str) -> str:
    return {
        ("v4l2", "camera"): "v4l2:/dev/video0",
        ("opencv", "camera"): "opencv:0",
        ("dshow", "camera"): "dshow:video=Logitech BRIO",
        ("dshow", "microphone"): "dshow:audio=Microphone (USB Audio)",
        ("avfoundation", "camera"): "avfoundation:0",
        ("avfoundation", "microphone"): "avfoundation::0",
        ("alsa", "microphone"): "alsa:plughw:CARD=USB,DEV=0",
        ("pulse", "microphone"): "pulse:default",
    }.get((scheme, kind), f"{scheme}:/path/to/recording.mp4")


def _synthetic_options(text: str, kind: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key not in SYNTHETIC_OPTIONS[kind]:
            known = ", ".join(sorted(SYNTHETIC_OPTIONS[kind]))
            raise ValueError(f"synthetic {kind} option {part!r} is not one of: {known}")
        options[key] = value
    if kind == "camera" and "color" in options and not re.fullmatch(r"#[0-9a-fA-F]{6}", options["color"]):
        raise ValueError(f"color={options['color']} must be written #rrggbb, e.g. #3060c0")
    if kind == "microphone":
        _check_synthetic_microphone(options)
    return options


def _check_synthetic_microphone(options: dict[str, str]) -> None:
    try:
        channels = int(options.get("channels", "1"))
        tones = [float(t) for t in options.get("tones", options.get("tone", "440")).split("/")]
        on, off = float(options.get("on", "0")), float(options.get("off", "0"))
        level = float(options.get("level", "-12"))
    except ValueError:
        raise ValueError("synthetic microphone options are numbers, "
                         "e.g. 'synthetic:tone=440,on=2,off=1'") from None
    if not 1 <= channels <= 64:
        raise ValueError("channels must be between 1 and 64")
    if len(tones) not in (1, channels) or not all(20 <= t <= 20000 for t in tones):
        raise ValueError("tones are 20..20000 Hz, one for all channels or one per channel (tones=440/880)")
    if on < 0 or off < 0 or (off > 0 and on == 0):
        raise ValueError("on and off are seconds of tone and of silence, e.g. on=2,off=1")
    if not -60 <= level <= 0:
        raise ValueError("level is the tone's RMS in dBFS, between -60 and 0")


def load_courtroom_config(path: str | os.PathLike[str]) -> AgentConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourtroomConfigError(f"{path}: no such file (config/courtroom.toml is an example)") from None
    except tomllib.TOMLDecodeError as exc:
        raise CourtroomConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return parse_courtroom_config(raw, os.environ)
    except CourtroomConfigError as exc:
        raise CourtroomConfigError(f"{path}: {exc}") from None


def parse_courtroom_config(raw: dict[str, Any], env: dict[str, str] | os._Environ[str]) -> AgentConfig:
    _no_unknown(raw, "", {"server", "camera", "microphone"})
    server = raw.get("server", {})
    if not isinstance(server, dict):
        raise CourtroomConfigError("server must be a table: [server]")
    _no_unknown(server, "server.", {"url", "token_file", "courtroom", "hearing_id", "verify_tls",
                                    "retry_seconds"})
    url = env.get(ENV_URL) or _text(server, "server.", "url", "")
    token_file = env.get(ENV_TOKEN_FILE) or _text(server, "server.", "token_file", "")
    if not url:
        raise CourtroomConfigError(f"server.url is required (or set {ENV_URL})")
    if not re.match(r"(?i)^(https?|wss?)://[^/\s]+", url):
        raise CourtroomConfigError(f"server.url must start with https:// (or http://), got {url!r}")
    if not token_file:
        raise CourtroomConfigError(f"server.token_file is required (or set {ENV_TOKEN_FILE})")
    retry = server.get("retry_seconds", 3.0)
    if isinstance(retry, bool) or not isinstance(retry, (int, float)) or not 0 < retry <= 3600:
        raise CourtroomConfigError(f"server.retry_seconds must be a number of seconds above 0, got {retry!r}")
    verify_tls = server.get("verify_tls", True)
    if not isinstance(verify_tls, bool):
        raise CourtroomConfigError(f"server.verify_tls must be true or false, got {verify_tls!r}")
    config = AgentConfig(server_url=url.rstrip("/"), token_file=token_file,
                         courtroom=_text(server, "server.", "courtroom", ""),
                         hearing_id=_text(server, "server.", "hearing_id", ""),
                         verify_tls=verify_tls, retry_seconds=float(retry),
                         cameras=[_camera(t, f"camera[{i}].")
                                  for i, t in enumerate(_tables(raw, "camera"), 1)],
                         microphones=[_microphone(t, f"microphone[{i}].")
                                      for i, t in enumerate(_tables(raw, "microphone"), 1)])
    if not config.cameras and not config.microphones:
        raise CourtroomConfigError("no devices: add at least one [[camera]] or [[microphone]]")
    _check_together(config)
    return config


def _tables(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    tables = raw.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise CourtroomConfigError(f"{key} must be written as [[{key}]] tables")
    return tables


def _no_unknown(table: dict[str, Any], prefix: str, known: set[str]) -> None:
    for key in table:
        if key not in known:
            raise CourtroomConfigError(f"{prefix}{key} is not a known setting "
                                       f"(known: {', '.join(sorted(known))})")


def _text(table: dict[str, Any], prefix: str, key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise CourtroomConfigError(f"{prefix}{key} must be a string, got {value!r}")
    return value.strip()


def _integer(table: dict[str, Any], prefix: str, key: str, default: int, low: int, high: int,
             even: bool = False) -> int:
    value = table.get(key, default)
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not whole or not low <= value <= high or (even and value % 2):
        kind = "an even whole number" if even else "a whole number"
        raise CourtroomConfigError(f"{prefix}{key} must be {kind} from {low} to {high}, got {value!r}")
    return value


def _name(table: dict[str, Any], prefix: str) -> str:
    name = _text(table, prefix, "name", "")
    if not name:
        raise CourtroomConfigError(f"{prefix}name is required (it is shown on the camera's tile)")
    if len(name) > MAX_NAME:
        raise CourtroomConfigError(f"{prefix}name is longer than {MAX_NAME} characters: {name!r}")
    return name


def _source(table: dict[str, Any], prefix: str, kind: str) -> str:
    text = table.get("source")
    if text is None:
        raise CourtroomConfigError(f"{prefix}source is required (run 'hearing-server devices' to list them)")
    try:
        parse_source(text, kind)
    except ValueError as exc:
        raise CourtroomConfigError(f"{prefix}source: {exc}") from None
    return text.strip()


def _camera(table: dict[str, Any], prefix: str) -> CameraConfig:
    _no_unknown(table, prefix, {"name", "source", "width", "height", "fps"})
    # yuv420p needs even sizes; 16 px is the smallest picture an encoder takes without complaint.
    return CameraConfig(name=_name(table, prefix), source=_source(table, prefix, "camera"),
                        width=_integer(table, prefix, "width", 640, 16, 3840, even=True),
                        height=_integer(table, prefix, "height", 360, 16, 2160, even=True),
                        fps=_integer(table, prefix, "fps", 15, 1, 60))


def _microphone(table: dict[str, Any], prefix: str) -> MicrophoneConfig:
    _no_unknown(table, prefix, {"name", "source", "channel", "sample_rate"})
    channel = None if table.get("channel") is None else _integer(table, prefix, "channel", 1, 1, 64)
    return MicrophoneConfig(name=_name(table, prefix), source=_source(table, prefix, "microphone"),
                            channel=channel,
                            sample_rate=_integer(table, prefix, "sample_rate", 48000, 8000, 192000))


def _check_together(config: AgentConfig) -> None:
    groups: list[tuple[str, Sequence[CameraConfig | MicrophoneConfig]]] = [
        ("camera", config.cameras), ("microphone", config.microphones)]
    for kind, devices in groups:
        seen: dict[str, int] = {}
        for i, device in enumerate(devices, 1):
            key = device.name.casefold()
            if key in seen:
                raise CourtroomConfigError(f"{kind}[{i}].name: {device.name!r} is already the name of "
                                           f"{kind}[{seen[key]}]; names must differ")
            seen[key] = i
    cameras: dict[str, int] = {}
    for i, camera in enumerate(config.cameras, 1):
        # A real camera can be opened once; two synthetic or file cameras are independent.
        if not parse_source(camera.source, "camera").simulated and camera.source in cameras:
            raise CourtroomConfigError(f"camera[{i}].source: {camera.source!r} is already "
                                       f"camera[{cameras[camera.source]}]")
        cameras.setdefault(camera.source, i)
    # Microphones on one device share one capture: they must agree on its rate and not take the same input.
    shared: dict[str, tuple[int, MicrophoneConfig]] = {}
    inputs: dict[tuple[str, int | None], int] = {}
    for i, mic in enumerate(config.microphones, 1):
        first = shared.setdefault(mic.source, (i, mic))
        if first[1].sample_rate != mic.sample_rate:
            raise CourtroomConfigError(f"microphone[{i}].sample_rate: {mic.source!r} is also "
                                       f"microphone[{first[0]}] at {first[1].sample_rate} Hz; "
                                       "one device has one rate")
        if mic.channel is not None and (mic.source, mic.channel) in inputs:
            raise CourtroomConfigError(f"microphone[{i}].channel: channel {mic.channel} of {mic.source!r} is "
                                       f"already microphone[{inputs[(mic.source, mic.channel)]}]")
        inputs.setdefault((mic.source, mic.channel), i)
