"""The whole flow with aiortc participants: lobby, admission, the shared composite and mix-minus audio."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from .helpers import Participant, tone_strength
from .waiting import until, wait_audio

pytestmark = pytest.mark.media

TONES = {"Ana Silva": 500.0, "Ben Okafor": 1100.0, "Chen Wei": 1700.0}


async def test_lobby_admission_composite_and_mix_minus(api, server, settings):
    judge = await api.login("judge")
    hearing = await api.new_hearing(judge)
    hid = hearing["id"]
    base = str(server.make_url("")).rstrip("/")
    people = {}
    for color, (name, tone) in zip([(255, 0, 0), (0, 255, 0), (0, 0, 255)], TONES.items()):
        invite = await api.invite(judge, hid, name, "witness" if tone > 1500 else "plaintiff")
        people[name] = Participant(base, invite["token"], name=name, tone=tone, color=color)
    a, b, c = people.values()
    try:
        for person in people.values():
            welcome = await person.connect()
            assert welcome["type"] == "welcome" and welcome["state"] == "lobby", welcome
            await person.start_media()

        lobby = await api.ok("GET", f"/api/hearings/{hid}/lobby", token=judge)
        assert [e["name"] for e in lobby["entrants"]] == list(TONES)

        # A person in the lobby receives nothing from the hearing: two seconds in which nothing may arrive.
        await asyncio.sleep(2.0)
        assert (a.video_frames, a.audio_frames) == (0, 0)

        for person in (a, b):
            await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(person)}/admit", token=judge)
            admitted = await person.expect("admitted")
            assert admitted["session_token"]
        await a.wait_frames(30)
        await b.wait_frames(30)
        frame = a.last_frame
        assert (frame.width, frame.height) == (settings.media.width, settings.media.height)
        # Chen is still waiting: still nothing, while the hearing runs next door.
        assert (c.video_frames, c.audio_frames) == (0, 0)
        roster = await a.expect("roster")
        assert "Chen Wei" not in {p["name"] for p in roster["participants"]}

        # Mix-minus: Ana hears Ben, not herself, and not Chen who is in the lobby. Likewise for Ben.
        await asyncio.gather(wait_audio(a, 3.0), wait_audio(b, 3.0))  # judged on the last two seconds of it
        for listener, other in ((a, b), (b, a)):
            last = listener.audio[-48000 * 2:]
            assert len(last) == 96000
            assert tone_strength(last, other.tone) > 0.5
            assert tone_strength(last, listener.tone) < 0.05
            assert tone_strength(last, c.tone) < 0.05

        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(c)}/admit", token=judge)
        await c.expect("admitted")
        await c.wait_frames(15)
        await asyncio.gather(wait_audio(c, 2.5), wait_audio(a, 2.5))
        last = c.audio[-48000 * 2:]
        assert tone_strength(last, a.tone) > 0.2 and tone_strength(last, b.tone) > 0.2
        assert tone_strength(last, c.tone) < 0.05
        last = a.audio[-48000 * 2:]
        assert tone_strength(last, c.tone) > 0.2 and tone_strength(last, a.tone) < 0.05
    finally:
        await asyncio.gather(*(p.close() for p in people.values()))


def _pid(person: Participant) -> str:
    return person.of_type("welcome")[0]["participant"]["id"]


def _hears(listener: Participant, speaker: Participant) -> bool:
    """The last second of what `listener` received is mostly `speaker`'s tone."""
    last = listener.audio[-48000:]
    return len(last) == 48000 and tone_strength(last, speaker.tone) > 0.5


async def _admitted(api, judge: str, hid: str, *people: Participant) -> None:
    """Each person joins with their media, and the court admits them."""
    for person in people:
        await person.connect()
        await person.start_media()
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(person)}/admit", token=judge)
        await person.expect("admitted")


async def test_court_mute_silences_a_participant_for_everyone(api, server):
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    base = str(server.make_url("")).rstrip("/")
    a = Participant(base, (await api.invite(judge, hid, "Ana Silva"))["token"], tone=500.0, video=False)
    b = Participant(base, (await api.invite(judge, hid, "Ben Okafor", "defendant"))["token"], tone=1100.0,
                    video=False)
    try:
        await _admitted(api, judge, hid, a, b)
        await until(lambda: _hears(a, b), 20.0, what="Ana to hear Ben")
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(b)}/mute", token=judge)
        muted = await b.expect("muted")
        assert muted["muted"] is True
        # What Ana receives must fall silent (give or take the codec's noise floor) and stay so. The
        # moment it does depends on the jitter buffers on the way, longer on a loaded machine, so the test
        # waits for it (bounded) and then holds it to a further second of silence.
        def _quiet() -> float | None:
            rms = float(np.sqrt(np.mean(a.audio[-24000:].astype(np.float64) ** 2)))
            return None if rms >= 200 else rms + 1.0

        await wait_audio(a, 0.5)
        await until(_quiet, 10.0, what=lambda: "Ana's sound to fall silent after Ben's mute")
        await wait_audio(a, 1.0)
        last = a.audio[-48000:]
        rms = float(np.sqrt(np.mean(last.astype(np.float64) ** 2)))
        # Near digital silence a tone's share of it is the codec's rounding, not Ben: judged only above that
        assert rms < 200 and (rms < 5 or tone_strength(last, b.tone) < 0.05), rms
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_who_speaks_is_told_and_a_raised_hand_reaches_the_court(api, server):
    """Voice activity from the server's mix reaches every page (`speaking`, and `speaking` in the roster);
    a party asks for the floor with a raised hand, which the court lowers, or which unmuting lowers."""
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    base = str(server.make_url("")).rstrip("/")
    a = Participant(base, (await api.invite(judge, hid, "Ana Silva"))["token"], tone=500.0, video=False)
    b = Participant(base, (await api.invite(judge, hid, "Ben Okafor", "defendant"))["token"], video=False)
    try:
        await _admitted(api, judge, hid, a, b)

        def told(person: Participant, who: list[str]) -> bool:
            said = person.of_type("speaking")
            return bool(said) and said[-1]["participants"] == who

        await until(lambda: told(b, [_pid(a)]), 15.0, what="Ben to be told that Ana speaks")
        assert not any(_pid(b) in m["participants"] for m in b.of_type("speaking"))  # Ben is silent
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(a)}/mute", token=judge)
        await until(lambda: told(b, []), 5.0, what="nobody speaking once Ana is muted")

        await b.send({"type": "hand", "raised": True})

        async def roster_hand() -> bool:
            people = (await api.ok("GET", f"/api/hearings/{hid}/participants", token=judge))["participants"]
            return [p["hand_raised"] for p in people if p["id"] == _pid(b)] == [True]

        await until(roster_hand, 5.0, what="the raised hand in the court's roster")
        await until(lambda: any(p["id"] == _pid(b) and p["hand_raised"]
                                for m in a.of_type("roster") for p in m["participants"]), 5.0,
                    what="the raised hand in the signaling roster")
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(b)}/lower-hand", token=judge)
        await until(lambda: [p["hand_raised"] for p in b.of_type("roster")[-1]["participants"]
                             if p["id"] == _pid(b)] == [False], 5.0, what="the hand lowered by the court")
        await b.send({"type": "hand", "raised": True})
        await until(lambda: [p["hand_raised"] for p in b.of_type("roster")[-1]["participants"]
                             if p["id"] == _pid(b)] == [True], 5.0, what="the hand raised again")
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(b)}/mute", token=judge)
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(b)}/unmute", token=judge)
        await until(lambda: [p["hand_raised"] for p in b.of_type("roster")[-1]["participants"]
                             if p["id"] == _pid(b)] == [False], 5.0, what="unmuting gives the floor: hand down")
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_staff_watch_a_lobby_entrants_camera_before_admitting(api, server):
    """The identity check: the judge sees the person's own camera; the person still receives nothing."""
    from aiortc import RTCPeerConnection, RTCSessionDescription

    judge_token = await api.login("judge")
    hid = (await api.new_hearing(judge_token))["id"]
    base = str(server.make_url("")).rstrip("/")
    entrant = Participant(base, (await api.invite(judge_token, hid, "Dana Witness", "witness"))["token"],
                          tone=700.0, color=(0, 200, 0))
    judge = Participant(base, judge_token, hearing_id=hid)
    viewer = RTCPeerConnection()
    frames: list = []
    try:
        assert (await judge.connect())["state"] == "admitted"
        await entrant.connect()
        await entrant.start_media()
        await judge.expect("lobby")

        def camera_arrived() -> dict | None:
            lobby = judge.of_type("lobby")[-1]
            return lobby if lobby["entrants"] and lobby["entrants"][0]["camera"] else None

        lobby = await until(camera_arrived, 20.0, what="a lobby message with the entrant's camera")
        target = lobby["entrants"][0]["id"]

        viewer.addTransceiver("video", direction="recvonly")

        @viewer.on("track")
        def on_track(track):
            async def read():
                while True:
                    frames.append(await track.recv())
            asyncio.ensure_future(read())

        await viewer.setLocalDescription(await viewer.createOffer())
        count = len(judge.messages)
        await judge.send({"type": "preview", "participant_id": target, "sdp": viewer.localDescription.sdp})
        answer = await judge.expect("preview-answer", "error", after=count)
        assert answer["type"] == "preview-answer", answer
        await viewer.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        await until(lambda: len(frames) >= 10, 20.0, what=lambda: f"10 preview frames (got {len(frames)})")
        # The entrant's own green picture, not the composite.
        image = frames[-1].to_ndarray(format="bgr24")
        assert image[20:120, 20:120, 1].mean() > 150 and image[20:120, 20:120, 2].mean() < 60
        assert (entrant.video_frames, entrant.audio_frames) == (0, 0)

        await api.ok("POST", f"/api/hearings/{hid}/participants/{target}/admit", token=judge_token)
        ended = await judge.expect("preview-ended")
        assert ended["participant_id"] == target
        await entrant.wait_frames(10)
    finally:
        await viewer.close()
        await asyncio.gather(entrant.close(), judge.close())


async def test_recess_shows_a_banner_and_silences_the_hearing(api, server):
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    base = str(server.make_url("")).rstrip("/")
    a = Participant(base, (await api.invite(judge, hid, "Ana Silva"))["token"], tone=500.0, video=False)
    b = Participant(base, (await api.invite(judge, hid, "Ben Okafor", "defendant"))["token"], tone=1100.0,
                    color=(255, 255, 255))
    try:
        for person in (a, b):
            await person.connect()
            await person.start_media()
            await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(person)}/admit", token=judge)
            await person.expect("admitted")
        await a.wait_frames(15)
        await until(lambda: _hears(a, b), 20.0, what="Ana to hear Ben")
        await api.ok("POST", f"/api/hearings/{hid}/recess", token=judge)
        await a.expect("hearing", after=0)
        await until(lambda: a.of_type("hearing")[-1]["hearing"]["status"] == "recess", 10.0,
                    what=lambda: f"a hearing message with status recess (got {a.of_type('hearing')})")
        await wait_audio(a, 1.5)  # what Ana received since: the last half second of it must be silent
        rms = float(np.sqrt(np.mean(a.audio[-24000:].astype(np.float64) ** 2)))
        assert rms < 200, rms

        # The banner darkens a band across the middle and writes in amber.
        def amber_pixels() -> int:
            image = a.last_frame.to_ndarray(format="bgr24")
            band = image[image.shape[0] // 2 - 10:image.shape[0] // 2 + 10]
            return int(((band[..., 2] > 150) & (band[..., 1] > 100) & (band[..., 0] < 80)).sum())

        await until(lambda: amber_pixels() > 100, 10.0, what=lambda: f"the recess banner ({amber_pixels()} amber)")
        await api.ok("POST", f"/api/hearings/{hid}/resume", token=judge)
        await until(lambda: _hears(a, b), 20.0, what="Ana to hear Ben again after the recess")
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_a_receiver_without_h264_gets_the_composite_in_vp8(api, server):
    from aiortc import RTCRtpSender

    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    base = str(server.make_url("")).rstrip("/")
    person = Participant(base, (await api.invite(judge, hid, "Vic Vp8"))["token"], tone=600.0)
    original = RTCRtpSender.getCapabilities

    def vp8_only(kind):
        caps = original(kind)
        if kind == "video":
            caps.codecs = [c for c in caps.codecs if c.mimeType.lower() != "video/h264"]
        return caps

    try:
        await person.connect()
        RTCRtpSender.getCapabilities = staticmethod(vp8_only)  # what the client offers, not the server
        try:
            person.pc = None
            from aiortc import RTCPeerConnection
            pc = RTCPeerConnection()
            transceiver = pc.addTransceiver("video", direction="recvonly")
            transceiver.setCodecPreferences([c for c in vp8_only("video").codecs])
            pc.addTransceiver("audio", direction="recvonly")
        finally:
            RTCRtpSender.getCapabilities = original
        received = []

        @pc.on("track")
        def on_track(track):
            async def read():
                while True:
                    received.append(await track.recv())
            if track.kind == "video":
                asyncio.ensure_future(read())

        await pc.setLocalDescription(await pc.createOffer())
        assert "H264" not in pc.localDescription.sdp
        await person.send({"type": "offer", "sdp": pc.localDescription.sdp})
        answer = await person.expect("answer")
        assert "VP8/90000" in answer["sdp"]
        from aiortc import RTCSessionDescription
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(person)}/admit", token=judge)
        await until(lambda: len(received) >= 10, 20.0, what=lambda: f"10 VP8 frames (got {len(received)})")
        person.pc = pc
    finally:
        await person.close()


def test_mix_minus_is_sent_as_mono_opus_on_the_mixers_clock():
    """What the mixer's audio thread hands each sender: one Opus packet per 20 ms block, stamped with the
    hearing clock (RTP timestamps follow it), that decodes back to the listener's mix; frames instead for a
    receiver that negotiated another codec."""
    import av

    from hearing_server.media.audio_mixer import BLOCK, RATE
    from hearing_server.media.tracks import MixMinusAudioTrack

    t = np.arange(BLOCK * 50) / RATE
    mix = (np.sin(2 * np.pi * 700.0 * t) * 8000).astype(np.int16)
    track = MixMinusAudioTrack("p1", bitrate=32000)
    packets = [p for i in range(50) for p in track.encode(mix[i * BLOCK:(i + 1) * BLOCK])]
    assert len(packets) == 50 and [p.pts for p in packets] == [i * BLOCK for i in range(50)]
    assert all(p.time_base.denominator == RATE and p.time_base.numerator == 1 for p in packets)
    assert sum(p.size for p in packets) * 8 / 1.0 < 32000 * 1.5  # one second at about the configured rate
    decoder = av.CodecContext.create("libopus", "r")
    assert all(bytes(p)[0] & 0x04 == 0 for p in packets)  # the TOC's stereo flag: mono speech
    decoded = np.concatenate([f.to_ndarray().reshape(-1, 2).mean(axis=1)  # decoded as browsers do, stereo s16
                              for p in packets for f in decoder.decode(p)])
    assert tone_strength(decoded[RATE // 2:], 700.0) > 0.9
    # The mixer skipped blocks (a starved loop): the timestamps jump with the hearing clock.
    assert [p.pts for p in track.encode(mix[:BLOCK], 80 * BLOCK)] == [80 * BLOCK]
    track.opus = False
    frames = track.encode(mix[:BLOCK])
    assert len(frames) == 1 and isinstance(frames[0], av.AudioFrame) and frames[0].pts == 81 * BLOCK
