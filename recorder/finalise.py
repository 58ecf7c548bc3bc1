"""Turn a spool folder (journal + segments + transcript journal) into the finished court record.

Pure file work, run in a thread: salvage a segment cut short by a crash, join the segments into one MP4,
write the transcript as JSON and WebVTT, and build the signed manifest.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .files import touch_private
from .journal import read_journal
from .manifest import Gap, Manifest, ManifestFile, SegmentEntry, chain, genesis, sha256_file
from .remux import remux
from .segments import MUX_OPTIONS
from .transcript import sort_entries, to_json, to_webvtt, utc_iso

log = logging.getLogger(__name__)

JOURNAL = "journal.jsonl"
TRANSCRIPT = "transcript.jsonl"
FINAL_MP4 = "hearing.mp4"
TRANSCRIPT_JSON = "transcript.json"
TRANSCRIPT_VTT = "transcript.vtt"
MANIFEST = "manifest.json"
SEAM_TOLERANCE = 0.25  # seconds between segments that still count as continuous


@dataclass
class Finalised:
    manifest: Manifest
    folder: Path
    files: list[str] = field(default_factory=list)  # in upload order, manifest last


def salvage(path: Path) -> bool:
    """Rewrite a segment that was being written when the process died: keep every packet that can still
    be read (the mp4 was flushed fragment by fragment), drop the torn end. False if nothing is usable."""
    tmp = path.with_suffix(".salvage.mp4")
    kept = 0
    try:
        with av.open(str(path)) as source:
            output = av.open(str(touch_private(tmp)), "w", format="mp4", options=dict(MUX_OPTIONS))
            try:
                streams = {s.type: output.add_stream_from_template(s) for s in source.streams
                           if s.type in ("video", "audio")}
                for packet in source.demux():
                    if packet.dts is None or packet.stream.type not in streams:
                        continue
                    packet.stream = streams[packet.stream.type]
                    output.mux(packet)
                    kept += packet.stream.type == "video"
            finally:
                output.close()
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        log.warning("segment %s could not be salvaged: %s", path.name, exc)
        tmp.unlink(missing_ok=True)
        return False
    if kept == 0:
        tmp.unlink(missing_ok=True)
        return False
    tmp.replace(path)
    return True


def media_span(path: Path) -> tuple[float, float]:
    first, last = None, 0.0
    with av.open(str(path)) as source:
        for packet in source.demux(video=0):
            if packet.pts is None:
                continue
            at = float(packet.pts * packet.time_base)
            first = at if first is None else min(first, at)
            last = max(last, at + float((packet.duration or 0) * packet.time_base))
    return (first or 0.0), last


def finalise_spool(folder: Path, key: Ed25519PrivateKey, interrupted: bool) -> Finalised:
    journal = list(read_journal(folder / JOURNAL))
    begins = [e for e in journal if e["kind"] == "begin"]
    if not begins:
        raise ValueError(f"{folder}: no recording journal")
    hearing = begins[0]["hearing"]
    segments = [SegmentEntry(**{k: v for k, v in e.items() if k != "kind"}) for e in journal if e["kind"] == "segment"]
    known = {s.file for s in segments}
    last_chain = segments[-1].chain if segments else genesis(hearing["id"])

    # A segment that was open when the server died is on disk but not in the journal.
    for path in sorted(folder.glob("segment-*.mp4")):
        if path.name in known or ".salvage" in path.name:
            continue
        if salvage(path):
            start, end = media_span(path)
            sha, size = sha256_file(path)
            last_chain = chain(last_chain, sha)
            segments.append(SegmentEntry(int(path.stem.split("-")[1]), path.name, round(start, 6), round(end, 6),
                                         size, sha, last_chain,
                                         note="recovered after the server stopped; its last second may be missing"))
        else:
            path.unlink(missing_ok=True)
    segments.sort(key=lambda s: s.index)

    opened_epoch = float(hearing.get("opened_at_epoch") or 0.0)
    ends = [e for e in journal if e["kind"] == "end"]
    gaps: list[Gap] = []
    pauses: list[dict[str, Any]] = []
    paused_at: dict[str, Any] | None = None
    for entry in journal:
        if entry["kind"] == "pause":
            paused_at = entry
        elif entry["kind"] == "resume" and paused_at is not None:
            pauses.append({"start": paused_at["offset"], "end": entry["offset"], "start_utc": paused_at["at"],
                           "end_utc": entry["at"], "reason": paused_at.get("reason", "")})
            paused_at = None
        elif entry["kind"] == "restarted":
            earlier = [s for s in segments if s.start < entry["offset"]]
            start = earlier[-1].end if earlier else 0.0
            orderly = any(e["kind"] == "shutdown" and e["offset"] <= entry["offset"] for e in journal)
            gaps.append(Gap(start, entry["offset"], "the server was shut down; the hearing went on after a restart"
                            if orderly else "the server stopped; the hearing went on after a restart",
                            utc_iso(opened_epoch + start) if opened_epoch else "", entry["at"]))
    if paused_at is not None:
        pauses.append({"start": paused_at["offset"], "end": None, "start_utc": paused_at["at"], "end_utc": "",
                       "reason": paused_at.get("reason", "")})
    # Media missing between two segments without a pause or restart to explain it.
    for before, after in zip(segments, segments[1:]):
        if after.start - before.end > SEAM_TOLERANCE:
            explained = any(g.start <= before.end + SEAM_TOLERANCE and (g.end or 0) >= after.start - SEAM_TOLERANCE
                            for g in gaps) or any(
                p["start"] <= before.end + SEAM_TOLERANCE and (p["end"] or 1e18) >= after.start - SEAM_TOLERANCE
                for p in pauses)
            if not explained:
                gaps.append(Gap(before.end, after.start, "media missing between segments",
                                utc_iso(opened_epoch + before.end) if opened_epoch else "",
                                utc_iso(opened_epoch + after.start) if opened_epoch else ""))
    now = time.time()
    if interrupted:
        stopped = segments[-1].end if segments else 0.0
        # Only the last part counts: a shutdown before an earlier restart says nothing about this end.
        last_restart = max((i for i, e in enumerate(journal) if e["kind"] == "restarted"), default=-1)
        orderly = any(e["kind"] == "shutdown" for e in journal[last_restart + 1:])
        reason = ("the server was shut down and the hearing was not carried on" if orderly else
                  "the server stopped unexpectedly") + "; nothing was recorded after this point"
        gaps.append(Gap(stopped, None, reason,
                        utc_iso(opened_epoch + stopped) if opened_epoch else "", ""))
    gaps.sort(key=lambda g: g.start)

    entries = sort_entries(list(read_journal(folder / TRANSCRIPT)))
    participants = _participants(entries)
    closed_at = ends[-1]["at"] if ends else (utc_iso(opened_epoch + segments[-1].end) if segments and opened_epoch
                                              else utc_iso(now))
    manifest = Manifest(hearing_id=hearing["id"], case_number=hearing["case_number"], title=hearing["title"],
                        case_category=hearing.get("case_category", ""),
                        court=hearing["court"], courtroom=hearing["courtroom"], judge=hearing["judge"],
                        judge_name=hearing["judge_name"], opened_at=hearing["opened_at"], closed_at=closed_at,
                        status="interrupted" if interrupted else "final",
                        participants=participants, segments=segments, gaps=gaps, pauses=pauses)

    files = []
    header = {"hearing": hearing, "format": "courtroom-transcript/1",
              "note": "offset = seconds on the hearing clock = time in hearing.mp4"}
    touch_private(folder / TRANSCRIPT_JSON).write_text(to_json(header, entries), encoding="utf-8")
    touch_private(folder / TRANSCRIPT_VTT).write_text(to_webvtt(entries), encoding="utf-8")
    if segments:
        remux([folder / s.file for s in segments], folder / FINAL_MP4)
        files.append(FINAL_MP4)
    files += [TRANSCRIPT_JSON, TRANSCRIPT_VTT]
    for name in files:
        sha, size = sha256_file(folder / name)
        manifest.files.append(ManifestFile(name, size, sha))
    manifest.sign(key)
    touch_private(folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return Finalised(manifest, folder, files + [MANIFEST])


def _participants(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Who was in the hearing. Admitted (or joined) is not present: someone counts as present from the
    moment their media first connected (`media_connected`); one whose media never did is listed with
    `present: false` and the last reason it failed."""
    participants: dict[str, dict[str, Any]] = {}
    for entry in entries:
        pid, event = entry.get("participant_id"), entry.get("event")
        if not pid:
            continue
        if event in ("admitted", "joined", "observer_joined") and pid not in participants:
            participants[pid] = {"id": pid, "name": entry.get("name", ""), "role": entry.get("role", ""),
                                 "first_in": entry["at"], "first_offset": entry["offset"], "present": False}
        person = participants.get(pid)
        if person is None:
            continue
        if event == "media_connected" and not person["present"]:
            person.update(present=True, present_from=entry["at"], present_offset=entry["offset"])
            person.pop("media_error", None)
        elif event == "media_failed" and not person["present"]:
            person["media_error"] = entry.get("details", {}).get("reason", "")
    return list(participants.values())
