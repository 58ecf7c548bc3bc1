"""The archive's tables: one schema for PostgreSQL and SQLite. Times are seconds since the epoch (UTC); the
`*_key` columns hold the case-folded text that searches match against (SQLite's lower() and LIKE fold
ASCII only, and a clerk types "айгерім" for "Айгерім")."""

from __future__ import annotations

from sqlalchemy import (
                        JSON,
                        BigInteger,
                        Boolean,
                        Column,
                        Double,
                        ForeignKey,
                        Index,
                        Integer,
                        MetaData,
                        String,
                        Table,
                        Text,
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s"})

# SQLite makes an INTEGER PRIMARY KEY the rowid (its own autoincrement); PostgreSQL wants a bigint identity.
Serial = BigInteger().with_variant(Integer(), "sqlite")

recordings = Table(
    "recordings", metadata,
    Column("hearing_id", String(64), primary_key=True),
    Column("case_number", Text, nullable=False),
    Column("case_key", Text, nullable=False),
    Column("case_category", Text, nullable=False, server_default=""),
    Column("title", Text, nullable=False, server_default=""),
    Column("court", Text, nullable=False, server_default=""),
    Column("court_key", Text, nullable=False, server_default=""),
    Column("courtroom", Text, nullable=False, server_default=""),
    Column("courtroom_key", Text, nullable=False, server_default=""),
    Column("judge", Text, nullable=False, server_default=""),
    Column("judge_name", Text, nullable=False, server_default=""),
    Column("judge_key", Text, nullable=False, server_default=""),  # username and name, for one search box
    Column("opened_at", Double, nullable=False),
    Column("closed_at", Double),
    Column("opened_iso", String(40), nullable=False, server_default=""),  # as the signed manifest writes it
    Column("closed_iso", String(40), nullable=False, server_default=""),
    Column("status", String(16), nullable=False),  # final | interrupted | deleted (a tombstone)
    Column("duration", Double, nullable=False, server_default="0"),
    Column("segments", Integer, nullable=False, server_default="0"),
    Column("gaps", Integer, nullable=False, server_default="0"),
    Column("size_bytes", BigInteger, nullable=False, server_default="0"),
    Column("manifest_sha256", String(64), nullable=False),
    Column("last_chain", String(64), nullable=False, server_default=""),
    # What the recording's page shows beyond the row: participants, gaps, pauses, files, the signature's key
    # (not the segment list: a three-hour hearing has thousands; the manifest in the store keeps them).
    Column("detail", JSON, nullable=False),
    Column("signature_key_id", String(32), nullable=False, server_default=""),
    Column("integrity_status", String(16), nullable=False, server_default="unchecked"),
    Column("integrity_checked_at", Double),
    Column("integrity_checks", Integer, nullable=False, server_default="0"),
    Column("integrity_failures", JSON),
    Column("retain_until", Double),  # null: kept until deleted by hand
    Column("legal_hold", Boolean, nullable=False, server_default="0"),
    Column("hold_reason", Text, nullable=False, server_default=""),
    Column("hold_by", Text, nullable=False, server_default=""),
    Column("hold_at", Double),
    Column("deleting_since", Double),  # a node is deleting its media (retention): claimed then
    Column("deleted_at", Double),
    Column("deleted_reason", Text, nullable=False, server_default=""),
    Column("indexed_at", Double, nullable=False),
)
Index("ix_recordings_opened", recordings.c.opened_at, recordings.c.hearing_id)  # read backwards: newest first
Index("ix_recordings_court", recordings.c.court_key, recordings.c.opened_at)
Index("ix_recordings_courtroom", recordings.c.courtroom_key, recordings.c.opened_at)
Index("ix_recordings_judge", recordings.c.judge_key)
Index("ix_recordings_case", recordings.c.case_key)
Index("ix_recordings_due", recordings.c.retain_until)

recording_participants = Table(
    "recording_participants", metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("hearing_id", String(64), ForeignKey("recordings.hearing_id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),
    Column("role", String(32), nullable=False, server_default=""),
)
Index("ix_recording_participants_hearing", recording_participants.c.hearing_id)
Index("ix_recording_participants_name", recording_participants.c.name_key)

# What a clerk searches in words: log notes and the transcript's lines (full-text, recorder/db/fulltext.py).
recording_texts = Table(
    "recording_texts", metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("hearing_id", String(64), ForeignKey("recordings.hearing_id", ondelete="CASCADE"), nullable=False),
    Column("offset", Double, nullable=False),
    Column("kind", String(16), nullable=False),  # a note kind (note, exhibit, ...) or "event"
    Column("text", Text, nullable=False),
)
Index("ix_recording_texts_hearing", recording_texts.c.hearing_id)

# The register of share links handed out (the audit log says who did it; this says what is outstanding).
shares = Table(
    "shares", metadata,
    Column("share_id", String(64), primary_key=True),
    Column("hearing_id", String(64), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("made_by", Text, nullable=False),
    Column("made_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("revoked_at", Double),
    Column("revoked_by", Text, nullable=False, server_default=""),
)
Index("ix_shares_hearing", shares.c.hearing_id, shares.c.made_at)

# Every token taken back before its time (shares, log-outs, removed participants), for every node.
revoked_tokens = Table(
    "revoked_tokens", metadata,
    Column("token_id", String(64), primary_key=True),
    Column("expires_at", Double, nullable=False),
    Column("revoked_at", Double, nullable=False),
)
Index("ix_revoked_tokens_expires", revoked_tokens.c.expires_at)

verifications = Table(
    "verifications", metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("hearing_id", String(64), nullable=False),
    Column("at", Double, nullable=False),
    Column("status", String(16), nullable=False),
    Column("checks", Integer, nullable=False),
    Column("failures", JSON, nullable=False),
    Column("actor", Text, nullable=False, server_default=""),
)
Index("ix_verifications_hearing", verifications.c.hearing_id, verifications.c.at)

# Append-only (triggers refuse UPDATE and DELETE, but of entries a checkpoint has pruned), hash-chained.
audit_log = Table(
    "audit_log", metadata,
    Column("seq", Serial, primary_key=True, autoincrement=False),
    Column("at", Double, nullable=False),
    Column("action", String(32), nullable=False),
    Column("hearing_id", String(64), nullable=False, server_default=""),
    Column("actor", Text, nullable=False, server_default=""),
    Column("role", String(32), nullable=False, server_default=""),
    Column("client", Text, nullable=False, server_default=""),
    Column("details", JSON),
    Column("node", Text, nullable=False, server_default=""),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
Index("ix_audit_log_hearing", audit_log.c.hearing_id, audit_log.c.seq)
Index("ix_audit_log_action", audit_log.c.action, audit_log.c.seq)
Index("ix_audit_log_at", audit_log.c.at)

# Where the chain now starts: pruning by audit_retention_days keeps the hash of the last entry it removed.
audit_checkpoints = Table(
    "audit_checkpoints", metadata,
    Column("upto_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("at", Double, nullable=False),
    Column("removed", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
)

# A streaming `archive reindex` remembers the last manifest it finished, to resume after an interruption.
reindex_progress = Table(
    "reindex_progress", metadata,
    Column("name", String(32), primary_key=True),
    Column("last_key", Text, nullable=False),
    Column("done", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("updated_at", Double, nullable=False),
)
