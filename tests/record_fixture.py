"""A small real recording made without a network: encoder → segment writer → journal → finalise."""

from __future__ import annotations

import asyncio
import math
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from hearing_server.config import Settings
from hearing_server.media.encoder import CompositeEncoder
from recorder.finalise import TRANSCRIPT, finalise_spool
from recorder.journal import Journal
from recorder.keys import load_or_create_signing_key
from recorder.manifest import chain, genesis, sha256_file
from recorder.segments import SegmentWriter, WrittenSegment
from recorder.transcript import utc_iso


def make_recording(tmp: Path, settings: Settings, seconds: float = 9.0, hearing_id: str = "h_fixture",
                   store: Path | None = None, case_number: str = "CR-2026-0007", opened: float | None = None,
                   notes: list[dict[str, Any]] | None = None,
                   transcript: list[dict[str, Any]] | None = None, shade: int = 0) -> Path:
    """A finished recording laid out as the local store keeps it, under `store` (default tmp/store),
    signed with the server's own key (settings.signing_key_path).

    `notes` are clerk's log notes put in the transcript as the recorder journals them: dicts with
    `offset` (seconds into the recording), `text`, and optionally `kind` (one of NOTE_KINDS, default
    "note") and `author`. `transcript` adds other transcript entries as they are (events, speech turns:
    see recorder/transcript.py), each with an `offset`; a missing `at` is filled in from it."""
    spool = tmp / "fixture-spool" / hearing_id
    spool.mkdir(parents=True)
    journal = Journal(spool / "journal.jsonl")
    opened = opened if opened is not None else time.time() - seconds
    if notes or transcript:
        lines = Journal(spool / TRANSCRIPT)
        for entry in transcript or []:
            lines.append({"at": utc_iso(opened + entry["offset"]), **entry})
        for note in notes or []:
            lines.append({"kind": "note", "note_kind": note.get("kind", "note"), "text": note["text"],
                          "author": note.get("author", "Clerk Carmen Ortiz"),
                          "at": note.get("at", utc_iso(opened + note["offset"])), "offset": note["offset"]})
        lines.close()
    journal.append({"kind": "begin", "part": 1, "at": utc_iso(opened), "offset": 0.0, "hearing": {
        "id": hearing_id, "case_number": case_number, "title": "State v. Fixture", "court": "District Court",
        "courtroom": "Courtroom 1", "judge": "judge", "judge_name": "Judge Amira Haddad",
        "opened_at": utc_iso(opened), "opened_at_epoch": opened}})
    state = {"chain": genesis(hearing_id)}

    def closed(segment: WrittenSegment) -> None:
        sha, size = sha256_file(segment.path)
        state["chain"] = chain(state["chain"], sha)
        journal.append({"kind": "segment", "index": segment.index, "file": segment.path.name,
                        "start": segment.start, "end": segment.end, "size": size, "sha256": sha,
                        "chain": state["chain"], "note": ""})

    media = settings.media
    writer = SegmentWriter(spool, media.width, media.height, media.fps, 4.0, 64000, 1, closed)
    encoder = CompositeEncoder(media.width, media.height, media.fps, media.video_bitrate, 2.0)
    image = np.zeros((media.height, media.width, 3), dtype=np.uint8)
    position = 0
    for index in range(int(seconds * media.fps)):
        image[:] = (index * 3 + shade) % 255  # `shade` tells two recordings' pictures apart
        packets, _ = encoder.encode(image, index * 90000 // media.fps, keyframe=index == 0)
        for packet in packets:
            writer.write_video(packet)
        while position < (index + 1) * 48000 // media.fps:
            t = (np.arange(960) + position) / 48000
            writer.write_audio((8000 * np.sin(2 * math.pi * 440 * t)).astype(np.int16), position)
            position += 960
    writer.close()
    journal.append({"kind": "end", "at": utc_iso(time.time()), "offset": seconds})
    journal.close()
    done = finalise_spool(spool, load_or_create_signing_key(settings.signing_key_path), interrupted=False)
    stored = (store or tmp / "store") / hearing_id
    (stored / "segments").mkdir(parents=True)
    for segment in done.manifest.segments:
        shutil.copy(spool / segment.file, stored / "segments" / segment.file)
    for name in done.files:
        shutil.copy(spool / name, stored / name)
    if store is not None and store == settings.recordings_path:
        catalogue_stored(settings, hearing_id)
    return stored


def catalogue_stored(settings: Settings, hearing_id: str) -> None:
    """Index one recording of the server's own local store in its archive database, as
    `hearing-server archive reindex` would (the server reads nothing of the store at start-up). In a thread:
    the caller may be inside a running event loop."""
    from recorder.db import Database, database_url
    from recorder.keys import public_raw
    from recorder.recorder import Archive
    from recorder.reindex import Reindexer
    from recorder.storage import LocalStorage

    async def index() -> None:
        database = Database(database_url(settings.archive.database_url, settings.data_path), 1)
        try:
            await database.upgrade()
            storage = LocalStorage(settings.recordings_path)
            archive = Archive(database, settings, storage, "fixture")
            key = public_raw(load_or_create_signing_key(settings.signing_key_path))
            outcome = await Reindexer(storage, archive.catalog, [key])._one(hearing_id)
            assert outcome == "indexed", outcome
        finally:
            await database.close()

    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(index())
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    if failure:
        raise failure[0]
