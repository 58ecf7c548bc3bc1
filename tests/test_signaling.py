"""Signaling: who gets in with which token, and what hostile or broken messages get back."""

from __future__ import annotations

import asyncio
import json
import time

import jwt

from hearing_server.roles import Role
from hearing_server.tokens import ISSUER, TokenKind, TokenService

from .helpers import Participant
from .waiting import until


async def _hearing_with_invite(api, name: str = "Ana Silva", role: str = "plaintiff") -> tuple[str, str, dict]:
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    return judge, hid, await api.invite(judge, hid, name, role)


def _secret(settings) -> bytes:
    return settings.secret_path.read_bytes().strip()


# A hello refused because of its token closes the socket with 4401; any other refusal leaves it open for
# another hello (docs/signaling.md, "The hello handshake" and "Error codes").
CLOSES_4401 = {"invalid_token", "token_expired", "token_revoked", "invite_used", "account_changed",
               "hello_timeout"}


async def _closed_with(person: Participant, code: int, what: str) -> None:
    """The server closed `person`'s socket, with `code` exactly."""
    await until(lambda: person.closed_code is not None, 10.0, what=f"the server to close the socket ({what})")
    assert person.closed_code == code, (what, person.closed_code)


async def _still_open_after_refusal(person: Participant, refusal: str) -> None:
    """The socket stays served: the next message is answered (a ping before any accepted hello gets
    hello_required), and nothing closed it in between."""
    count = len(person.messages)
    await person.send({"type": "ping", "ref": "after-refusal"})
    reply = await person.expect("error", after=count)
    assert (reply["code"], reply["ref"]) == ("hello_required", "after-refusal"), (refusal, reply)
    assert person.closed_code is None and not person.ws.closed, (refusal, person.closed_code)


async def _check_refusal_close(person: Participant, code: str) -> None:
    if code in CLOSES_4401:
        await _closed_with(person, 4401, code)
    else:
        await _still_open_after_refusal(person, code)


async def _refused(base: str, token: str, code: str, **hello) -> Participant:
    person = Participant(base, token, **hello)
    try:
        reply = await person.connect()
        assert reply["type"] == "error" and reply["code"] == code, reply
        await _check_refusal_close(person, code)
    finally:
        await person.close()
    return person


async def test_forged_expired_and_wrong_kind_tokens_are_refused(api, server, settings):
    judge, hid, invite = await _hearing_with_invite(api)
    base = api.base
    claims = jwt.decode(invite["token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "someone else's key of thirty-two bytes!", algorithm="HS256")
    await _refused(base, forged, "invalid_token")
    tampered = jwt.encode(dict(claims, role="judge"), "x" * 32, algorithm="HS256")
    await _refused(base, tampered, "invalid_token")
    none_alg = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    await _refused(base, none_alg, "invalid_token")
    expired = jwt.encode(dict(claims, exp=int(time.time()) - 5, iss=ISSUER), _secret(settings), algorithm="HS256")
    await _refused(base, expired, "token_expired")
    # An invitation is no API credential.
    status, body = await api.call("GET", "/api/hearings", token=invite["token"])
    assert (status, body["error"]["code"]) == (401, "wrong_token_kind")


async def test_a_token_for_another_hearing_does_not_open_this_one(api, server, settings):
    judge, hid, invite = await _hearing_with_invite(api)
    other = (await api.new_hearing(judge, case_number="CR-2026-0099"))["id"]
    pid = invite["participant"]["id"]
    tokens = TokenService(_secret(settings))
    wrong, _ = tokens.issue(TokenKind.INVITE, pid, Role.PLAINTIFF, other, 600)
    await _refused(api.base, wrong, "not_found")


async def test_one_person_one_seat_a_second_device_with_the_link_takes_it_over(api, server):
    judge, hid, invite = await _hearing_with_invite(api)
    first = Participant(api.base, invite["token"])
    second = Participant(api.base, invite["token"])
    try:
        assert (await first.connect())["state"] == "lobby"
        assert (await second.connect())["state"] == "lobby"
        assert (await first.expect("error"))["code"] == "replaced"
        await _closed_with(first, 4409, "the first device replaced")
        lobby = (await api.ok("GET", f"/api/hearings/{hid}/lobby", token=judge))["entrants"]
        assert [e["online"] for e in lobby] == [True]
    finally:
        await first.close()
        await second.close()


async def test_an_admitted_person_comes_back_with_the_same_link(api, server, settings):
    """A closed tab, a crashed phone or Leave pressed by mistake: the same link brings the person back — to
    their seat within the grace period (court.rejoin_by_link = "seat"), with a new session that revokes the
    old one; else to the waiting room as returning, and the court readmits them with one click."""
    judge, hid, invite = await _hearing_with_invite(api)
    people: list[Participant] = []

    async def open_link() -> tuple[Participant, dict]:
        person = Participant(api.base, invite["token"], name="Ana Silva")
        people.append(person)
        return person, await person.connect()

    try:
        phone, welcome = await open_link()
        pid = welcome["participant"]["id"]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
        first_session = (await phone.expect("admitted"))["session_token"]
        await phone.close()  # the tab closed: no leave, the socket just goes
        phone, welcome = await open_link()
        assert welcome["state"] == "admitted" and welcome["session_token"] not in ("", first_session)
        await _refused(api.base, first_session, "token_revoked")  # a lost phone cannot come back
        roster = {p["id"]: p["state"] for p in (await api.ok("GET", f"/api/hearings/{hid}/participants",
                                                                token=judge))["participants"]}
        assert roster[pid] == "admitted"

        await phone.send({"type": "leave"})  # Leave pressed by mistake
        await until(lambda: phone.closed_code is not None, 10.0, what="the server to close after leave")
        phone, welcome = await open_link()
        assert welcome["state"] == "admitted"

        settings.court.rejoin_by_link = "lobby"  # this court checks everyone coming back
        await phone.close()
        phone, welcome = await open_link()
        assert (welcome["state"], welcome["returning"]) == ("lobby", "court_checks_again")
        entrant = (await api.ok("GET", f"/api/hearings/{hid}/lobby", token=judge))["entrants"][0]
        assert entrant["returning"] == "court_checks_again" and entrant["admitted_at"] > 0
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
        assert (await phone.expect("admitted"))["session_token"]

        settings.court.rejoin_by_link = "seat"
        settings.media.reconnect_grace_seconds = 0.3  # a long drop: longer than the grace period
        await phone.close()
        await asyncio.sleep(0.6)
        phone, welcome = await open_link()
        assert (welcome["state"], welcome["returning"]) == ("lobby", "away_too_long")
    finally:
        for person in people:
            await person.close()


async def test_removal_revokes_both_tokens(api, server):
    judge, hid, invite = await _hearing_with_invite(api)
    person = Participant(api.base, invite["token"])
    try:
        await person.connect()
        pid = person.of_type("welcome")[0]["participant"]["id"]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
        session = (await person.expect("admitted"))["session_token"]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/remove", {"reason": "contempt"}, judge)
        removed = await person.expect("removed")
        assert removed["reason"] == "contempt"
        await _closed_with(person, 4410, "removed by the court")
    finally:
        await person.close()
    await _refused(api.base, session, "token_revoked")
    await _refused(api.base, invite["token"], "token_revoked")


async def test_reconnect_within_grace_skips_the_lobby_and_after_it_does_not(api, server, settings):
    settings.media.reconnect_grace_seconds = 1.5
    judge, hid, invite = await _hearing_with_invite(api)
    person = Participant(api.base, invite["token"])
    await person.connect()
    pid = person.of_type("welcome")[0]["participant"]["id"]
    await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
    session = (await person.expect("admitted"))["session_token"]
    await person.close()  # the phone lost its network

    async def state(query: str = "") -> str:
        roster = await api.ok("GET", f"/api/hearings/{hid}/participants{query}", token=judge)
        return roster["participants"][0]["state"]

    async def dropped() -> bool:
        return await state() != "admitted"

    async def gone() -> bool:
        return await state("?all=1") == "left"

    await until(dropped, 10.0, what="the server to notice the drop")
    assert await state() == "disconnected"

    back = Participant(api.base, session)
    try:
        assert (await back.connect())["state"] == "admitted"
    finally:
        away = time.monotonic()
        await back.close()
    # The grace period runs out: gone from the hearing, but not a moment before it was up.
    await until(gone, 15.0, what="the grace period to run out")
    assert time.monotonic() - away >= settings.media.reconnect_grace_seconds - 0.05
    late = Participant(api.base, session)
    try:
        # Too long away: back to the lobby for the court to check again, then straight in once admitted.
        assert (await late.connect())["state"] == "lobby"
        lobby = await api.ok("GET", f"/api/hearings/{hid}/lobby", token=judge)
        assert [(e["id"], e["online"]) for e in lobby["entrants"]] == [(pid, True)]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
        renewed = (await late.expect("admitted"))["session_token"]
        assert renewed != session
    finally:
        await late.close()
    await _refused(api.base, session, "token_revoked")  # the old session was replaced


async def test_locked_hearing_turns_newcomers_away(api, server):
    judge, hid, invite = await _hearing_with_invite(api)
    await api.ok("POST", f"/api/hearings/{hid}/lock", token=judge)
    await _refused(api.base, invite["token"], "hearing_locked")
    await api.ok("POST", f"/api/hearings/{hid}/unlock", token=judge)
    person = Participant(api.base, invite["token"])
    try:
        assert (await person.connect())["state"] == "lobby"
    finally:
        await person.close()


async def test_hostile_messages_get_errors_and_hurt_nobody(api, server, settings):
    judge, hid, invite = await _hearing_with_invite(api)
    other_invite = await api.invite(judge, hid, "Ben Okafor", "defendant")
    mallory = Participant(api.base, invite["token"])
    ben = Participant(api.base, other_invite["token"], tone=800.0)
    try:
        # Before hello: only hello is accepted.
        mallory.ws = await mallory.http.ws_connect(mallory.url)
        mallory._tasks.append(asyncio.create_task(mallory._read()))
        await mallory.send({"type": "offer", "sdp": "v=0"})
        assert (await mallory.expect("error"))["code"] == "hello_required"
        await mallory.send({"type": "hello", "token": invite["token"]})
        await mallory.expect("welcome")

        await ben.connect()
        await ben.start_media()
        ben_id = ben.of_type("welcome")[0]["participant"]["id"]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{ben_id}/admit", token=judge)
        await ben.wait_frames(10)

        cases = [
            ("{not json", "malformed_json"),
            ("[1,2,3]", "malformed_message"),
            (json.dumps({"type": "summon_dragons"}), "unknown_type"),
            (json.dumps({"no": "type"}), "unknown_type"),
            (json.dumps({"type": "offer"}), "missing_field"),
            (json.dumps({"type": "offer", "sdp": 42}), "invalid_field"),
            (json.dumps({"type": "mute", "muted": "yes"}), "invalid_field"),
            (json.dumps({"type": "ping", "extra": 1}), "unknown_field"),
            (json.dumps({"type": "hello", "token": "x"}), "already_joined"),
            (json.dumps({"type": "offer", "sdp": "this is not SDP"}), "bad_sdp"),
            (json.dumps({"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"}), "bad_sdp"),
            (json.dumps({"type": "ping", "ref": "x" * 500}), "invalid_field"),
            (json.dumps({"type": "offer", "sdp": "x" * (settings.signaling.max_message_bytes + 10)}),
             "message_too_large"),
            # Above one's role: a party may not watch lobby cameras.
            (json.dumps({"type": "preview", "participant_id": ben_id, "sdp": "v=0"}), "forbidden"),
        ]
        for raw, code in cases:
            count = len(mallory.messages)
            await mallory.send_raw(raw)
            reply = await mallory.expect("error", after=count)
            assert reply["code"] == code, (raw[:60], reply)
        count = len(mallory.messages)
        await mallory.send_raw(b"\xff\xfe binary garbage")
        assert (await mallory.expect("error", after=count))["code"] == "malformed_json"

        # Still connected, still answered; and the hearing went on for Ben the whole time.
        count = len(mallory.messages)
        await mallory.send({"type": "ping", "ref": 7})
        assert (await mallory.expect("pong", after=count))["ref"] == "7"
        await ben.wait_frames(10)
    finally:
        await mallory.close()
        await ben.close()


async def test_a_flood_is_rate_limited_then_cut_off(api, server):
    judge, hid, invite = await _hearing_with_invite(api)
    flood = Participant(api.base, invite["token"])
    try:
        await flood.connect()
        for _ in range(200):
            if flood.ws.closed:
                break
            await flood.send_raw('{"type":"ping"}')
        # Everything the server said arrived before its close.
        await _closed_with(flood, 1008, "too many invalid messages")
        codes = {m.get("code") for m in flood.of_type("error")}
        assert "rate_limited" in codes
        assert len(flood.of_type("pong")) < 100
        assert flood.ws.closed
    finally:
        await flood.close()
    # The limit was on that connection only: the court's API is unaffected.
    assert (await api.ok("GET", f"/api/hearings/{hid}/lobby", token=judge))["entrants"]


async def test_no_hello_in_time_closes_the_socket(api, server, monkeypatch):
    import signaling.session

    monkeypatch.setattr(signaling.session, "HELLO_TIMEOUT", 0.5)
    person = Participant(api.base, "")
    try:
        person.ws = await person.http.ws_connect(person.url)
        person._tasks.append(asyncio.create_task(person._read()))
        assert (await person.expect("error"))["code"] == "hello_timeout"
        await _closed_with(person, 4401, "no hello")
    finally:
        await person.close()
