"""The courtroom PC: the agent publishes two synthetic cameras and two synthetic microphones into a live
hearing; a remote party sees both labelled tiles where the layout puts them, hears both positions, and the
transcript names who spoke; an unplugged camera shows offline and comes back; a network drop is survived."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from hardware.agent import CourtroomAgent
from hardware.config import AgentConfig, CameraConfig, MicrophoneConfig
from hardware.synthetic import synthetic_picture
from hearing_server.media.compositor import BAR, grid
from recorder.finalise import TRANSCRIPT
from recorder.journal import read_journal
from recorder.manifest import Manifest

from .helpers import Participant
from .servers import Relay
from .waiting import until, wait_audio

pytestmark = pytest.mark.media

BENCH, STAND = "Judge's bench", "Witness stand"
COLORS = {BENCH: "#a04020", STAND: "#3060c0"}


def tile_cells(count: int, width: int, height: int) -> list[tuple[int, int, int, int]]:
    return grid(count, width, height, int(BAR * height / 720))


def name_score(picture: np.ndarray, cell: tuple[int, int, int, int], name: str) -> float:
    """How well the cell shows `name`'s synthetic camera: its name band, scaled as the compositor letterboxes
    a 640×360 picture into the cell, searched for in the cell (normalised correlation)."""
    x, y, w, h = cell
    region = cv2.cvtColor(picture[y:y + h, x:x + w], cv2.COLOR_BGR2GRAY)
    card = synthetic_picture(name, 640, 360, 0.0, COLORS[name])
    fit = min((w - 8) / 640, (h - 8) / 360)
    scaled = cv2.cvtColor(cv2.resize(card, (int(640 * fit), int(360 * fit)), interpolation=cv2.INTER_AREA),
                          cv2.COLOR_BGR2GRAY)
    band = scaled[int(scaled.shape[0] * 0.40):int(scaled.shape[0] * 0.60), int(scaled.shape[1] * 0.05):
                  int(scaled.shape[1] * 0.95)]
    return float(cv2.matchTemplate(region, band, cv2.TM_CCOEFF_NORMED).max())


def courtroom_cameras(server) -> list[dict]:
    """The live room's courtroom cameras, as the judge's console is told them."""
    from hearing_server.app import ROOMS

    rooms = server.app[ROOMS].rooms
    return next(iter(rooms.values())).media.room.camera_list() if rooms else []  # in-process media


def noted(spool: Path, event: str, name: str) -> bool:
    """The hearing's record, still being written, already notes `event` for the camera `name`."""
    return any(e.get("kind") == "event" and e.get("event") == event and e.get("name") == name
               for e in read_journal(spool / TRANSCRIPT))


def tone_level(audio: np.ndarray, frequency: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64) * np.hanning(len(audio))))
    bins = np.fft.rfftfreq(len(audio), 1 / 48000)
    near = (bins > frequency - 15) & (bins < frequency + 15)
    return float(spectrum[near].max() / (np.median(spectrum) + 1e-9))


@pytest.fixture
def agent_config(tmp_path) -> AgentConfig:
    return AgentConfig(
        server_url="", token_file=str(tmp_path / "device.token"), courtroom="Courtroom 3", retry_seconds=0.5,
        cameras=[CameraConfig(BENCH, f"synthetic:color={COLORS[BENCH]}"),
                 CameraConfig(STAND, f"synthetic:color={COLORS[STAND]}")],
        # The judge's microphone is steady; the witness speaks in bursts: one long turn against several.
        microphones=[MicrophoneConfig("Judge", "synthetic:tone=440"),
                     MicrophoneConfig(STAND, "synthetic:tone=1200,on=1,off=1.5")])


async def test_courtroom_cameras_and_microphones_in_the_hearing_and_the_record(api, server, settings,
                                                                               agent_config, tmp_path):
    def camera_list() -> list[dict]:
        return courtroom_cameras(server)

    def stand_online() -> bool:
        return any(c["label"] == STAND and c["online"] for c in camera_list())

    judge = await api.login("judge")
    Path(agent_config.token_file).write_text(await api.login("courtroom1") + "\n")
    hearing = await api.new_hearing(judge)  # in Courtroom 3
    hid = hearing["id"]
    spool = settings.spool_path / hid  # where the recorder journals the transcript while the hearing runs
    relay = Relay(server.port)  # the courtroom PC's network, which the test can cut
    await relay.restore()
    agent_config.server_url = relay.url
    agent = CourtroomAgent(agent_config)
    running = asyncio.create_task(agent.run())
    party = Participant(api.base, (await api.invite(judge, hid, "Ada Remote", "defendant"))["token"],
                        color=(40, 160, 40), video=True)
    try:
        await asyncio.wait_for(agent.joined.wait(), 20)
        assert agent.status.hearing_id == hid
        await until(lambda: len(camera_list()) == 2 and all(c["online"] for c in camera_list()), 15,
                    what="both courtroom cameras online")
        await party.connect()
        await party.start_media()
        pid = party.of_type("welcome")[0]["participant"]["id"]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
        await party.expect("admitted")
        await party.wait_frames(20)

        # The composite: the courtroom's two cameras first, each labelled, then the remote party.
        cells = tile_cells(3, settings.media.width, settings.media.height)

        def three_tiles() -> tuple[np.ndarray, dict, np.ndarray]:
            picture = party.last_frame.to_ndarray(format="bgr24")
            scores = {(i, name): name_score(picture, cells[i], name) for i in (0, 1) for name in (BENCH, STAND)}
            x, y, w, h = cells[2]
            party_tile = picture[y + h // 4:y + h // 2, x + w // 4:x + 3 * w // 4].reshape(-1, 3).mean(axis=0)
            return picture, scores, party_tile

        def three_tiles_right(scores: dict, party_tile: np.ndarray) -> bool:
            return bool(scores[(0, BENCH)] > 0.6 and scores[(1, STAND)] > 0.6
                        and scores[(0, BENCH)] > scores[(0, STAND)] + 0.1
                        and scores[(1, STAND)] > scores[(1, BENCH)] + 0.1
                        and party_tile[1] > 120 and party_tile[0] < 80)

        await until(lambda: three_tiles_right(*three_tiles()[1:]), 20.0, 0.2,
                    what=lambda: f"the bench, the witness stand and the party in the composite {three_tiles()[1:]}")
        picture, scores, party_tile = three_tiles()
        cv2.imwrite(str(tmp_path / "composite.png"), picture)
        assert scores[(0, BENCH)] > 0.6 and scores[(1, STAND)] > 0.6, scores
        assert scores[(0, BENCH)] > scores[(0, STAND)] + 0.1 and scores[(1, STAND)] > scores[(1, BENCH)] + 0.1
        assert party_tile[1] > 120 and party_tile[0] < 80, party_tile  # the party's green picture
        # The party hears both courtroom positions: three seconds of sound, more than one turn of the stand's.
        await wait_audio(party, 3.0)
        heard = party.audio[-48000 * 3:]
        assert tone_level(heard, 440) > 50 and tone_level(heard, 1200) > 50

        # The judge takes the witness-stand camera out of the picture and puts it back.
        stand = next(c for c in camera_list() if c["label"] == STAND)
        shown = await api.ok("POST", f"/api/hearings/{hid}/cameras", {"camera": stand["key"], "shown": False},
                             judge)
        assert shown["shown"] is False
        two = tile_cells(2, settings.media.width, settings.media.height)

        def two_tiles() -> dict:
            picture = party.last_frame.to_ndarray(format="bgr24")
            return {"bench": name_score(picture, two[0], BENCH), "stand in 1st": name_score(picture, two[0], STAND),
                    "stand in 2nd": name_score(picture, two[1], STAND)}

        def stand_hidden(score: dict) -> bool:
            return score["bench"] > max(0.6, score["stand in 1st"] + 0.1) and score["stand in 2nd"] < 0.5

        await until(lambda: stand_hidden(two_tiles()), 15.0, 0.2,
                    what=lambda: f"two tiles, the bench and the party's, not the stand {two_tiles()}")
        await api.ok("POST", f"/api/hearings/{hid}/cameras", {"camera": stand["key"], "shown": True}, judge)
        status, body = await api.call("POST", f"/api/hearings/{hid}/cameras", {"camera": "nope", "shown": True},
                                      judge)
        assert status == 404
        status, body = await api.call("POST", f"/api/hearings/{hid}/cameras", {"camera": stand["key"]}, judge)
        assert status == 400
        status, body = await api.call("POST", f"/api/hearings/{hid}/cameras",
                                      {"camera": stand["key"], "shown": False}, await api.login("clerk"))
        assert status == 403

        # The witness-stand camera is unplugged: its tile says so, the hearing goes on; plugged in, it is back.
        agent.devices.unplug(STAND)
        await until(lambda: not stand_online(), 10, what="the camera to show offline")
        # The room's camera watcher looks every 0.5 s: the outage is in the record before the camera is back.
        await until(lambda: noted(spool, "camera_offline", STAND), 10, 0.2, what="the record to note the outage")

        def tiles() -> tuple[float, float]:
            picture = party.last_frame.to_ndarray(format="bgr24")
            return name_score(picture, cells[0], BENCH), name_score(picture, cells[1], STAND)

        # The bench as before, and the placeholder in the stand's tile, not its picture.
        def placeholder_shown() -> bool:
            bench, stand = tiles()
            return bench > 0.6 and stand < 0.5

        await until(placeholder_shown, 10.0, 0.2, what=lambda: f"the stand's tile to show the placeholder {tiles()}")
        frames = party.video_frames
        agent.devices.replug(STAND)
        await until(stand_online, 15, what="the camera to come back")
        await until(lambda: noted(spool, "camera_online", STAND), 10, 0.2, what="the record to note the return")
        await until(lambda: tiles()[1] > 0.6, 10.0, 0.2, what=lambda: f"the stand's picture back in its tile {tiles()}")
        assert party.video_frames > frames  # the hearing never stopped

        # The courtroom PC's network drops: it comes back by itself, in the same place.
        courtroom_id = stand["participant_id"]
        await relay.cut()
        await until(lambda: not agent.status.connected, 15, what="the agent to notice the drop")
        await asyncio.sleep(1.0)  # on purpose: the network stays down a while, so the agent's reconnects fail
        await relay.restore()
        await until(lambda: agent.status.joins >= 2 and agent.status.connected, 30, what="the agent to rejoin")
        await until(lambda: len(camera_list()) == 2 and all(c["online"] for c in camera_list()), 15,
                    what="both cameras back after the drop")
        assert {c["participant_id"] for c in camera_list()} == {courtroom_id}
        await until(lambda: min(tiles()) > 0.6, 15.0, 0.2,
                    what=lambda: f"both courtroom pictures back in the composite {tiles()}")
        # On purpose, a stretch with nothing going on, for the record checked below: the steady microphone
        # holds one long turn (more than 4 s), the bursty one several short ones.
        await wait_audio(party, 5.0)
    finally:
        await party.close()
        await agent.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await relay.cut()
    await api.ok("POST", f"/api/hearings/{hid}/close", token=judge)

    # The record: the speaker timeline names the courtroom positions; the camera's outage is noted.
    folder = settings.recordings_path / hid
    await until(lambda: (folder / "manifest.json").exists(), 30, what="the recording to be finalised")
    entries = json.loads((folder / "transcript.json").read_text())["entries"]
    turns = [e for e in entries if e["kind"] == "speech" and e["role"] == "courtroom"]
    judge_turns = [t for t in turns if t["name"] == "Judge"]
    stand_turns = [t for t in turns if t["name"] == STAND]
    assert judge_turns and stand_turns, turns
    assert all(t["position"] == t["name"] and t["participant_id"] == courtroom_id for t in turns)
    # The steady microphone holds long turns; the one in 1 s bursts many short ones.
    assert max(t["end"] - t["offset"] for t in judge_turns) > 4.0
    assert len(stand_turns) >= 3 and all(t["end"] - t["offset"] < 2.0 for t in stand_turns), stand_turns
    events = [(e["event"], e.get("name")) for e in entries if e["kind"] == "event"]
    for expected in (("camera_hidden", STAND), ("camera_shown", STAND), ("camera_offline", STAND),
                     ("camera_online", STAND)):
        assert expected in events, events
    manifest = Manifest.from_dict(json.loads((folder / "manifest.json").read_text()))
    assert ("Courtroom 1 PC", "courtroom") in {(p["name"], p["role"]) for p in manifest.participants}
    vtt = (folder / "transcript.vtt").read_text()
    assert "Witness stand (courtroom) speaking" in vtt and 'Courtroom camera "Witness stand" offline' in vtt




async def test_a_party_may_not_name_its_sources(api, server):
    judge = await api.login("judge")
    hearing = await api.new_hearing(judge)
    party = Participant(api.base, (await api.invite(judge, hearing["id"], "Eve Sly", "witness"))["token"],
                        tone=300.0)
    try:
        await party.connect()
        from aiortc import RTCPeerConnection
        pc = RTCPeerConnection()
        pc.addTransceiver("video", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        await party.send({"type": "offer", "sdp": pc.localDescription.sdp, "sources": {"0": "Judge's bench"},
                          "ref": "o1"})
        error = await party.expect("error")
        assert error["code"] == "forbidden" and error["ref"] == "o1"
        for bad in ({"0": 7}, {"0": ""}, {"0": "x" * 61}, ["Judge"], {str(i): "x" for i in range(17)}):
            count = len(party.messages)
            await party.send({"type": "offer", "sdp": pc.localDescription.sdp, "sources": bad})
            error = await party.expect("error", after=count)
            assert error["code"] in ("invalid_field", "field_too_long"), (bad, error)
        await pc.close()
    finally:
        await party.close()


def test_device_token_and_devices_commands(tmp_path):
    data = tmp_path / "data"
    env_cmd = [sys.executable, "-m", "hearing_server", "--data-dir", str(data)]
    subprocess.run([*env_cmd, "users", "add", "room3", "--role", "courtroom", "--display-name", "Courtroom 3 PC",
                    "--courtroom", "Courtroom 3",
                    "--password-stdin"], input="a long courtroom password\n", text=True, check=True)
    subprocess.run([*env_cmd, "users", "add", "clerk", "--role", "clerk", "--password-stdin"],
                   input="another long password\n", text=True, check=True)
    out = tmp_path / "device.token"
    # Before the server has ever started there is no key; minting one here would sign tokens it never accepts.
    no_key = subprocess.run([*env_cmd, "device-token", "room3", "--output", str(out)], capture_output=True, text=True)
    assert no_key.returncode == 2 and "no token key" in no_key.stderr and not out.exists()
    from hearing_server.tokens import TokenKind, TokenService, load_or_create_secret
    secret = load_or_create_secret(data / "token.key")  # what the server does on its first start
    made = subprocess.run([*env_cmd, "device-token", "room3", "--days", "30", "--output", str(out)],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    claims = TokenService(secret).verify(out.read_text().strip())
    assert claims.kind is TokenKind.STAFF and claims.role.value == "courtroom" and claims.subject == "room3"
    assert 29 * 86400 < claims.expires_at - time.time() <= 30 * 86400
    refused = subprocess.run([*env_cmd, "device-token", "clerk"], capture_output=True, text=True)
    assert refused.returncode == 2 and "not a courtroom account" in refused.stderr
    listed = subprocess.run([*env_cmd, "devices", "--json"], capture_output=True, text=True, check=True)
    sources = {d["source"] for d in json.loads(listed.stdout)["devices"]}
    assert any(s.startswith("synthetic") for s in sources)
