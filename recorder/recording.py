"""One hearing's recording: segments from the mixer, hashed, chained, journalled, uploaded; then finalised.

Media work (muxing, AAC, fsync, hashing, remuxing) happens in one worker thread per recording, in the
order it was submitted; the event loop only hands packets over.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import av

from .files import private_dir
from .finalise import JOURNAL, TRANSCRIPT, media_span, salvage
from .interfaces import AudioBlock, EventFacts, HearingFacts, MediaTap
from .journal import Journal, read_journal
from .manifest import SegmentEntry, chain, genesis, sha256_file
from .segments import SegmentWriter, WrittenSegment
from .transcript import NOTE_KINDS, SpeakerTracker, utc_iso
from .uploader import UploadJob

log = logging.getLogger(__name__)

# Never copied into the transcript: they are secrets or noise.
PRIVATE_EVENT_DATA = ("session_token",)
TRANSCRIBED_EVENTS = ("opened", "closed", "recess", "resumed", "locked", "unlocked", "admitted", "rejected",
                      "joined", "observer_joined", "muted", "unmuted", "removed", "disconnected", "reconnected", "left",
                      "camera_offline", "camera_online", "camera_shown", "camera_hidden", "media_connected",
                      "media_failed", "hand_raised", "hand_lowered")


SEGMENT_FIELDS = ("index", "file", "start", "end", "size", "sha256", "chain", "note")
POSITION = "#"  # speaker key "participant#position" for a courtroom microphone; ids never hold a '#'


def segment_key(hearing_id: str, name: str) -> str:
    return f"{hearing_id}/segments/{name}"


class HearingRecording:
    def __init__(self, hearing: HearingFacts, mixer: MediaTap, recorder: "Any") -> None:
        self.hearing = hearing
        self.mixer = mixer
        self.recorder = recorder  # recorder.recorder.Recorder: settings, storage, uploader, key, catalog
        settings = recorder.settings
        self.folder: Path = settings.spool_path / hearing.id
        private_dir(self.folder)  # the record in progress: nobody else on this machine reads it
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
        self._loop = asyncio.get_running_loop()
        previous = list(read_journal(self.folder / JOURNAL))
        segments = [e for e in previous if e.get("kind") == "segment"]
        self._chain = segments[-1]["chain"] if segments else genesis(hearing.id)
        self._part = 1 + sum(1 for e in previous if e.get("kind") == "begin")
        self._journal = Journal(self.folder / JOURNAL)
        if previous:
            segments += self._salvage_open_segments({e["file"] for e in segments})
        self._transcript = Journal(self.folder / TRANSCRIPT)
        media = settings.media
        self._writer = SegmentWriter(self.folder, media.width, media.height, media.fps,
                                     settings.recording.segment_seconds, settings.recording.audio_bitrate,
                                     first_index=1 + max((e["index"] for e in segments), default=0),
                                     on_closed=self._segment_closed)
        self._speakers = SpeakerTracker(settings.recording.speaking_threshold_dbfs)
        self._names: dict[str, tuple[str, str]] = {}  # participant id -> (name, role)
        self._uploads: list[asyncio.Future] = []
        self._earlier = [SegmentEntry(**{k: e[k] for k in SEGMENT_FIELDS if k in e}) for e in segments]
        self.paused = False
        self.finished = False
        self.segments_written = len(segments)

    def _salvage_open_segments(self, journalled: set[str]) -> list[dict[str, Any]]:
        """The segment a dead process (a server, a media worker) had open is on disk but not in the
        journal: keep what of it plays, in the chain before this part's first segment, so that the part
        that carries on neither overwrites it nor breaks the chain."""
        added = []
        for path in sorted(self.folder.glob("segment-*.mp4")):
            if path.name in journalled or ".salvage" in path.name:
                continue
            if not salvage(path):
                path.unlink(missing_ok=True)
                continue
            start, end = media_span(path)
            sha, size = sha256_file(path)
            self._chain = chain(self._chain, sha)
            entry = {"kind": "segment", "index": int(path.stem.split("-")[1]), "file": path.name,
                     "start": round(start, 6), "end": round(end, 6), "size": size, "sha256": sha,
                     "chain": self._chain, "note": "recovered after the process carrying it stopped; its last "
                                                   "second may be missing"}
            self._journal.append(entry)
            added.append(entry)
            log.warning("hearing %s: kept %.1f s of the segment %s that was open when its process stopped",
                        self.hearing.id, end - start, path.name)
        return added

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        offset = self.mixer.media_offset()
        begin = {"kind": "begin", "part": self._part, "at": utc_iso(time.time()), "offset": round(offset, 3),
                 "hearing": hearing_record(self.hearing)}
        self._submit(self._journal.append, begin)
        if self._part > 1:
            # The server stopped while the hearing went on: the record says so, it does not hide it.
            self._submit(self._journal.append, {"kind": "restarted", "at": begin["at"], "offset": begin["offset"]})
        # A process that died (a server, a media worker) may not have uploaded its last segments: the part
        # that carries on sends them again (the store takes an identical copy as a no-op in effect).
        for entry in self._earlier:
            self._upload(entry)
        self.mixer.attach(self._on_video, self._on_audio)

    def pause(self, actor: str = "", reason: str = "") -> None:
        if self.paused or self.finished:
            return
        self.paused = True
        self._detach()
        offset = self.mixer.media_offset()
        self._submit(self._writer.pause)
        self._submit(self._journal.append, {"kind": "pause", "at": utc_iso(time.time()), "offset": round(offset, 3),
                                            "reason": reason})
        self._transcribe({"kind": "event", "event": "recording_paused", "actor": actor})

    def resume(self, actor: str = "") -> None:
        if not self.paused or self.finished:
            return
        self.paused = False
        offset = self.mixer.media_offset()
        self._submit(self._journal.append, {"kind": "resume", "at": utc_iso(time.time()), "offset": round(offset, 3)})
        self._transcribe({"kind": "event", "event": "recording_resumed", "actor": actor})
        # A process that died (a server, a media worker) may not have uploaded its last segments: the part
        # that carries on sends them again (the store takes an identical copy as a no-op in effect).
        for entry in self._earlier:
            self._upload(entry)
        self.mixer.attach(self._on_video, self._on_audio)

    async def finish(self) -> Path | None:
        """Close the last segment, wait for every upload, finalise, upload the final files."""
        if self.finished:
            return None
        self.finished = True
        self._detach()
        for participant, start, end in self._speakers.flush():
            self._speech(participant, start, end)
        offset = self.mixer.media_offset()
        self._submit(self._writer.close)
        self._submit(self._journal.append, {"kind": "end", "at": utc_iso(time.time()), "offset": round(offset, 3)})
        await self._drain()
        self._transcript.close()
        self._journal.close()
        try:
            return await self.recorder.finalise_folder(self.folder, uploads=self._uploads)
        finally:
            self._executor.shutdown(wait=False)

    async def abandon(self) -> None:
        """Server shutdown: close what is open so the spool is complete; the next start finalises it."""
        if self.finished:
            return
        self.finished = True
        self._detach()
        self._submit(self._writer.close)
        # Said in the journal so that the record tells an orderly shutdown from a crash.
        self._submit(self._journal.append, {"kind": "shutdown", "at": utc_iso(time.time()),
                                            "offset": round(self.mixer.media_offset(), 3)})
        await self._drain()
        self._transcript.close()
        self._journal.close()
        self._executor.shutdown(wait=False)

    # -- transcript ---------------------------------------------------------------------------------

    def note_event(self, event: EventFacts) -> None:
        camera = event.kind.startswith("camera_")  # named after the camera, not the courtroom PC
        if event.participant_id and "name" in event.data and not camera:
            self._names[event.participant_id] = (event.data["name"],
                                                 event.data.get("role", self._names.get(event.participant_id,
                                                                                        ("", ""))[1]))
        if event.kind not in TRANSCRIBED_EVENTS:
            return
        name, role = (event.data["name"], event.data.get("role", "")) if camera else \
            self._names.get(event.participant_id, ("", ""))
        entry: dict[str, Any] = {"kind": "event", "event": event.kind, "at": utc_iso(event.at),
                                 "offset": round(self._offset_at(event.at), 3)}
        if event.participant_id:
            entry.update(participant_id=event.participant_id, name=name, role=role)
        if event.actor:
            entry["actor"] = event.actor
        details = {k: v for k, v in event.data.items() if k not in PRIVATE_EVENT_DATA and k not in ("name", "role")}
        if details:
            entry["details"] = details
        self._submit(self._transcript.append, entry)

    def add_note(self, text: str, kind: str, author: str, at: float) -> dict[str, Any]:
        if kind not in NOTE_KINDS:
            raise ValueError(kind)
        entry = {"kind": "note", "note_kind": kind, "text": text, "author": author, "at": utc_iso(at),
                 "offset": round(self._offset_at(at), 3)}
        self._submit(self._transcript.append, entry)
        return entry

    def participant(self, participant_id: str, name: str, role: str) -> None:
        self._names[participant_id] = (name, role)

    def _transcribe(self, entry: dict[str, Any]) -> None:
        now = time.time()
        entry.setdefault("at", utc_iso(now))
        entry.setdefault("offset", round(self._offset_at(now), 3))
        self._submit(self._transcript.append, entry)

    def _speech(self, speaker: str, start: float, end: float) -> None:
        participant_id, _, position = speaker.partition(POSITION)
        name, role = self._names.get(participant_id, (participant_id, ""))
        entry = {"kind": "speech", "participant_id": participant_id, "name": name, "role": role}
        if position:  # a courtroom microphone speaks for its position, as a court recorder's channel does
            entry.update(name=position, role="courtroom", position=position)
        started_at = time.time() - (self.mixer.media_offset() - start)
        self._submit(self._transcript.append, {
            **entry, "offset": round(start, 3), "end": round(end, 3), "at": utc_iso(started_at)})

    def _offset_at(self, at: float) -> float:
        return max(0.0, self.mixer.media_offset() - (time.time() - at))

    # -- media (event loop side) --------------------------------------------------------------------

    def _on_video(self, packets: list[av.Packet], pts: int) -> None:
        for packet in packets:
            self._submit(self._writer.write_video, packet)

    def _on_audio(self, block: AudioBlock, position: int) -> None:
        self._submit(self._writer.write_audio, block.full, position)
        levels: dict[str, float] = {}
        for key, level in block.levels.items():
            speaker = self.mixer.speaker(key)
            if speaker is not None:
                levels[speaker] = max(level, levels.get(speaker, -120.0))
        rate = self.mixer.audio_rate
        for participant, start, end in self._speakers.feed(levels, position / rate, self.mixer.audio_block / rate):
            self._speech(participant, start, end)

    def _detach(self) -> None:
        self.mixer.detach(self._on_video, self._on_audio)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> None:
        future = self._executor.submit(fn, *args)
        future.add_done_callback(self._report)

    @staticmethod
    def _report(future: concurrent.futures.Future) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("recording work failed", exc_info=future.exception())

    async def _drain(self) -> None:
        await self._loop.run_in_executor(self._executor, lambda: None)

    # -- segments (worker thread side) --------------------------------------------------------------

    def _segment_closed(self, segment: WrittenSegment) -> None:
        sha, size = sha256_file(segment.path)
        self._chain = chain(self._chain, sha)
        entry = SegmentEntry(index=segment.index, file=segment.path.name, start=round(segment.start, 6),
                             end=round(segment.end, 6), size=size, sha256=sha, chain=self._chain)
        self._journal.append({"kind": "segment", **entry.__dict__})
        self.segments_written += 1
        self._loop.call_soon_threadsafe(self._upload, entry)

    def _upload(self, entry: SegmentEntry) -> None:
        job = UploadJob(segment_key(self.hearing.id, entry.file), self.folder / entry.file, entry.sha256)
        self._uploads.append(self.recorder.uploader.submit(job))


def hearing_record(hearing: HearingFacts) -> dict[str, Any]:
    return {"id": hearing.id, "case_number": hearing.case_number, "title": hearing.title,
            "case_category": hearing.case_category, "court": hearing.court,
            "courtroom": hearing.courtroom, "judge": hearing.judge, "judge_name": hearing.judge_name,
            "opened_at": utc_iso(hearing.opened_at) if hearing.opened_at else "",
            "opened_at_epoch": hearing.opened_at or 0.0}


def remove_spool(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
