"""The court recorder: storage, the upload queue, the signing key, the archive (its database: catalog, audit
log, shares, revocations, retention) and the live recordings; and, at start-up, the recovery of whatever a
previous run left in the spool."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from pathlib import Path
from typing import Any, Callable

from .audit import AuditLog
from .catalog import Catalog, transcript_texts
from .db.database import Database
from .files import private_dir
from .finalise import FINAL_MP4, JOURNAL, MANIFEST, Finalised, finalise_spool
from .interfaces import HearingFacts, HearingLookup, MediaTap, RecorderSettings
from .journal import Journal, read_journal
from .keys import load_or_create_signing_key, public_raw
from .manifest import Manifest, sha256_file
from .recording import HearingRecording, segment_key
from .retention import RetentionPolicy, RetentionSweeper
from .shares import RevokedTokens, ShareRegister
from .storage import LocalStorage, S3Storage, Storage, StorageError
from .uploader import Uploader, UploadJob

log = logging.getLogger(__name__)


def create_storage(settings: RecorderSettings) -> Storage:
    s = settings.storage
    if s.backend == "s3":
        return S3Storage(s.s3_bucket, s.s3_prefix, s.s3_endpoint_url, s.s3_region, s.s3_access_key_id,
                         s.s3_secret_access_key, s.s3_multipart_threshold_mb)
    return LocalStorage(settings.recordings_path)


class Archive:
    """The archive's database and what lives in it; a front has one, a media worker none."""

    def __init__(self, database: Database, settings: RecorderSettings, storage: Storage, node: str) -> None:
        self.db = database
        self.policy = RetentionPolicy(settings.archive)
        self.catalog = Catalog(database, self.policy)
        self.audit = AuditLog(database, node)
        self.shares = ShareRegister(database)
        self.revoked = RevokedTokens(database)
        self.sweeper = RetentionSweeper(self.catalog, storage, self.audit,
                                        settings.archive.retention_check_minutes * 60,
                                        settings.archive.audit_retention_days)

    async def close(self) -> None:
        await self.catalog.close()
        await self.db.close()


class Recorder:
    def __init__(self, settings: RecorderSettings, storage: Storage | None = None,
                 database: Database | None = None, node: str = "") -> None:
        self.settings = settings
        self.storage = storage or create_storage(settings)
        self.uploader = Uploader(self.storage, max_backoff=settings.recording.upload_max_backoff_seconds)
        self.key = load_or_create_signing_key(settings.signing_key_path)
        self.public_key = public_raw(self.key)
        self.archive = Archive(database, settings, self.storage, node) if database is not None else None
        self.recordings: dict[str, HearingRecording] = {}
        self._background: set[asyncio.Task] = set()
        self.on_final: Callable[[Manifest], None] | None = None

    @property
    def catalog(self) -> Catalog:
        if self.archive is None:
            raise RuntimeError("a media worker's recorder has no archive")
        return self.archive.catalog

    @property
    def audit(self) -> AuditLog:
        if self.archive is None:
            raise RuntimeError("a media worker's recorder has no archive")
        return self.archive.audit

    async def start(self, store: HearingLookup) -> None:
        private_dir(self.settings.spool_path)
        if isinstance(self.storage, S3Storage):
            try:
                await self.storage.ensure_bucket()
            except Exception as exc:  # the store may be down at boot: uploads wait and retry
                log.error("S3 bucket check failed; uploads will retry: %s", exc)
        self.uploader.start()
        if self.archive is not None:
            # The schema first: a node that cannot reach its database does not start (the archive, the
            # audit log and every revocation live there); nothing is read from the store.
            await self.archive.db.upgrade()
            await self.archive.audit.import_journal(self.settings.audit_path)
            if await self.archive.catalog.empty():
                log.info("the archive's catalog is empty (%s); if the store already holds recordings (an "
                         "earlier version, a restored database), run 'hearing-server archive reindex'",
                         self.archive.db.name)
            if self.settings.archive.retention_check_minutes > 0:
                self._spawn(self.archive.sweeper.run())
        self._spawn(self.recover(store))

    async def start_live(self) -> None:
        """A media worker's recorder: live recordings and their uploads only (the front keeps the archive,
        the audit log and the recovery of what a previous run left)."""
        private_dir(self.settings.spool_path)
        if isinstance(self.storage, S3Storage):
            try:
                await self.storage.ensure_bucket()
            except Exception as exc:
                log.error("S3 bucket check failed; uploads will retry: %s", exc)
        self.uploader.start()

    async def close(self) -> None:
        for recording in list(self.recordings.values()):
            await recording.abandon()
        self.recordings.clear()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.uploader.stop()
        if self.archive is not None:
            await self.archive.close()

    def _spawn(self, coroutine) -> asyncio.Task:  # type: ignore[no-untyped-def]
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def catalogue(self, manifest: Manifest, folder: Path | None = None) -> asyncio.Future:
        """Put a finished recording into the archive's index (in the background: the database may be down).
        The words of its transcript come from the spool folder, or from the store."""
        if self.archive is None:
            done: asyncio.Future = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

        async def index() -> None:
            transcript = await self._transcript(manifest.hearing_id, folder)
            # The bytes finalise wrote, hashed off the loop (re-serialising the manifest costs ~20 ms of CPU).
            written = (folder or self.settings.spool_path / manifest.hearing_id) / MANIFEST
            digest = (await asyncio.to_thread(sha256_file, written))[0] if written.exists() else None
            await self.archive.catalog.submit(manifest, transcript_texts(transcript),  # type: ignore[union-attr]
                                              digest)

        return self._spawn(index())

    async def _transcript(self, hearing_id: str, folder: Path | None) -> dict[str, Any] | None:
        path = (folder or self.settings.spool_path / hearing_id) / "transcript.json"
        try:
            return json.loads(await asyncio.to_thread(path.read_text, encoding="utf-8"))
        except (OSError, ValueError):
            pass
        for attempt in range(5):  # the manifest is announced before the transcript may be in the store
            try:
                return json.loads(await self.storage.read(f"{hearing_id}/transcript.json"))
            except (StorageError, ValueError):
                await asyncio.sleep(1 + attempt)
        log.warning("recording %s: its transcript could not be read; indexed without its words", hearing_id)
        return None

    # -- live recordings ----------------------------------------------------------------------------

    def begin(self, hearing: HearingFacts, mixer: MediaTap) -> HearingRecording | None:
        if not self.settings.recording.enabled:
            return None
        recording = self.recordings.get(hearing.id)
        if recording is None:
            recording = self.recordings[hearing.id] = HearingRecording(hearing, mixer, self)
            recording.start()
        return recording

    async def end(self, hearing_id: str) -> None:
        recording = self.recordings.pop(hearing_id, None)
        if recording is not None:
            await recording.finish()

    # -- finishing ----------------------------------------------------------------------------------

    async def finalise_folder(self, folder: Path, uploads: list[asyncio.Future] | None = None,
                              interrupted: bool = False) -> Path:
        done: Finalised = await asyncio.to_thread(finalise_spool, folder, self.key, interrupted)
        indexed = self.catalogue(done.manifest, folder)
        if self.on_final is not None:
            self.on_final(done.manifest)  # a media worker tells its front, whose archive lists it
        self._spawn(self._deliver(done, uploads or [], indexed))
        return folder / FINAL_MP4

    async def _deliver(self, done: Finalised, uploads: list[asyncio.Future],
                       indexed: asyncio.Future | None = None) -> None:
        """Upload the final files (the manifest last: its presence in the store means 'complete'), and
        clear the spool only when the store has confirmed every byte and the catalog lists the recording
        (until then a restart finds it in the spool and does both again)."""
        hearing_id = done.manifest.hearing_id
        uploads = list(uploads)
        for segment in done.manifest.segments:
            if segment.note:  # salvaged at recovery: not queued by the live recording
                uploads.append(self.uploader.submit(UploadJob(segment_key(hearing_id, segment.file),
                                                              done.folder / segment.file, segment.sha256)))
        for name in done.files:
            path = done.folder / name
            uploads.append(self.uploader.submit(UploadJob(f"{hearing_id}/{name}", path, sha256_file(path)[0])))
        results = await asyncio.gather(*uploads, return_exceptions=True)
        if any(isinstance(r, BaseException) for r in results):
            log.error("recording %s: some files could not be uploaded; the spool is kept", hearing_id)
            return
        if indexed is not None:
            try:
                await indexed
            except Exception:
                log.error("recording %s: not in the catalog; the spool is kept", hearing_id)
                return
        journal = Journal(done.folder / JOURNAL)
        journal.append({"kind": "final"})
        journal.close()
        await asyncio.to_thread(shutil.rmtree, done.folder, True)
        log.info("recording %s is complete in the %s store", hearing_id, self.storage.name)

    async def set_aside(self, hearing_id: str) -> None:
        """The hearing goes on elsewhere (another worker or node): its recording is closed in the spool, as
        at a shutdown, for the next carrier to continue in the same record."""
        recording = self.recordings.pop(hearing_id, None)
        if recording is not None:
            await recording.abandon()

    # -- recovery -----------------------------------------------------------------------------------

    async def recover(self, store: HearingLookup) -> None:
        """Finish what a previous run left: upload what is left, finalise recordings whose hearing is
        over (or unknown), and leave those of live hearings for their room to carry on."""
        spool = self.settings.spool_path
        for folder in sorted(p for p in spool.iterdir() if p.is_dir()) if spool.exists() else []:
            if folder.name in self.recordings:
                continue
            journal = list(read_journal(folder / JOURNAL))
            if not journal:
                continue
            try:
                if any(e["kind"] == "final" for e in journal):
                    await asyncio.to_thread(shutil.rmtree, folder, True)
                    continue
                hearing = await store.get_hearing(folder.name)
                if hearing is not None and hearing.is_live:
                    continue  # its room resumes the recording in the same folder
                if (folder / MANIFEST).exists():
                    manifest = Manifest.from_dict(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
                    done = Finalised(manifest, folder, [f.name for f in manifest.files] + [MANIFEST])
                    indexed = self.catalogue(manifest, folder)
                    queued = [self.uploader.submit(UploadJob(segment_key(folder.name, s.file), folder / s.file,
                                                             s.sha256)) for s in manifest.segments if not s.note]
                    self._spawn(self._deliver(done, queued, indexed))
                    continue
                ended = any(e["kind"] == "end" for e in journal)
                queued = [self.uploader.submit(UploadJob(segment_key(folder.name, e["file"]), folder / e["file"],
                                                         e["sha256"]))
                          for e in journal if e["kind"] == "segment"]
                await self.finalise_folder(folder, queued, interrupted=not ended)
                log.warning("recovered the recording of hearing %s from the spool", folder.name)
            except Exception:
                log.exception("could not recover the recording in %s", folder)
