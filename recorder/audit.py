"""Who looked at, downloaded or handed out which recording: an append-only, fsynced audit log.

One link holder must not be able to grow it without bound (a script reloading a shared page all day), so:
- the same access by the same token from the same address within COALESCE_SECONDS is one line, and the
  next line written for it says how many times it happened meanwhile (`repeated`);
- reads are rate-limited per token (a bucket of READ_BURST lines, one more every READ_REFILL_SECONDS);
  what the limit held back is counted in the token's next line (`suppressed`), never silently lost;
- the file is rotated at `max_bytes` into audit-<UTC time>.jsonl beside it. Rotated files are kept (an
  audit log is evidence; deleting old ones is the operator's decision) and still read by entries().
Entries that are the register of what was handed out (shares, revocations, verifications) are never
coalesced or limited.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .journal import Journal, read_journal
from .transcript import utc_iso

# What the archive writes here; entries() returns the newest first, as a clerk reads a log.
ACTIONS = ("view", "search", "transcript", "manifest", "package", "shares_list", "play", "download", "verify",
           "share", "share_revoked", "shared_view", "shared_transcript", "shared_play", "shared_download",
           "shared_package")
REGISTER = frozenset({"share", "share_revoked", "verify"})
COALESCE_SECONDS = 60.0
READ_BURST = 30
READ_REFILL_SECONDS = 10.0
MAX_BYTES = 32 * 1024 * 1024
_TABLE_LIMIT = 50_000  # tokens and repeat keys remembered at once; the oldest are forgotten past it


@dataclass
class _Repeat:
    last_written: float
    count: int = 0  # happened since the line written at last_written


@dataclass
class _Bucket:
    level: float
    stamp: float
    suppressed: int = 0


class AuditLog:
    def __init__(self, path: Path, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._journal = Journal(path)
        path.chmod(0o600)  # who watched which hearing is nobody else's business on this machine
        self._lock = asyncio.Lock()
        self._repeats: dict[tuple, _Repeat] = {}
        self._buckets: dict[str, _Bucket] = {}

    async def record(self, action: str, hearing_id: str, actor: str, role: str, client: str = "",
                     token: str = "", **details: Any) -> bool:
        """Write the entry, unless it repeats one written moments ago or its token is over its rate.
        Returns whether a line was written."""
        current = time.monotonic()
        entry: dict[str, Any] = {"at": utc_iso(time.time()), "action": action, "hearing_id": hearing_id,
                                 "actor": actor, "role": role, "client": client}
        if details:
            entry["details"] = details
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
                entry["repeated"] = repeat.count
            if bucket.suppressed:
                entry["suppressed"] = bucket.suppressed
                bucket.suppressed = 0
            self._repeats[key] = _Repeat(current)
            if len(self._repeats) > _TABLE_LIMIT:
                self._forget(self._repeats, lambda r: r.last_written)
        async with self._lock:  # one writer at a time keeps lines whole
            await asyncio.to_thread(self._append, entry)
        return True

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

    def _append(self, entry: dict[str, Any]) -> None:
        self._journal.append(entry)
        if self.path.stat().st_size >= self.max_bytes:
            self._journal.close()
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            self.path.rename(self.path.with_name(f"{self.path.stem}-{stamp}{self.path.suffix}"))
            self._journal = Journal(self.path)

    def files(self) -> list[Path]:
        """The log's files, newest first: the current one, then the rotated ones."""
        rotated = sorted(self.path.parent.glob(f"{self.path.stem}-*{self.path.suffix}"), reverse=True)
        return [self.path, *rotated]

    async def entries(self, hearing_id: str = "", limit: int = 500,
                      actions: frozenset[str] | None = None) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for path in self.files():
                rows = [e for e in read_journal(path)
                        if (not hearing_id or e.get("hearing_id") == hearing_id)
                        and (actions is None or e.get("action") in actions)]
                out.extend(rows[::-1])
                if len(out) >= limit:
                    break
            return out[:limit]

        return await asyncio.to_thread(read)

    def close(self) -> None:
        self._journal.close()
