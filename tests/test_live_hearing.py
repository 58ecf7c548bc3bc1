"""The whole flow with aiortc participants: lobby, admission, the shared composite and mix-minus audio."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from .helpers import Participant, tone_strength

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

        # A person in the lobby receives nothing from the hearing.
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
        await asyncio.sleep(3.0)
        for listener, other in ((a, b), (b, a)):
            last = listener.audio[-48000 * 2:]
            assert len(last) == 96000
            assert tone_strength(last, other.tone) > 0.5
            assert tone_strength(last, listener.tone) < 0.05
            assert tone_strength(last, c.tone) < 0.05

        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(c)}/admit", token=judge)
        await c.expect("admitted")
        await c.wait_frames(15)
        await asyncio.sleep(2.5)
        last = c.audio[-48000 * 2:]
        assert tone_strength(last, a.tone) > 0.2 and tone_strength(last, b.tone) > 0.2
        assert tone_strength(last, c.tone) < 0.05
        last = a.audio[-48000 * 2:]
        assert tone_strength(last, c.tone) > 0.2 and tone_strength(last, a.tone) < 0.05
    finally:
        await asyncio.gather(*(p.close() for p in people.values()))


def _pid(person: Participant) -> str:
    return person.of_type("welcome")[0]["participant"]["id"]


async def test_court_mute_silences_a_participant_for_everyone(api, server):
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    base = str(server.make_url("")).rstrip("/")
    a = Participant(base, (await api.invite(judge, hid, "Ana Silva"))["token"], tone=500.0, video=False)
    b = Participant(base, (await api.invite(judge, hid, "Ben Okafor", "defendant"))["token"], tone=1100.0,
                    video=False)
    try:
        for person in (a, b):
            await person.connect()
            await person.start_media()
            await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(person)}/admit", token=judge)
            await person.expect("admitted")
        await asyncio.sleep(2.5)
        assert tone_strength(a.audio[-48000:], b.tone) > 0.5
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(b)}/mute", token=judge)
        muted = await b.expect("muted")
        assert muted["muted"] is True
        await asyncio.sleep(1.5)
        rms = float(np.sqrt(np.mean(a.audio[-24000:].astype(np.float64) ** 2)))
        assert rms < 200, rms  # silence, give or take the codec's noise floor
    finally:
        await asyncio.gather(a.close(), b.close())
