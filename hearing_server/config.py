"""Settings: embedded defaults, overlaid by a TOML file, overlaid by environment variables.

Every setting lives in a dataclass so that a typo in a TOML file is an error at start-up rather than a
silently ignored line in the middle of a hearing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from recorder.db.database import database_url
from recorder.retention import RetentionPolicy
from recorder.settings import ArchiveSettings, RecordingSettings, StorageSettings
from signaling.settings import SignalingSettings

from .i18n import LANGUAGES, court_zone

# The record's and the signaling protocol's own settings live with them (they import nothing of the server);
# they are sections of the server's settings like the others.
__all__ = ["ArchiveSettings", "RecordingSettings", "StorageSettings", "SignalingSettings"]

ENV_PREFIX = "COURTROOM_"


class ConfigError(ValueError):
    """The configuration file or an environment override is invalid."""


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8088
    # Base URL that join links and QR codes point at; empty means "the URL the request came in on".
    public_url: str = ""
    data_dir: str = "./data"
    # HTTPS without a reverse proxy: phones only allow camera access on https:// (or localhost).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # "uvloop" (libuv) or "asyncio" (the standard library's loop). aiortc moves every RTP packet through
    # the loop in Python; uvloop cut the server's CPU per four-party hearing by a fifth (docs/performance.md).
    event_loop: str = "uvloop"


@dataclass
class AuthSettings:
    # File holding the HMAC key that signs every token; created on first start when missing.
    secret_file: str = ""
    staff_ttl_hours: float = 12.0
    invite_ttl_hours: float = 72.0
    session_ttl_hours: float = 12.0
    login_attempts_per_minute: int = 10


@dataclass
class StateSettings:
    backend: str = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "courtroom:"
    # Redis Sentinel ("host:port" each): the current master of `redis_sentinel_master` is asked of them, and
    # asked again after a failover. redis_url then gives only the password, the database and TLS.
    redis_sentinels: list[str] = field(default_factory=list)
    redis_sentinel_master: str = "courtroom"


@dataclass
class MediaSettings:
    width: int = 1280
    height: int = 720
    fps: int = 15
    video_bitrate: int = 1_200_000
    keyframe_interval_seconds: float = 2.0
    x264_preset: str = "superfast"
    encoder_threads: int = 1
    # Opus bit rate of the mix-minus each participant hears (mono speech), bits per second.
    voice_bitrate: int = 32000
    # The composite at half size for receivers whose link cannot carry video_bitrate (hearing_server.media.layers),
    # bits per second; encoded only while someone needs it. 0: no lower layers, everyone gets the main one.
    low_layer_bitrate: int = 300_000
    # Addresses the server's ICE agent gathers and advertises as host candidates. Empty: every
    # non-loopback interface (aioice's default). Tests and single-host demos set ["127.0.0.1"].
    ice_addresses: list[str] = field(default_factory=list)
    # 1:1 NAT: "private=public" pairs rewritten in the host candidates the server advertises.
    ice_nat_mapping: list[str] = field(default_factory=list)
    stun_urls: list[str] = field(default_factory=list)
    turn_urls: list[str] = field(default_factory=list)
    turn_username: str = ""
    turn_password: str = ""
    reconnect_grace_seconds: float = 60.0
    # Media worker processes: each carries whole hearings (their peer connections, mixer, encoder,
    # recording) on a core of its own. -1: one per core; 0: the hearings' media in the server's own
    # process (small installs, tests).
    workers: int = -1
    # A worker takes at most this many hearings; when every worker is full a new hearing is refused (503).
    hearings_per_worker: int = 3


@dataclass
class NodeSettings:
    """One server among several (state.backend = "redis"): how the others know and reach it."""

    # Its name in the node registry. Empty: <host name>-<server.port>.
    node_id: str = ""
    # Where the other nodes reach this one's front to relay a WebSocket or an API call for a hearing it
    # carries (a private address is best). Empty: http://<server.host>:<server.port>.
    internal_url: str = ""
    # On SIGTERM the node takes no new hearing and hands each of its own to another node (the participants
    # reconnect within seconds); it first waits this long for hearings to finish by themselves.
    drain_seconds: float = 0.0


@dataclass
class CourtSettings:
    """The court itself: the language its picture speaks and its pages fall back to, and its clock."""

    # "kk" (Kazakh), "ru" (Russian) or "en" (English). The composite (everyone's picture and the record)
    # says its words in it; a page shows the language its browser asks for (Accept-Language) if it is one
    # of these three, this one otherwise, and each person can switch on every page.
    language: str = "kk"
    # An IANA time zone (the system's tz database) or a fixed offset such as "+05:00". Pages and the picture
    # show the court's local time; the record keeps UTC. Kazakhstan has been UTC+5 throughout since 2024.
    time_zone: str = "Asia/Almaty"
    # A party the court admitted who opens their join link again (closed the tab, the phone crashed, pressed
    # Leave by mistake): "seat" — back to their seat if within media.reconnect_grace_seconds of leaving, else
    # to the waiting room; "lobby" — always to the waiting room, where the court sees "returning" and
    # readmits with one click.
    rejoin_by_link: str = "seat"


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    court: CourtSettings = field(default_factory=CourtSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    state: StateSettings = field(default_factory=StateSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    signaling: SignalingSettings = field(default_factory=SignalingSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    node: NodeSettings = field(default_factory=NodeSettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)

    @property
    def data_path(self) -> Path:
        return Path(self.server.data_dir).expanduser()

    @property
    def secret_path(self) -> Path:
        return Path(self.auth.secret_file) if self.auth.secret_file else self.data_path / "token.key"

    @property
    def users_path(self) -> Path:
        return self.data_path / "users.json"

    @property
    def device_tokens_path(self) -> Path:
        return self.data_path / "device-tokens.json"

    @property
    def spool_path(self) -> Path:
        return Path(self.recording.spool_dir) if self.recording.spool_dir else self.data_path / "spool"

    @property
    def signing_key_path(self) -> Path:
        return (Path(self.recording.signing_key_file) if self.recording.signing_key_file
                else self.data_path / "recording-signing.key")

    @property
    def recordings_path(self) -> Path:
        return Path(self.storage.local_dir) if self.storage.local_dir else self.data_path / "recordings"

    @property
    def node_id(self) -> str:
        return self.node.node_id or f"{socket.gethostname()}-{self.server.port}"

    @property
    def node_url(self) -> str:
        if self.node.internal_url:
            return self.node.internal_url.rstrip("/")
        host = self.server.host if self.server.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        scheme = "https" if self.server.tls_cert_file else "http"
        return f"{scheme}://{host}:{self.server.port}"

    @property
    def audit_path(self) -> Path:
        return self.data_path / "audit.jsonl"


def _coerce(section: str, name: str, current: Any, raw: Any) -> Any:
    """Convert a TOML or environment value to the type of the embedded default."""
    where = f"{section}.{name}"
    if isinstance(current, bool):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return raw.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected true or false, got {raw!r}")
    if isinstance(current, list):
        if isinstance(raw, str):
            # Environment values: a JSON list, or a comma-separated list.
            raw = raw.strip()
            if raw.startswith("["):
                try:
                    raw = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{where}: invalid JSON list ({exc})") from None
            else:
                raw = [item.strip() for item in raw.split(",") if item.strip()]
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise ConfigError(f"{where}: expected a list of strings")
        return list(raw)
    if isinstance(current, int):
        try:
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {raw!r}") from None
    if isinstance(current, float):
        try:
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {raw!r}") from None
    if not isinstance(raw, str):
        raise ConfigError(f"{where}: expected a string, got {raw!r}")
    return raw


def _apply(settings: Settings, data: Mapping[str, Any], origin: str) -> None:
    for section_name, values in data.items():
        section = getattr(settings, section_name, None)
        if section is None or not dataclasses.is_dataclass(section):
            raise ConfigError(f"{origin}: unknown section [{section_name}]")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: [{section_name}] must be a table")
        known = {f.name for f in dataclasses.fields(section)}
        for name, raw in values.items():
            if name not in known:
                raise ConfigError(f"{origin}: unknown setting {section_name}.{name}")
            setattr(section, name, _coerce(section_name, name, getattr(section, name), raw))


def _env_overrides(settings: Settings, environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    sections = {f.name for f in dataclasses.fields(settings)}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        rest = key[len(ENV_PREFIX):].lower()
        section, _, name = rest.partition("_")
        if section in sections and name:
            overrides.setdefault(section, {})[name] = value
    return overrides


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Embedded defaults, then the TOML file (if any), then COURTROOM_<SECTION>_<NAME> variables."""
    settings = Settings()
    if path is not None:
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file not found: {file}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from None
        _apply(settings, data, str(file))
    _apply(settings, _env_overrides(settings, os.environ if environ is None else environ), "environment")
    validate(settings)
    return settings


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """Every setting as plain data (a media worker is started with its front's settings)."""
    return dataclasses.asdict(settings)


def settings_from_dict(data: Mapping[str, Any]) -> Settings:
    settings = Settings()
    _apply(settings, data, "settings")
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    if settings.court.rejoin_by_link not in ("seat", "lobby"):
        raise ConfigError('court.rejoin_by_link must be "seat" or "lobby"')
    if settings.court.language not in LANGUAGES:
        raise ConfigError(f"court.language must be one of {', '.join(LANGUAGES)}")
    try:
        court_zone(settings.court.time_zone)
    except ValueError as exc:
        raise ConfigError(f"court.time_zone: {exc}") from None
    if settings.server.event_loop not in ("uvloop", "asyncio"):
        raise ConfigError('server.event_loop must be "uvloop" or "asyncio"')
    if bool(settings.server.tls_cert_file) != bool(settings.server.tls_key_file):
        raise ConfigError("server.tls_cert_file and server.tls_key_file go together")
    if settings.storage.backend not in ("local", "s3"):
        raise ConfigError("storage.backend must be 'local' or 's3'")
    if settings.storage.backend == "s3" and not settings.storage.s3_bucket:
        raise ConfigError("storage.s3_bucket is required when storage.backend = 's3'")
    if not 1.0 <= settings.recording.segment_seconds <= 60.0:
        raise ConfigError("recording.segment_seconds must be between 1 and 60")
    try:
        database_url(settings.archive.database_url, settings.data_path)
        RetentionPolicy(settings.archive)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if settings.archive.retention_days < 0 or settings.archive.audit_retention_days < 0:
        raise ConfigError("archive.retention_days and archive.audit_retention_days must be 0 (for ever) or more")
    if not 1 <= settings.archive.database_pool_size <= 100:
        raise ConfigError("archive.database_pool_size must be between 1 and 100")
    if settings.state.backend not in ("memory", "redis"):
        raise ConfigError("state.backend must be 'memory' or 'redis'")
    for sentinel in settings.state.redis_sentinels:
        host, _, port = sentinel.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"state.redis_sentinels entry {sentinel!r} must look like 'host:port'")
    if not 1 <= settings.server.port <= 65535 and settings.server.port != 0:
        raise ConfigError("server.port must be between 1 and 65535 (0 picks a free port)")
    media = settings.media
    if media.width % 16 or media.height % 8 or media.width < 320 or media.height < 180:
        raise ConfigError("media.width must be a multiple of 16 and media.height of 8 (at least 320×180)")
    if media.low_layer_bitrate and not 50_000 <= media.low_layer_bitrate < media.video_bitrate:
        raise ConfigError("media.low_layer_bitrate must be 0 (off) or between 50000 and media.video_bitrate")
    if not 6000 <= media.voice_bitrate <= 510000:
        raise ConfigError("media.voice_bitrate must be between 6000 and 510000 bits per second")
    if not 1 <= media.fps <= 60:
        raise ConfigError("media.fps must be between 1 and 60")
    for pair in media.ice_nat_mapping:
        if pair.count("=") != 1:
            raise ConfigError(f"media.ice_nat_mapping entry {pair!r} must look like 'private=public'")
