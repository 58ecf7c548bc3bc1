"""The court record's settings: the [recording] and [storage] sections of the server's configuration
(hearing_server.config composes them with the others and documents them in docs/configuration.md)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecordingSettings:
    enabled: bool = True
    segment_seconds: float = 4.0
    audio_bitrate: int = 64000
    # Where segments wait until the store confirmed them. Empty: <data_dir>/spool.
    spool_dir: str = ""
    # Ed25519 key that signs manifests. Empty: <data_dir>/recording-signing.key, created on first start.
    signing_key_file: str = ""
    pause_during_recess: bool = False
    speaking_threshold_dbfs: float = -45.0
    upload_max_backoff_seconds: float = 30.0


@dataclass
class StorageSettings:
    backend: str = "local"
    # Local backend: the folder finished recordings live in. Empty: <data_dir>/recordings.
    local_dir: str = ""
    s3_bucket: str = ""
    s3_prefix: str = "recordings/"
    s3_endpoint_url: str = ""
    s3_region: str = ""
    # Empty: boto3's usual sources (environment, ~/.aws, instance role).
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_multipart_threshold_mb: int = 16
    download_link_seconds: int = 900
    share_link_hours: float = 168.0


@dataclass
class ArchiveSettings:
    # The catalog, the audit log and the register of shares and revocations (recorder/db/). Empty: an SQLite
    # file, <data_dir>/archive.db. Several nodes: one PostgreSQL for all, e.g.
    # "postgresql://courtroom@db.court.kz/courtroom" (docs/operations.md).
    database_url: str = ""
    # Connections each node keeps open to PostgreSQL (SQLite uses one).
    database_pool_size: int = 5
    # Days a recording is kept after its hearing opened; 0 keeps it until someone deletes it by hand.
    retention_days: int = 0
    # Per court or per case category, overriding retention_days: "name=days" (e.g. "criminal=0" for ever).
    # A category's period wins over a court's.
    retention_by_court: list[str] = field(default_factory=list)
    retention_by_category: list[str] = field(default_factory=list)
    # How often a node looks for recordings past their retention period.
    retention_check_minutes: float = 60.0
    # Days audit entries are kept; 0 keeps them for ever. Pruning leaves a checkpoint that `audit verify`
    # checks the rest of the chain from.
    audit_retention_days: int = 0
