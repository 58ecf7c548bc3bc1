"""Who looked at, downloaded or handed out which recording: an append-only, hash-chained audit log in the
archive's database, one for every node.

Each entry's hash covers the one before it: hash_n = sha256(hash_{n-1} || canonical JSON of entry n), with
hash_0 = sha256("courtroom-audit/1"). The database refuses UPDATE and DELETE on it (triggers; and the
server's role should not hold those rights at all, docs/security.md), and `hearing-server audit verify`
finds an entry removed, altered or inserted since. Retention prunes from the oldest end only, leaving a
checkpoint with the last pruned entry's hash, which the chain is then checked from.

One link holder must not be able to grow it without bound (a script reloading a shared page all day), so:
- the same access by the same token from the same address within COALESCE_SECONDS is one entry, and the
  next one written for it says how many times it happened meanwhile (`repeated`);
- reads are rate-limited per token (a bucket of READ_BURST entries, one more every READ_REFILL_SECONDS);
  what the limit held back is counted in the token's next entry (`suppressed`), never silently lost.
Entries that are the register of what was handed out (shares, revocations, verifications, holds,
deletions) are never coalesced or limited.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

from sqlalchemy import delete, func, insert, select, text

from .db.database import Database
from .db.schema import audit_checkpoints, audit_log
from .journal import read_journal
from .transcript import utc_epoch, utc_iso

log = logging.getLogger(__name__)

# What the archive writes here; entries() returns the newest first, as a clerk reads a log.
ACTIONS = ("view", "search", "transcript", "manifest", "package", "shares_list", "play", "download", "verify",
           "share", "share_revoked", "shared_view", "shared_transcript", "shared_play", "shared_download",
           "shared_package", "hold", "hold_released", "retention_deleted", "audit_pruned", "audit_exported")
REGISTER = frozenset({"share", "share_revoked", "verify", "hold", "hold_released", "retention_deleted",
                      "audit_pruned", "audit_exported"})
COALESCE_SECONDS = 60.0
READ_BURST = 30
READ_REFILL_SECONDS = 10.0
_TABLE_LIMIT = 50_000  # tokens and repeat keys remembered at once; the oldest are forgotten past it
GENESIS = hashlib.sha256(b"courtroom-audit/1").hexdigest()
_LOCK_KEY = 0x61756469  # "audi": PostgreSQL's transaction lock that puts appends from every node in one line
IMPORT_BATCH = 1000
EXPORT_FIELDS = ("seq", "at", "action", "hearing_id", "actor", "role", "client", "node", "details", "hash")


def entry_hash(previous: str, entry: dict[str, Any]) -> str:
    """The chain link of one entry (its fields as stored, without the hashes themselves)."""
    body = {k: entry.get(k) for k in ("seq", "at", "action", "hearing_id", "actor", "role", "client", "node",
                                      "details")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(bytes.fromhex(previous) + canonical).hexdigest()


@dataclass
class _Repeat:
    last_written: float
    count: int = 0  # happened since the entry written at last_written


@dataclass
class _Bucket:
    level: float
    stamp: float
    suppressed: int = 0


@dataclass
class ChainReport:
    checked: int
    first_seq: int | None
    last_seq: int | None
    checkpoint: dict[str, Any] | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    def __init__(self, database: Database, node: str = "") -> None:
        self.db = database
        self.node = node
        self._repeats: dict[tuple, _Repeat] = {}
        self._buckets: dict[str, _Bucket] = {}

    async def record(self, action: str, hearing_id: str, actor: str, role: str, client: str = "",
                     token: str = "", **details: Any) -> bool:
        """Write the entry, unless it repeats one written moments ago or its token is over its rate.
        Returns whether an entry was written. Raises DatabaseUnavailable: an access that cannot be
        audited is not granted."""
        current = time.monotonic()
        if action not in REGISTER:
            key = (action, hearing_id, actor, client, token, repr(sorted(details.items())))
            repeat = self._repeats.get(key)
            if repeat is not None and current - repeat.last_written < COALESCE_SECONDS:
                repeat.count += 1
                return False
            bucket = self._bucket(token or actor, current)
            if bucket.level < 1:
                bucket.suppressed += 1
                return False
            bucket.level -= 1
            if repeat is not None and repeat.count:
                details["repeated"] = repeat.count
            if bucket.suppressed:
                details["suppressed"] = bucket.suppressed
                bucket.suppressed = 0
            self._repeats[key] = _Repeat(current)
            if len(self._repeats) > _TABLE_LIMIT:
                self._forget(self._repeats, lambda r: r.last_written)
        await self.append({"at": time.time(), "action": action, "hearing_id": hearing_id, "actor": actor,
                           "role": role, "client": client, "node": self.node, "details": details or None})
        return True

    async def append(self, entry: dict[str, Any]) -> int:
        """Chain and insert one entry; its sequence number is returned."""
        return await self.append_many([entry])

    async def append_many(self, entries: list[dict[str, Any]]) -> int:
        """Chain and insert entries in one transaction, in order; the last one's sequence number is returned."""
        async with self.db.transaction() as conn:
            if self.db.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            seq, previous = await self._head(conn)
            rows = []
            for entry in entries:
                seq += 1
                row = {**entry, "seq": seq, "prev_hash": previous}
                row["hash"] = previous = entry_hash(previous, row)
                rows.append(row)
            if rows:
                await conn.execute(insert(audit_log), rows)
            return seq

    async def _head(self, conn: Any) -> tuple[int, str]:
        last = (await conn.execute(select(audit_log.c.seq, audit_log.c.hash)
                                   .order_by(audit_log.c.seq.desc()).limit(1))).first()
        if last is not None:
            return int(last.seq), str(last.hash)
        checkpoint = (await conn.execute(select(audit_checkpoints.c.upto_seq, audit_checkpoints.c.hash)
                                         .order_by(audit_checkpoints.c.upto_seq.desc()).limit(1))).first()
        if checkpoint is not None:
            return int(checkpoint.upto_seq), str(checkpoint.hash)
        return 0, GENESIS

    def _bucket(self, token: str, current: float) -> _Bucket:
        bucket = self._buckets.get(token)
        if bucket is None:
            bucket = self._buckets[token] = _Bucket(READ_BURST, current)
            if len(self._buckets) > _TABLE_LIMIT:
                self._forget(self._buckets, lambda b: b.stamp)
        bucket.level = min(READ_BURST, bucket.level + (current - bucket.stamp) / READ_REFILL_SECONDS)
        bucket.stamp = current
        return bucket

    @staticmethod
    def _forget(table: dict, age: Any) -> None:
        for key in sorted(table, key=lambda k: age(table[k]))[: len(table) // 10]:
            del table[key]

    # -- reading ------------------------------------------------------------------------------------

    async def entries(self, hearing_id: str = "", limit: int = 500, actions: frozenset[str] | None = None,
                      before: int | None = None) -> list[dict[str, Any]]:
        """The newest entries first; `before` pages on from the last `seq` a page showed."""
        c = audit_log.c
        query = select(audit_log).order_by(c.seq.desc()).limit(max(1, limit))
        if hearing_id:
            query = query.where(c.hearing_id == hearing_id)
        if actions is not None:
            query = query.where(c.action.in_(sorted(actions)))
        if before is not None:
            query = query.where(c.seq < before)
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [public_entry(r) for r in rows]

    async def stream(self, since: float | None = None, until: float | None = None, hearing_id: str = "",
                     batch: int = 5000) -> AsyncIterator[dict[str, Any]]:
        """Every entry in chain order, read a batch at a time (an export of millions stays small)."""
        c = audit_log.c
        after = 0
        while True:
            query = select(audit_log).where(c.seq > after).order_by(c.seq).limit(batch)
            if since is not None:
                query = query.where(c.at >= since)
            if until is not None:
                query = query.where(c.at < until)
            if hearing_id:
                query = query.where(c.hearing_id == hearing_id)
            async with self.db.connect() as conn:
                rows = (await conn.execute(query)).mappings().all()
            if not rows:
                return
            for row in rows:
                yield dict(row)
            after = int(rows[-1]["seq"])

    async def verify(self) -> ChainReport:
        """Walk the whole chain from its start (or its retention checkpoint) and recompute every link."""
        async with self.db.connect() as conn:
            checkpoint_row = (await conn.execute(select(audit_checkpoints)
                                                 .order_by(audit_checkpoints.c.upto_seq.desc()).limit(1))
                              ).mappings().first()
        checkpoint = dict(checkpoint_row) if checkpoint_row is not None else None
        expected_seq, expected = (int(checkpoint["upto_seq"]), str(checkpoint["hash"])) if checkpoint \
            else (0, GENESIS)
        problems: list[str] = []
        checked = 0
        first = last = None
        async for row in self.stream():
            seq = int(row["seq"])
            first = seq if first is None else first
            last = seq
            checked += 1
            if seq != expected_seq + 1:
                problems.append(f"entries {expected_seq + 1}–{seq - 1} are missing (removed from the log)"
                                if seq > expected_seq + 1 else f"entry {seq} is out of order")
            if row["prev_hash"] != expected:
                problems.append(f"entry {seq} does not follow the entry before it (chain broken)")
            if entry_hash(row["prev_hash"], row) != row["hash"]:
                problems.append(f"entry {seq} was altered after it was written (its hash does not match)")
            expected_seq, expected = seq, str(row["hash"])
            if len(problems) > 100:
                problems.append("… more problems not listed")
                break
        return ChainReport(checked, first, last, checkpoint, problems)

    async def prune(self, before: float, reason: str) -> int:
        """Remove the entries older than `before` (retention), oldest first, keeping the chain checkable."""
        async with self.db.transaction() as conn:
            if self.db.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            head_seq, _ = await self._head(conn)
            last = (await conn.execute(select(audit_log.c.seq, audit_log.c.hash).where(
                audit_log.c.at < before, audit_log.c.seq < head_seq)  # the newest entry always stays
                .order_by(audit_log.c.seq.desc()).limit(1))).first()
            if last is None:
                return 0
            removed = int((await conn.execute(select(func.count()).select_from(audit_log)
                                              .where(audit_log.c.seq <= last.seq))).scalar_one())
            await conn.execute(insert(audit_checkpoints).values(upto_seq=last.seq, hash=last.hash, at=time.time(),
                                                                removed=removed, reason=reason))
            await conn.execute(delete(audit_log).where(audit_log.c.seq <= last.seq))
        return removed

    async def import_journal(self, path: Path) -> int:
        """Bring a JSON-lines audit file of an earlier version (and its rotated files) into the database,
        oldest first, then set the files aside: nothing of the old log is lost in the move."""
        files = sorted(path.parent.glob(f"{path.stem}-*{path.suffix}")) + ([path] if path.exists() else [])
        count = 0
        for file in files:
            batch: list[dict[str, Any]] = []
            for old in read_journal(file):
                details = dict(old.get("details") or {})
                for extra in ("repeated", "suppressed"):
                    if extra in old:
                        details[extra] = old[extra]
                batch.append({"at": utc_epoch(str(old.get("at", ""))) or 0.0, "action": str(old.get("action", "")),
                              "hearing_id": str(old.get("hearing_id", "")), "actor": str(old.get("actor", "")),
                              "role": str(old.get("role", "")), "client": str(old.get("client", "")),
                              "node": self.node, "details": {**details, "imported_from": file.name}})
                if len(batch) == IMPORT_BATCH:  # a 32 MiB file is some 150,000 entries: not one commit each
                    count += len(batch)
                    await self.append_many(batch)
                    batch = []
            count += len(batch)
            await self.append_many(batch)
            file.rename(file.with_name(file.name + ".imported"))
        if count:
            log.warning("audit: %d entries of the old audit file %s moved into the database", count, path)
        return count


def public_entry(row: Any) -> dict[str, Any]:
    """An entry as the API and an export show it: UTC time in ISO 8601, the counts of coalesced reads."""
    details = dict(row["details"] or {})
    entry: dict[str, Any] = {"seq": int(row["seq"]), "at": utc_iso(row["at"]), "action": row["action"],
                             "hearing_id": row["hearing_id"], "actor": row["actor"], "role": row["role"],
                             "client": row["client"], "node": row["node"], "hash": row["hash"]}
    for extra in ("repeated", "suppressed"):
        if extra in details:
            entry[extra] = details.pop(extra)
    if details:
        entry["details"] = details
    return entry


def export_line(row: dict[str, Any], kind: str, header: bool = False) -> str:
    """One entry of an inspector's export: a JSON line, or a CSV row (details as JSON in one column)."""
    entry = public_entry(row)
    if kind == "json":
        return json.dumps(entry, ensure_ascii=False) + "\n"
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(EXPORT_FIELDS)
    writer.writerow([entry["seq"], entry["at"], entry["action"], entry["hearing_id"], entry["actor"],
                     entry["role"], entry["client"], entry["node"],
                     json.dumps({**entry.get("details", {}), **{k: entry[k] for k in ("repeated", "suppressed")
                                                               if k in entry}}, ensure_ascii=False),
                     entry["hash"]])
    return out.getvalue()
