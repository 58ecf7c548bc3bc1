"""A small real recording made without a network: encoder → segment writer → journal → finalise."""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path

import numpy as np

from hearing_server.config import Settings
from hearing_server.media.encoder import CompositeEncoder
from recorder.finalise import finalise_spool
from recorder.journal import Journal
from recorder.keys import load_or_create_signing_key
from recorder.manifest import chain, genesis, sha256_file
from recorder.segments import SegmentWriter, WrittenSegment
from recorder.transcript import utc_iso


def make_recording(tmp: Path, settings: Settings, seconds: float = 9.0, hearing_id: str = "h_fixture") -> Path:
    spool = tmp / "spool" / hearing_id
    spool.mkdir(parents=True)
    journal = Journal(spool / "journal.jsonl")
    opened = time.time() - seconds
    journal.append({"kind": "begin", "part": 1, "at": utc_iso(opened), "offset": 0.0, "hearing": {
        "id": hearing_id, "case_number": "CR-2026-0007", "title": "State v. Fixture", "court": "District Court",
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
        image[:] = (index * 3) % 255
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
    done = finalise_spool(spool, load_or_create_signing_key(tmp / "signing.key"), interrupted=False)
    # Laid out as the store keeps it.
    stored = tmp / "store" / hearing_id
    (stored / "segments").mkdir(parents=True)
    for segment in done.manifest.segments:
        shutil.copy(spool / segment.file, stored / "segments" / segment.file)
    for name in done.files:
        shutil.copy(spool / name, stored / name)
    return stored
