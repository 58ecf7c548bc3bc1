"""A second WebRTC stack: GStreamer's webrtcbin (libnice ICE, GStreamer's DTLS with its own RSA certificate,
`a=setup:actpass`, no SDP changes) joins through the real lobby and admission, sends H.264 or VP8, receives
the composite and the mix-minus, and is found in the recording. The endpoint itself is tests/gst_peer.py,
run by Debian's python3 (python3-gi)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from .helpers import Participant, tone_strength
from .waiting import until

pytestmark = pytest.mark.media

SYSTEM_PYTHON = "/usr/bin/python3"
GST_PEER = Path(__file__).with_name("gst_peer.py")
GREEN = (0, 192, 0)  # the picture the GStreamer client sends (ARGB 0xff00c000)


def _gstreamer_ready() -> bool:
    import subprocess

    probe = ("import gi; gi.require_version('Gst','1.0'); gi.require_version('GstWebRTC','1.0');"
             "from gi.repository import Gst; Gst.init(None);"
             "assert all(Gst.ElementFactory.find(n) for n in "
             "['webrtcbin','x264enc','vp8enc','nicesrc','opusenc','avdec_h264','vp8dec']);"
             "gi.require_version('Nice','0.1')")
    return shutil.which(SYSTEM_PYTHON) is not None and \
        subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True).returncode == 0


if not _gstreamer_ready():  # scripts/setup-test-env.sh installs it; a missing piece is a set-up error
    raise RuntimeError("GStreamer's webrtcbin with python3-gi is missing: run scripts/setup-test-env.sh")


class GstClient:
    """The tests/gst_peer.py process: JSON lines in and out."""

    def __init__(self, codec: str, tone: float) -> None:
        self.codec = codec
        self.tone = tone
        self.events: list[dict[str, Any]] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            SYSTEM_PYTHON, str(GST_PEER), "--codec", self.codec, "--tone", str(self.tone), "--address", "127.0.0.1",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "GST_DEBUG": "1"})
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            self.events.append(json.loads(line))

    def last(self, kind: str) -> dict[str, Any] | None:
        return next((e for e in reversed(self.events) if e["event"] == kind), None)

    async def wait(self, kind: str, timeout: float = 20.0) -> dict[str, Any]:
        await until(lambda: self.last(kind) is not None or self.process.returncode is not None, timeout, 0.05,
                    what=f"the GStreamer client's {kind}")
        event = self.last(kind)
        assert event is not None, await self.stderr()
        return event

    async def send(self, **message: Any) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        await self.process.stdin.drain()

    def status(self) -> dict[str, Any]:
        return self.last("status") or {}

    async def stderr(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        try:
            return (await asyncio.wait_for(self.process.stderr.read(20000), 2.0)).decode(errors="replace")
        except asyncio.TimeoutError:
            return ""

    async def dump(self, folder: Path) -> tuple[np.ndarray, np.ndarray]:
        count = len(self.events)
        await self.send(dump=str(folder))
        await until(lambda: any(e["event"] == "dumped" for e in self.events[count:]), 10.0, 0.05,
                    what="the GStreamer client's dump")
        status = self.status()
        frame = np.frombuffer((folder / "frame.rgb").read_bytes(), np.uint8)
        picture = frame[:status["height"] * status["width"] * 3].reshape(status["height"], status["width"], 3)
        return picture, np.frombuffer((folder / "audio.s16").read_bytes(), np.int16)

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            try:
                await self.send(quit=True)
                await asyncio.wait_for(self.process.wait(), 10.0)
            except (asyncio.TimeoutError, ConnectionError):
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


def _find_green(picture: np.ndarray) -> float:
    """The share of the picture (RGB) that is the client's green."""
    distance = np.abs(picture.astype(np.int16) - np.array(GREEN, np.int16)).sum(axis=2)
    return float((distance < 60).mean())


@pytest.mark.parametrize("codec", ["h264", "vp8"])
async def test_a_gstreamer_client_joins_is_seen_heard_and_recorded(api, settings, tmp_path, codec):
    judge = await api.login("judge")
    hearing = await api.new_hearing(judge)
    hid = hearing["id"]
    gst = GstClient(codec, tone=700.0)
    party = Participant(api.base, (await api.invite(judge, hid, "Gita Streamer", "defendant"))["token"])
    ben = Participant(api.base, (await api.invite(judge, hid, "Ben Okafor", "plaintiff"))["token"], tone=1100.0)
    try:
        welcome = await party.connect()
        assert welcome["state"] == "lobby", welcome
        await gst.start()
        offer = await gst.wait("offer")
        assert "a=setup:actpass" in offer["sdp"]  # webrtcbin's default, sent as it is
        await party.send({"type": "offer", "sdp": offer["sdp"]})
        answer = await party.expect("answer", "error")
        assert answer["type"] == "answer", answer
        await gst.send(answer=answer["sdp"])
        pid = welcome["participant"]["id"]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
        await party.expect("admitted")
        await ben.connect()
        await ben.start_media()
        ben_id = ben.of_type("welcome")[0]["participant"]["id"]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{ben_id}/admit", token=judge)
        await ben.expect("admitted")

        # The composite reaches the GStreamer client, 15 fps, with its own green tile in it; it hears Ben.
        await until(lambda: gst.status().get("video_frames", 0) >= 45 and
                    gst.status().get("audio_samples", 0) >= 3 * 48000, 30.0, 0.2,
                    what="the composite and the mix-minus at the GStreamer client")
        assert gst.status()["connection"] == "connected"
        assert (gst.status()["width"], gst.status()["height"]) == (settings.media.width, settings.media.height)
        await ben.wait_frames(15)

        async def sees_itself_and_hears_ben() -> bool:
            picture, sound = await gst.dump(tmp_path)
            return _find_green(picture) > 0.05 and len(sound) >= 48000 and \
                tone_strength(sound[-48000:], 1100.0) > 0.5
        await until(sees_itself_and_hears_ben, 20.0, 0.5, what="its own tile and Ben's voice")
        picture, sound = await gst.dump(tmp_path)
        assert tone_strength(sound[-48000:], 700.0) < 0.05  # mix-minus: not its own tone
        # The colours GStreamer decodes are the ones it sent (test_recording.py checks the stream's colour
        # declaration itself; at this size a decoder without it would guess BT.601 too, at 720p BT.709).
        tile = picture[np.abs(picture.astype(np.int16) - np.array(GREEN, np.int16)).sum(axis=2) < 60]
        assert np.all(np.abs(np.median(tile, axis=0) - np.array(GREEN)) <= 10), np.median(tile, axis=0)
        # Ben (aiortc) sees the GStreamer client's picture, and hears its tone.
        frame = ben.last_frame.to_ndarray(format="rgb24")
        assert _find_green(frame) > 0.05
        await until(lambda: len(ben.audio) >= 48000 and tone_strength(ben.audio[-48000:], 700.0) > 0.5,
                    10.0, 0.2, what="Ben to hear the GStreamer client")
        # Everyone's roster has the GStreamer client's media connected.
        roster = ben.of_type("roster")[-1]["participants"]
        assert next(p for p in roster if p["id"] == pid)["media"] == "connected", roster
    finally:
        await asyncio.gather(party.close(), ben.close(), gst.close())
    await api.ok("POST", f"/api/hearings/{hid}/close", token=judge)

    # The record: the GStreamer client's green tile is in the hearing's MP4.
    folder = settings.recordings_path / hid
    await until(lambda: (folder / "manifest.json").exists(), 30.0, 0.2, what="the recording to be finalised")
    with av.open(str(folder / "hearing.mp4")) as container:
        greens = [_find_green(f.to_ndarray(format="rgb24")) for i, f in enumerate(container.decode(video=0))
                  if i % 15 == 0]
    assert max(greens) > 0.05, greens
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {p["name"]: p["present"] for p in manifest["participants"]}["Gita Streamer"] is True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
