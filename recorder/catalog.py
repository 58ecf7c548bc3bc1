"""The archive's index: one row per recording in the database (recorder/db/), searched there. The signed
manifests in the store remain the source of truth; `hearing-server archive reindex` rebuilds this from them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import and_, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from .db.database import Database, DatabaseUnavailable
from .db.schema import recording_participants, recording_texts, recordings, verifications
from .manifest import Manifest
from .search_key import like_pattern, search_key
from .transcript import entry_text, utc_epoch

log = logging.getLogger(__name__)

PAGE_LIMIT = 200  # the most rows one page of results carries
TOTAL_CAP = 10_000  # counted exactly up to here; beyond, "more than 10,000" (counting a million rows is slow)
HITS_PER_RECORDING = 3  # lines quoted per recording in a full-text search
CLAIM_SECONDS = 3600.0  # a deletion a node claimed and never finished (it died) is taken up after this


@dataclass
class Query:
    case_number: str = ""
    case_prefix: bool = False  # the case number starts with, rather than contains, the text
    court: str = ""
    courtroom: str = ""
    judge: str = ""  # username or name
    participant: str = ""
    text: str = ""  # words in the log notes and the transcript
    date_from: date | None = None  # the day the hearing opened (UTC), inclusive
    date_to: date | None = None
    include_deleted: bool = False


@dataclass
class Recording:
    """A recording as the catalog knows it."""

    hearing_id: str
    case_number: str
    case_category: str
    title: str
    court: str
    courtroom: str
    judge: str
    judge_name: str
    opened_at: str
    closed_at: str
    status: str
    duration: float
    segments: int
    gaps: int
    size_bytes: int
    manifest_sha256: str
    last_chain: str
    signature_key_id: str
    detail: dict[str, Any]
    integrity: dict[str, Any]
    retain_until: float | None
    legal_hold: bool
    hold_reason: str
    hold_by: str
    hold_at: float | None
    deleted_at: float | None
    deleted_reason: str
    hits: list[dict[str, Any]] = field(default_factory=list)  # matched lines of a full-text search

    @property
    def participants(self) -> list[dict[str, Any]]:
        return list(self.detail.get("participants", []))


@dataclass
class Page:
    recordings: list[Recording]
    total: int
    total_capped: bool
    next_cursor: str | None


def manifest_digest(manifest: Manifest) -> str:
    """SHA-256 of manifest.json as the recorder writes it (finalise.py) and the store keeps it."""
    return hashlib.sha256(manifest.to_json().encode("utf-8")).hexdigest()


def transcript_texts(transcript: dict[str, Any] | None) -> list[tuple[float, str, str]]:
    """The lines worth finding by their words: log notes and court events (not "X speaking")."""
    lines: list[tuple[float, str, str]] = []
    for entry in (transcript or {}).get("entries", []):
        try:
            if entry["kind"] == "note":
                lines.append((float(entry["offset"]), str(entry.get("note_kind", "note")), str(entry["text"])))
            elif entry["kind"] == "event":
                lines.append((float(entry["offset"]), "event", entry_text(entry)))
        except (KeyError, TypeError, ValueError):
            continue
    return lines


def _day_start(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def encode_cursor(opened_at: float, hearing_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([opened_at, hearing_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The position after which the next page starts; ValueError when it is not one of ours."""
    try:
        opened_at, hearing_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return float(opened_at), str(hearing_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValueError("cursor is not one this server gave") from None


RetentionRule = Callable[[str, str, float], "float | None"]  # (court, category, opened_at) -> delete after


class Catalog:
    def __init__(self, database: Database, retention: RetentionRule | None = None) -> None:
        self.db = database
        self.retention = retention or (lambda court, category, opened: None)
        self._pending: asyncio.Queue[tuple[Manifest, list[tuple[float, str, str]], str | None, asyncio.Future]] = \
            asyncio.Queue()
        self._writer: asyncio.Task | None = None

    # -- writing ------------------------------------------------------------------------------------

    def submit(self, manifest: Manifest, texts: list[tuple[float, str, str]],
               digest: str | None = None) -> asyncio.Future:
        """Index a finished recording in the background, retrying while the database is down; the future
        resolves once it is in (the recorder keeps the spool until then)."""
        done: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending.put_nowait((manifest, texts, digest, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending())
        return done

    async def _write_pending(self) -> None:
        delay = 0.5
        while not self._pending.empty():
            manifest, texts, digest, done = self._pending.get_nowait()
            while True:
                try:
                    await self.add(manifest, texts, digest)
                except DatabaseUnavailable as exc:
                    log.warning("catalog: %s not indexed yet, the database is unavailable (%s); retrying in "
                                "%.0f s", manifest.hearing_id, exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                except Exception as exc:
                    log.exception("catalog: recording %s could not be indexed", manifest.hearing_id)
                    if not done.done():
                        done.set_exception(exc)
                    break
                delay = 0.5
                if not done.done():
                    done.set_result(None)
                break

    async def close(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    async def add(self, manifest: Manifest, texts: list[tuple[float, str, str]],
                  digest: str | None = None) -> None:
        """Insert or refresh a recording's row. What the court decided about it (integrity, hold, retention,
        deletion) is kept; a deleted recording stays a tombstone."""
        opened = utc_epoch(manifest.opened_at) or 0.0
        detail = {"participants": manifest.participants, "gaps": [g.__dict__ for g in manifest.gaps],
                  "pauses": manifest.pauses, "files": [f.__dict__ for f in manifest.files],
                  "signature": {k: v for k, v in manifest.signature.items() if k != "value"}}
        size = sum(s.size for s in manifest.segments) + sum(f.size for f in manifest.files)
        row: dict[str, Any] = {
            "case_number": manifest.case_number, "case_key": search_key(manifest.case_number),
            "case_category": manifest.case_category, "title": manifest.title,
            "court": manifest.court, "court_key": search_key(manifest.court),
            "courtroom": manifest.courtroom, "courtroom_key": search_key(manifest.courtroom),
            "judge": manifest.judge, "judge_name": manifest.judge_name,
            "judge_key": search_key(f"{manifest.judge} {manifest.judge_name}"),
            "opened_at": opened, "closed_at": utc_epoch(manifest.closed_at),
            "opened_iso": manifest.opened_at, "closed_iso": manifest.closed_at,
            "status": manifest.status, "duration": manifest.duration, "segments": len(manifest.segments),
            "gaps": len(manifest.gaps), "size_bytes": size,
            "manifest_sha256": digest or manifest_digest(manifest), "last_chain": manifest.last_chain,
            "signature_key_id": manifest.signature.get("key_id", ""), "detail": detail, "indexed_at": time.time(),
        }
        first = {**row, "hearing_id": manifest.hearing_id,
                 "retain_until": self.retention(manifest.court, manifest.case_category, opened)}
        maker = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        statement = maker(recordings).values(**first)
        statement = statement.on_conflict_do_update(index_elements=[recordings.c.hearing_id], set_=row,
                                                    where=recordings.c.deleted_at.is_(None))
        async with self.db.transaction() as conn:
            result = await conn.execute(statement)
            if result.rowcount == 0:  # a tombstone: nothing of it comes back
                return
            await conn.execute(delete(recording_participants)
                               .where(recording_participants.c.hearing_id == manifest.hearing_id))
            await conn.execute(delete(recording_texts).where(recording_texts.c.hearing_id == manifest.hearing_id))
            people = [{"hearing_id": manifest.hearing_id, "name": str(p.get("name", "")),
                       "name_key": search_key(str(p.get("name", ""))), "role": str(p.get("role", ""))}
                      for p in manifest.participants if p.get("name")]
            if people:
                await conn.execute(insert(recording_participants), people)
            lines = [{"hearing_id": manifest.hearing_id, "offset": offset, "kind": kind, "text": words}
                     for offset, kind, words in texts if words.strip()]
            if lines:
                await conn.execute(insert(recording_texts), lines)

    async def set_integrity(self, hearing_id: str, result: dict[str, Any], actor: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(insert(verifications).values(
                hearing_id=hearing_id, at=result["checked_at"], status=result["status"], checks=result["checks"],
                failures=result["failures"], actor=actor))
            await conn.execute(update(recordings).where(recordings.c.hearing_id == hearing_id).values(
                integrity_status=result["status"], integrity_checked_at=result["checked_at"],
                integrity_checks=result["checks"], integrity_failures=result["failures"]))

    async def hold(self, hearing_id: str, reason: str, by: str) -> bool:
        async with self.db.transaction() as conn:
            result = await conn.execute(update(recordings).where(
                recordings.c.hearing_id == hearing_id, recordings.c.deleted_at.is_(None)).values(
                legal_hold=True, hold_reason=reason, hold_by=by, hold_at=time.time()))
            return bool(result.rowcount)

    async def release(self, hearing_id: str) -> bool:
        async with self.db.transaction() as conn:
            result = await conn.execute(update(recordings).where(
                recordings.c.hearing_id == hearing_id, recordings.c.legal_hold.is_(True)).values(
                legal_hold=False, hold_reason="", hold_by="", hold_at=None))
            return bool(result.rowcount)

    async def set_retention(self, hearing_id: str, retain_until: float | None) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(update(recordings).where(recordings.c.hearing_id == hearing_id)
                               .values(retain_until=retain_until))

    async def claim_for_deletion(self, hearing_id: str) -> bool:
        """One node deletes a recording: the one whose claim lands (and only while no hold is on it)."""
        async with self.db.transaction() as conn:
            result = await conn.execute(update(recordings).where(
                recordings.c.hearing_id == hearing_id, recordings.c.deleted_at.is_(None),
                recordings.c.legal_hold.is_(False),
                or_(recordings.c.deleting_since.is_(None), recordings.c.deleting_since < time.time() - CLAIM_SECONDS))
                .values(deleting_since=time.time()))
            return bool(result.rowcount)

    async def release_claim(self, hearing_id: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(update(recordings).where(recordings.c.hearing_id == hearing_id)
                               .values(deleting_since=None))

    async def tombstone(self, hearing_id: str, reason: str) -> None:
        """The recording's media is gone from the store: keep who, what and its manifest's hash."""
        async with self.db.transaction() as conn:
            await conn.execute(update(recordings).where(recordings.c.hearing_id == hearing_id).values(
                status="deleted", deleted_at=time.time(), deleted_reason=reason))
            await conn.execute(delete(recording_texts).where(recording_texts.c.hearing_id == hearing_id))

    # -- reading ------------------------------------------------------------------------------------

    async def get(self, hearing_id: str, include_deleted: bool = False) -> Recording | None:
        condition = recordings.c.hearing_id == hearing_id
        if not include_deleted:
            condition = and_(condition, recordings.c.deleted_at.is_(None))
        async with self.db.connect() as conn:
            row = (await conn.execute(select(recordings).where(condition))).mappings().first()
        return _recording(row) if row is not None else None

    async def due(self, now: float, limit: int = 100) -> list[Recording]:
        """Recordings past their retention period and not on legal hold, oldest first."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(recordings).where(
                recordings.c.retain_until.is_not(None), recordings.c.retain_until <= now,
                recordings.c.legal_hold.is_(False), recordings.c.deleted_at.is_(None))
                .order_by(recordings.c.retain_until).limit(limit))).mappings().all()
        return [_recording(r) for r in rows]

    async def empty(self) -> bool:
        async with self.db.connect() as conn:
            return (await conn.execute(select(recordings.c.hearing_id).limit(1))).first() is None

    async def count(self) -> int:
        async with self.db.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(recordings))).scalar_one())

    async def search(self, query: Query, limit: int = 50, cursor: str = "") -> Page:
        conditions = self._conditions(query)
        page_conditions = list(conditions)
        if cursor:
            opened, hid = decode_cursor(cursor)
            page_conditions.append(or_(recordings.c.opened_at < opened,
                                       and_(recordings.c.opened_at == opened, recordings.c.hearing_id < hid)))
        limit = max(1, min(limit, PAGE_LIMIT))
        rows_query = (select(recordings).where(*page_conditions)
                      .order_by(recordings.c.opened_at.desc(), recordings.c.hearing_id.desc()).limit(limit + 1))
        counted = select(recordings.c.hearing_id).where(*conditions).limit(TOTAL_CAP + 1).subquery()
        async with self.db.connect() as conn:
            rows = (await conn.execute(rows_query)).mappings().all()
            total = int((await conn.execute(select(func.count()).select_from(counted))).scalar_one())
            found = [_recording(r) for r in rows[:limit]]
            if query.text and found:
                await self._quote_hits(conn, query.text, found)
        more = len(rows) > limit
        last = found[-1] if found else None
        return Page(found, min(total, TOTAL_CAP), total > TOTAL_CAP,
                    encode_cursor(utc_epoch(last.opened_at) or 0.0, last.hearing_id) if more and last else None)

    def _conditions(self, query: Query) -> list[Any]:
        c = recordings.c
        conditions: list[Any] = []
        if not query.include_deleted:
            conditions.append(c.deleted_at.is_(None))
        if query.case_number:
            conditions.append(c.case_key.like(like_pattern(query.case_number, query.case_prefix), escape="\\"))
        for column, value in ((c.court_key, query.court), (c.courtroom_key, query.courtroom),
                              (c.judge_key, query.judge)):
            if value:
                conditions.append(column.like(like_pattern(value), escape="\\"))
        if query.participant:
            p = recording_participants.c
            conditions.append(exists().where(p.hearing_id == c.hearing_id,
                                             p.name_key.like(like_pattern(query.participant), escape="\\")))
        if query.date_from:
            conditions.append(c.opened_at >= _day_start(query.date_from))
        if query.date_to:
            conditions.append(c.opened_at < _day_start(query.date_to + timedelta(days=1)))
        if query.text:
            conditions.append(c.hearing_id.in_(self._text_matches(query.text)))
        return conditions

    def _text_condition(self, words: str) -> Any:
        """recording_texts rows whose words match: PostgreSQL's tsvector, or SQLite's FTS5 index."""
        if self.db.dialect == "postgresql":
            return text("recording_texts.tsv @@ (websearch_to_tsquery('russian', :words) || "
                        "websearch_to_tsquery('simple', :words))").bindparams(words=words)
        return recording_texts.c.id.in_(
            select(text("rowid")).select_from(text("recording_texts_fts"))
            .where(text("recording_texts_fts MATCH :words").bindparams(words=fts5_query(words))))

    def _text_matches(self, words: str) -> Any:
        return select(recording_texts.c.hearing_id).where(self._text_condition(words))

    async def _quote_hits(self, conn: Any, words: str, found: list[Recording]) -> None:
        t = recording_texts.c
        ids = [r.hearing_id for r in found]
        rows = (await conn.execute(select(t.hearing_id, t.offset, t.kind, t.text)
                                   .where(t.hearing_id.in_(ids), self._text_condition(words))
                                   .order_by(t.hearing_id, t.offset))).all()
        by_id = {r.hearing_id: r for r in found}
        for hid, offset, kind, words_found in rows:
            hits = by_id[hid].hits
            if len(hits) < HITS_PER_RECORDING:
                hits.append({"offset": offset, "kind": kind, "text": words_found})


def fts5_query(words: str) -> str:
    """A clerk's words as an FTS5 query: every word must occur (as a prefix for the last one), and nothing
    they type is FTS5 syntax."""
    tokens = [w.replace('"', '""') for w in words.split() if w.strip()]
    if not tokens:
        return '""'
    quoted = [f'"{w}"' for w in tokens]
    quoted[-1] += "*"
    return " AND ".join(quoted)


def _recording(row: Any) -> Recording:
    return Recording(
        hearing_id=row["hearing_id"], case_number=row["case_number"], case_category=row["case_category"],
        title=row["title"], court=row["court"], courtroom=row["courtroom"], judge=row["judge"],
        judge_name=row["judge_name"], opened_at=row["opened_iso"], closed_at=row["closed_iso"],
        status=row["status"], duration=row["duration"], segments=row["segments"], gaps=row["gaps"],
        size_bytes=row["size_bytes"], manifest_sha256=row["manifest_sha256"], last_chain=row["last_chain"],
        signature_key_id=row["signature_key_id"], detail=row["detail"] or {},
        integrity={"status": row["integrity_status"]} if row["integrity_checked_at"] is None else {
            "status": row["integrity_status"], "checked_at": row["integrity_checked_at"],
            "checks": row["integrity_checks"], "failures": row["integrity_failures"] or []},
        retain_until=row["retain_until"], legal_hold=bool(row["legal_hold"]), hold_reason=row["hold_reason"],
        hold_by=row["hold_by"], hold_at=row["hold_at"], deleted_at=row["deleted_at"],
        deleted_reason=row["deleted_reason"])
