"""The court record, end to end: known marks in, the same marks found in the final MP4 where the
transcript says; a verifiable, signed manifest; pause and resume; log notes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from recorder.manifest import Manifest
from recorder.verify import verify_folder

from .helpers import Participant
from .marks import BeepTrack, FlashTrack, find_beep, find_flash
from .waiting import until

pytestmark = pytest.mark.media

BEEP_AT, FLASH_AT = 3.0, 5.0


async def _admit(api, judge: str, hid: str, person: Participant) -> None:
    await person.connect()
    await person.start_media()
    pid = person.of_type("welcome")[0]["participant"]["id"]
    await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
    await person.expect("admitted")


async def test_marks_are_in_the_record_where_the_transcript_says(api, server, settings):
    judge = await api.login("judge")
    clerk = await api.login("clerk")
    hearing = await api.new_hearing(judge)
    hid, opened = hearing["id"], hearing["opened_at"]
    ana = Participant(api.base, (await api.invite(judge, hid, "Ana Beep", "plaintiff"))["token"],
                      audio_track=BeepTrack(opened + BEEP_AT), video=False)
    ben = Participant(api.base, (await api.invite(judge, hid, "Ben Flash", "witness"))["token"],
                      video_track=FlashTrack(opened + FLASH_AT))
    try:
        await _admit(api, judge, hid, ana)
        await _admit(api, judge, hid, ben)
        # Paced on the hearing's clock, on purpose: the note is taken 6.2 s in (its offset is checked below),
        # and the hearing runs to 7.5 s so that the beep at 3 s and the flash at 5 s are well inside it.
        await asyncio.sleep(max(0.0, opened + 6.2 - time.time()))
        note = await api.ok("POST", f"/api/hearings/{hid}/notes", {"text": "Exhibit P-3 shown", "kind": "exhibit"},
                            clerk)
        assert note["kind"] == "exhibit"
        await asyncio.sleep(max(0.0, opened + 7.5 - time.time()))
    finally:
        await asyncio.gather(ana.close(), ben.close())
    await api.ok("POST", f"/api/hearings/{hid}/close", token=judge)

    folder = settings.recordings_path / hid
    await until(lambda: (folder / "manifest.json").exists(), 30.0, 0.2, what="the recording to be finalised")
    manifest = Manifest.from_dict(json.loads((folder / "manifest.json").read_text()))
    transcript = json.loads((folder / "transcript.json").read_text())
    mp4 = str(folder / "hearing.mp4")

    # The beep: the speaker timeline says when Ana spoke; the sound is there in the file.
    turns = [e for e in transcript["entries"] if e["kind"] == "speech" and e["name"] == "Ana Beep"]
    assert len(turns) == 1 and turns[0]["role"] == "plaintiff"
    beep = find_beep(mp4)
    assert beep is not None and abs(beep - turns[0]["offset"]) <= 0.040, (beep, turns[0])
    assert abs(turns[0]["end"] - turns[0]["offset"] - 0.4) < 0.1 + 0.6  # 0.4 s beep (+ hangover)
    # The flash: the transcript's clock (offset 0 = opened_at UTC) puts it at 5 s; the file shows it after
    # the network and at most one composite frame later. Sound and picture stay in step with each other.
    flash = find_flash(mp4)
    assert flash is not None
    assert 0.0 <= flash - FLASH_AT <= 1 / settings.media.fps + 0.100, flash
    assert abs((flash - beep) - (FLASH_AT - BEEP_AT)) <= 1 / settings.media.fps + 0.040, (flash, beep)
    # Events and notes carry UTC and the media offset.
    events = {e["event"]: e for e in transcript["entries"] if e["kind"] == "event"}
    assert events["opened"]["offset"] == 0.0
    assert {"opened", "admitted", "closed"} <= set(events)
    notes = [e for e in transcript["entries"] if e["kind"] == "note"]
    assert notes[0]["text"] == "Exhibit P-3 shown" and notes[0]["author"] == "Clerk Carmen Ortiz"
    assert abs(notes[0]["offset"] - 6.2) < 0.3 and notes[0]["at"].endswith("Z")
    assert "session_token" not in (folder / "transcript.json").read_text()
    vtt = (folder / "transcript.vtt").read_text()
    assert vtt.startswith("WEBVTT") and "Ana Beep (plaintiff) speaking" in vtt and "[Exhibit] Exhibit P-3" in vtt

    # The manifest: who, when, every segment hashed and chained, signed; verify agrees.
    assert manifest.status == "final" and manifest.case_number == "CV-2026-0142"
    assert {(p["name"], p["role"]) for p in manifest.participants} == {("Ana Beep", "plaintiff"),
                                                                      ("Ben Flash", "witness")}
    assert len(manifest.segments) >= 2 and manifest.gaps == []
    assert all(s.duration <= settings.recording.segment_seconds + 2.1 for s in manifest.segments)
    assert all(check.ok for check in verify_folder(folder)), [c.line() for c in verify_folder(folder)]
    # Same packets as the live composite: constrained baseline H.264, plus AAC; ffprobe agrees.
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "stream=codec_name,profile,width,height,color_space,color_transfer,color_primaries,color_range"
         ":format=duration",
         "-of", "json", mp4], capture_output=True, text=True, check=True).stdout)
    codecs = {s["codec_name"]: s for s in probe["streams"]}
    assert codecs["h264"]["profile"] == "Constrained Baseline"
    # The picture declares its colours (BT.601, limited range, as the compositor draws them).
    assert {k: codecs["h264"].get(k) for k in ("color_space", "color_transfer", "color_primaries",
                                               "color_range")} == {
        "color_space": "smpte170m", "color_transfer": "smpte170m", "color_primaries": "smpte170m",
        "color_range": "tv"}
    assert (codecs["h264"]["width"], codecs["h264"]["height"]) == (settings.media.width, settings.media.height)
    assert "aac" in codecs
    assert abs(float(probe["format"]["duration"]) - manifest.duration) < 0.3
    # And the spool is empty: everything reached the store.
    await until(lambda: not (settings.spool_path / hid).exists(), 30.0, 0.2, what="the spool to be emptied")


async def test_pause_and_resume_are_marked_and_leave_no_gap_unexplained(api, server, settings):
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    person = Participant(api.base, (await api.invite(judge, hid, "Pat Pause"))["token"], tone=600.0)
    try:
        await _admit(api, judge, hid, person)
        # The recorder takes the same packets as the live composite: once it reaches the person, it is recording.
        await person.wait_frames(5)
        # These lengths are the test (some record, a pause of more than 1.5 s, some more record): time passes
        # on purpose.
        await asyncio.sleep(2.0)
        paused = await api.ok("POST", f"/api/hearings/{hid}/recording/pause", token=judge)
        assert paused["recording_paused"] is True
        await asyncio.sleep(2.0)
        await api.ok("POST", f"/api/hearings/{hid}/recording/resume", token=judge)
        await asyncio.sleep(2.5)
        status, body = await api.call("POST", f"/api/hearings/{hid}/recording/pause", token=await api.login("clerk"))
        assert status == 403
    finally:
        await person.close()
    await api.ok("POST", f"/api/hearings/{hid}/close", token=judge)
    folder = settings.recordings_path / hid
    await until(lambda: (folder / "manifest.json").exists(), 30.0, 0.2, what="the recording to be finalised")
    manifest = Manifest.from_dict(json.loads((folder / "manifest.json").read_text()))
    assert len(manifest.pauses) == 1 and manifest.pauses[0]["end"] - manifest.pauses[0]["start"] > 1.5
    assert manifest.gaps == []  # a pause is not a loss
    before = [s for s in manifest.segments if s.end <= manifest.pauses[0]["start"] + 0.2]
    after = [s for s in manifest.segments if s.start >= manifest.pauses[0]["end"] - 0.2]
    assert before and after and len(before) + len(after) == len(manifest.segments)
    entries = json.loads((folder / "transcript.json").read_text())["entries"]
    assert [e["event"] for e in entries if e.get("event", "").startswith("recording_")] == [
        "recording_paused", "recording_resumed"]
    assert all(c.ok for c in verify_folder(folder))


def test_a_flipped_byte_fails_verification_and_names_the_segment(tmp_path, settings):
    """Built from a real recording made by the segment writer, tampered with on disk."""
    from tests.record_fixture import make_recording

    folder = make_recording(tmp_path, settings)
    ok = subprocess.run([sys.executable, "-m", "hearing_server", "verify", str(folder)], capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stdout
    target = sorted((folder / "segments").glob("segment-*.mp4"))[1]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    bad = subprocess.run([sys.executable, "-m", "hearing_server", "verify", str(folder)], capture_output=True,
                         text=True)
    assert bad.returncode == 1
    failures = [line for line in bad.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 1 and target.name in failures[0] and "differs" in failures[0]
    # A manifest edited after signing is caught too.
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["case_number"] = "CV-0000-FORGED"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    forged = subprocess.run([sys.executable, "-m", "hearing_server", "verify", str(folder)], capture_output=True,
                            text=True)
    assert "FAIL signature" in forged.stdout
