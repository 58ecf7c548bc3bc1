"""How long the court keeps a recording, and the sweep that deletes it from the store when that time is up
(unless it is on legal hold). The catalog keeps a tombstone — who, when, why, the manifest's hash — and the
audit log an entry; what the store deleted is gone for good (object lock, if set, refuses it first)."""

from __future__ import annotations

import asyncio
import logging
import time

from .audit import AuditLog
from .catalog import Catalog, Recording
from .search_key import search_key
from .settings import ArchiveSettings
from .storage import Storage, StorageError

log = logging.getLogger(__name__)

DAY = 86400.0


class RetentionPolicy:
    """Days to keep, by case category first, then by court, then the default; 0 means for ever."""

    def __init__(self, settings: ArchiveSettings) -> None:
        self.default = settings.retention_days
        self.by_court = _rules(settings.retention_by_court, "archive.retention_by_court")
        self.by_category = _rules(settings.retention_by_category, "archive.retention_by_category")

    def days(self, court: str, category: str) -> int:
        if category and search_key(category) in self.by_category:
            return self.by_category[search_key(category)]
        if court and search_key(court) in self.by_court:
            return self.by_court[search_key(court)]
        return self.default

    def __call__(self, court: str, category: str, opened_at: float) -> float | None:
        days = self.days(court, category)
        return opened_at + days * DAY if days > 0 else None


def _rules(entries: list[str], name: str) -> dict[str, int]:
    rules: dict[str, int] = {}
    for entry in entries:
        key, sep, days = entry.rpartition("=")
        if not sep or not key.strip() or not days.strip().isdigit():
            raise ValueError(f"{name}: {entry!r} must look like 'name=days' (days a whole number, 0 = for ever)")
        rules[search_key(key)] = int(days)
    return rules


class RetentionSweeper:
    def __init__(self, catalog: Catalog, storage: Storage, audit: AuditLog, interval: float,
                 audit_days: int = 0) -> None:
        self.catalog = catalog
        self.storage = storage
        self.audit = audit
        self.interval = interval
        self.audit_days = audit_days

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database or store outage: the next round tries again
                log.error("retention: this round failed, next in %.0f min: %s", self.interval / 60, exc)
            await asyncio.sleep(self.interval)

    async def sweep(self, now: float | None = None, dry_run: bool = False) -> list[Recording]:
        """Delete what is due (all of it, a hundred at a time); returns what was (or, dry, would be) deleted."""
        now = time.time() if now is None else now
        done: list[Recording] = []
        while True:
            due = [r for r in await self.catalog.due(now) if r.hearing_id not in {d.hearing_id for d in done}]
            if not due:
                break
            if dry_run:
                return due
            for recording in due:
                if await self.delete(recording):
                    done.append(recording)
            if len(due) < 100:
                break
        if self.audit_days > 0 and not dry_run:
            removed = await self.audit.prune(now - self.audit_days * DAY,
                                             f"audit_retention_days = {self.audit_days}")
            if removed:
                await self.audit.record("audit_pruned", "", "retention", "system", removed=removed,
                                        older_than_days=self.audit_days)
        return done

    async def delete(self, recording: Recording) -> bool:
        if not await self.catalog.claim_for_deletion(recording.hearing_id):
            return False  # another node took it, or a hold was placed meanwhile
        try:
            removed = await self.storage.delete_recording(recording.hearing_id)
        except StorageError as exc:
            await self.catalog.release_claim(recording.hearing_id)
            log.error("retention: recording %s could not be deleted from the store (kept): %s",
                      recording.hearing_id, exc)
            return False
        reason = f"retention period ended {_day(recording.retain_until)}"
        await self.catalog.tombstone(recording.hearing_id, reason)
        await self.audit.record("retention_deleted", recording.hearing_id, "retention", "system",
                                objects=removed, manifest_sha256=recording.manifest_sha256,
                                case_number=recording.case_number, retain_until=recording.retain_until)
        log.warning("retention: deleted recording %s (case %s, %d objects)", recording.hearing_id,
                    recording.case_number, removed)
        return True


def _day(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch or 0))
