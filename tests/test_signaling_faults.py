"""A fault inside the server while it handles one participant's message — a bug, an exception nobody
foresaw — costs that message a clear `internal_error`, nothing more: the connection, the hearing and every
other participant go on. The fault is injected into the handler (the room a session talks to); the rest is
the real server, real WebSockets and real aiortc peers."""

from __future__ import annotations

import logging

from hearing_server.live.gateway import JoinedHearing

from .helpers import Participant


async def test_an_unexpected_error_in_a_handler_costs_one_message_not_the_hearing(api, server, monkeypatch,
                                                                                    caplog):
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    ana_invite = await api.invite(judge, hid, "Ana Silva", "plaintiff")
    ben_invite = await api.invite(judge, hid, "Ben Okafor", "defendant")
    ana, ben = Participant(api.base, ana_invite["token"]), Participant(api.base, ben_invite["token"], tone=800.0)
    try:
        ids = {}
        for person in (ana, ben):
            await person.connect()
            await person.start_media()
            ids[person] = person.of_type("welcome")[0]["participant"]["id"]
            await api.ok("POST", f"/api/hearings/{hid}/participants/{ids[person]}/admit", token=judge)
        await ana.wait_frames(10)
        await ben.wait_frames(10)

        faults: list[str] = []
        real_set_self, real_offer = JoinedHearing.set_self, JoinedHearing.offer

        async def failing_set_self(self, conn, **changes):  # type: ignore[no-untyped-def]
            if conn.participant is not None and conn.participant.id == ids[ana]:
                faults.append("set_self")
                raise RuntimeError("injected fault: a bug in the mute handler")
            return await real_set_self(self, conn, **changes)

        async def failing_offer(self, conn, sdp, sources):  # type: ignore[no-untyped-def]
            if conn.participant is not None and conn.participant.id == ids[ana]:
                faults.append("offer")
                raise KeyError("injected fault: a bug in renegotiation")
            return await real_offer(self, conn, sdp, sources)

        monkeypatch.setattr(JoinedHearing, "set_self", failing_set_self)
        monkeypatch.setattr(JoinedHearing, "offer", failing_offer)
        caplog.set_level(logging.ERROR, logger="signaling.session")

        count = len(ana.messages)
        await ana.send({"type": "mute", "muted": True, "ref": "m1"})
        error = await ana.expect("error", after=count)
        assert (error["code"], error.get("ref")) == ("internal_error", "m1")
        assert "injected fault" not in error["message"]  # a sentence for people, not the server's insides
        assert ana.pc is not None and ana.pc.localDescription is not None
        count = len(ana.messages)
        await ana.send({"type": "offer", "sdp": ana.pc.localDescription.sdp, "ref": "o1"})
        error = await ana.expect("error", after=count)
        assert (error["code"], error.get("ref")) == ("internal_error", "o1")
        assert faults == ["set_self", "offer"]
        assert any("signaling message failed" in r.getMessage() for r in caplog.records)  # for the operator

        # Ana's connection is still answered, and her media still flows both ways.
        count = len(ana.messages)
        await ana.send({"type": "ping", "ref": "p1"})
        assert (await ana.expect("pong", after=count))["ref"] == "p1"
        before = ana.video_frames
        await ana.wait_frames(before + 10)
        # Ben noticed nothing: his picture, his own mute, the hearing and its roster as they were.
        await ben.wait_frames(ben.video_frames + 10)
        count = len(ben.messages)
        await ben.send({"type": "mute", "muted": True, "ref": "b1"})
        roster = await ben.expect("roster", after=count)
        assert any(p["id"] == ids[ben] and p["muted"] for p in roster["participants"])
        hearing = await api.ok("GET", f"/api/hearings/{hid}", token=judge)
        assert hearing["status"] == "open"
        people = (await api.ok("GET", f"/api/hearings/{hid}/participants", token=judge))["participants"]
        assert {p["id"]: p["state"] for p in people if p["id"] in ids.values()} == \
            {ids[ana]: "admitted", ids[ben]: "admitted"}
    finally:
        await ana.close()
        await ben.close()
