"""Uploads spooled files to the store, in order, retrying with capped backoff until the store confirms.

A file leaves the spool only when `on_stored` runs, which is after the store returned what it holds and
its size and SHA-256 matched. An outage of the store delays uploads; it never drops one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

from .storage import Storage, StorageError

log = logging.getLogger(__name__)


@dataclass
class UploadJob:
    key: str
    path: Path
    sha256: str
    on_stored: Callable[[], Awaitable[None] | None] | None = None
    attempts: int = 0
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Uploader:
    def __init__(self, storage: Storage, first_backoff: float = 0.5, max_backoff: float = 30.0) -> None:
        self.storage = storage
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._queue: asyncio.Queue[UploadJob] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self.last_error = ""
        self.failing_since: float | None = None
        self.uploaded = 0
        self._busy = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="uploader")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def submit(self, job: UploadJob) -> asyncio.Future:
        self._queue.put_nowait(job)
        return job.done

    @property
    def pending(self) -> int:
        return self._queue.qsize() + (1 if self._busy else 0)

    async def _run(self) -> None:
        while True:
            job = await self._queue.get()
            self._busy = True
            try:
                await self._upload(job)
            finally:
                self._busy = False

    async def _upload(self, job: UploadJob) -> None:
        delay = self.first_backoff
        while True:
            job.attempts += 1
            try:
                if not job.path.exists():
                    # Stored and removed from the spool by an earlier run (a restart between the two).
                    stored = await self.storage.stat(job.key)
                    if stored is None:
                        raise FileNotFoundError(f"{job.path} is gone and {job.key} is not in the store")
                else:
                    await self.storage.put(job.key, job.path, job.sha256)
            except FileNotFoundError as exc:
                log.error("cannot upload %s: %s", job.key, exc)
                if not job.done.done():
                    job.done.set_exception(exc)
                return
            except (StorageError, OSError) as exc:
                self.last_error = str(exc)
                self.failing_since = self.failing_since or time.time()
                log.warning("upload of %s failed (attempt %d), retrying in %.1f s: %s", job.key, job.attempts,
                            delay, exc)
                await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))
                delay = min(self.max_backoff, delay * 2)
                continue
            self.failing_since = None
            self.last_error = ""
            self.uploaded += 1
            if job.on_stored is not None:
                result = job.on_stored()
                if asyncio.iscoroutine(result):
                    await result
            if not job.done.done():
                job.done.set_result(True)
            return
