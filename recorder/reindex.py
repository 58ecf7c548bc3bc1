"""`hearing-server archive reindex`: rebuild the catalog from the signed manifests in the store, which remain
the source of truth. Streaming (folder listing a page at a time, a few manifests read at once), resumable
(the last folder finished is kept in the database), and a manifest whose signature is not the court's is
reported and left out of the index."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from .catalog import Catalog, transcript_texts
from .db.schema import reindex_progress
from .manifest import Manifest
from .storage import Storage, StorageError

JOB = "reindex"
BATCH = 32  # manifests read from the store at once; progress is saved after each batch


@dataclass
class ReindexReport:
    indexed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (hearing id, why)
    incomplete: list[str] = field(default_factory=list)  # folders without a manifest (still uploading?)
    resumed_after: str = ""


async def _batches(names: AsyncIterator[str], size: int) -> AsyncIterator[list[str]]:
    batch: list[str] = []
    async for name in names:
        batch.append(name)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Reindexer:
    def __init__(self, storage: Storage, catalog: Catalog, trusted_keys: list[bytes]) -> None:
        self.storage = storage
        self.catalog = catalog
        self.db = catalog.db
        self.trusted_keys = trusted_keys

    async def run(self, resume: bool = True, progress: Callable[[int], None] | None = None) -> ReindexReport:
        report = ReindexReport()
        saved = await self._saved() if resume else None
        after = saved["last_key"] if saved else ""
        report.resumed_after = after
        done = saved["done"] if saved else 0
        failed = saved["failed"] if saved else 0
        async for batch in _batches(self.storage.recordings(after), BATCH):
            results = await asyncio.gather(*(self._one(name) for name in batch))
            for name, outcome in zip(batch, results):
                if outcome == "indexed":
                    report.indexed += 1
                elif outcome == "incomplete":
                    report.incomplete.append(name)
                else:
                    report.failed.append((name, outcome))
            done += len(batch)
            failed += sum(1 for r in results if r not in ("indexed", "incomplete"))
            await self._save(batch[-1], done, failed)
            if progress is not None:
                progress(len(batch))
        await self._finish()
        return report

    async def _one(self, hearing_id: str) -> str:
        """'indexed', 'incomplete', or why the manifest was left out."""
        try:
            raw = await self.storage.read(f"{hearing_id}/manifest.json")
        except StorageError:
            return "incomplete"
        try:
            manifest = Manifest.from_dict(json.loads(raw))
        except (ValueError, TypeError, KeyError) as exc:
            return f"manifest unreadable: {exc}"
        if manifest.hearing_id != hearing_id:
            return f"manifest names hearing {manifest.hearing_id!r}, not its folder's"
        if not any(manifest.signature_valid(key) for key in self.trusted_keys):
            return ("signature invalid" if not manifest.signature_valid()
                    else "signed by a key that is not the court's")
        transcript: dict[str, Any] | None = None
        try:
            transcript = json.loads(await self.storage.read(f"{hearing_id}/transcript.json"))
        except (StorageError, ValueError):
            transcript = None  # indexed without its words rather than not at all
        await self.catalog.add(manifest, transcript_texts(transcript), digest=hashlib.sha256(raw).hexdigest())
        return "indexed"

    async def _saved(self) -> dict[str, Any] | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(select(reindex_progress).where(reindex_progress.c.name == JOB))
                   ).mappings().first()
        return dict(row) if row is not None else None

    async def _save(self, last_key: str, done: int, failed: int) -> None:
        maker = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        values = {"last_key": last_key, "done": done, "failed": failed, "updated_at": time.time()}
        statement = maker(reindex_progress).values(name=JOB, **values)
        async with self.db.transaction() as conn:
            await conn.execute(statement.on_conflict_do_update(index_elements=[reindex_progress.c.name],
                                                               set_=values))

    async def _finish(self) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(delete(reindex_progress).where(reindex_progress.c.name == JOB))
