"""The archive's index: every finished recording's manifest, loaded from the store, searchable."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime

from .manifest import Manifest
from .storage import Storage, StorageError

log = logging.getLogger(__name__)


@dataclass
class Query:
    case_number: str = ""
    court: str = ""
    judge: str = ""
    date_from: date | None = None
    date_to: date | None = None


class Catalog:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.recordings: dict[str, Manifest] = {}
        self.loaded = False

    async def load(self) -> None:
        try:
            keys = [k for k in await self.storage.list("") if k.endswith("/manifest.json")]
        except StorageError as exc:
            log.error("the archive index could not be loaded (will retry on the next search): %s", exc)
            return
        self.loaded = True
        for key in keys:
            try:
                self.add(Manifest.from_dict(json.loads(await self.storage.read(key))))
            except (StorageError, ValueError, TypeError, KeyError) as exc:
                log.error("manifest %s is unreadable: %s", key, exc)

    def add(self, manifest: Manifest) -> None:
        self.recordings[manifest.hearing_id] = manifest

    def get(self, hearing_id: str) -> Manifest | None:
        return self.recordings.get(hearing_id)

    def search(self, query: Query) -> list[Manifest]:
        found = []
        for manifest in self.recordings.values():
            if query.case_number and query.case_number.lower() not in manifest.case_number.lower():
                continue
            if query.court and query.court.lower() not in manifest.court.lower():
                continue
            if query.judge and query.judge.lower() not in (manifest.judge + " " + manifest.judge_name).lower():
                continue
            day = _day(manifest.opened_at)
            if query.date_from and (day is None or day < query.date_from):
                continue
            if query.date_to and (day is None or day > query.date_to):
                continue
            found.append(manifest)
        return sorted(found, key=lambda m: m.opened_at, reverse=True)


def _day(iso: str) -> date | None:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).date()
    except ValueError:
        return None
