"""The HTTP API: hearings, invitations, lobby and roles; every failure is JSON with a code."""

from __future__ import annotations

import base64

import pytest
from aiohttp.test_utils import TestServer

from hearing_server.app import create_app

from .conftest import add_staff, redis_store
from .helpers import ApiClient, Participant


async def test_login_rejects_wrong_password_and_bad_bodies(api):
    status, body = await api.call("POST", "/api/login", {"username": "judge", "password": "wrong password"})
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    status, body = await api.call("POST", "/api/login", {"username": "nobody", "password": "whatever it is"})
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    status, body = await api.call("POST", "/api/login", raw=b"{not json")
    assert (status, body["error"]["code"]) == (400, "malformed_json")
    status, body = await api.call("POST", "/api/login", [1, 2])
    assert status == 400
    status, body = await api.call("POST", "/api/login", {"username": 5, "password": None})
    assert status == 400


async def test_unknown_routes_and_methods_are_json(api):
    status, body = await api.call("GET", "/api/no-such-thing")
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = await api.call("DELETE", "/api/hearings")
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


async def test_oversize_body_is_refused_with_json(api):
    token = await api.login("judge")
    status, body = await api.call("POST", "/api/hearings", raw=b'{"title":"' + b"x" * 400_000 + b'"}', token=token)
    assert status == 413 and body["error"]["code"] == "payload_too_large"


async def test_hearing_lifecycle(api):
    token = await api.login("judge")
    hearing = await api.new_hearing(token, open_it=False)
    assert hearing["status"] == "scheduled" and hearing["judge"] == "judge"
    hid = hearing["id"]
    status, body = await api.call("POST", f"/api/hearings/{hid}/recess", token=token)
    assert (status, body["error"]["code"]) == (409, "hearing_not_open")
    assert (await api.ok("POST", f"/api/hearings/{hid}/open", token=token))["status"] == "open"
    assert (await api.ok("POST", f"/api/hearings/{hid}/lock", token=token))["locked"] is True
    assert (await api.ok("POST", f"/api/hearings/{hid}/unlock", token=token))["locked"] is False
    assert (await api.ok("POST", f"/api/hearings/{hid}/recess", token=token))["status"] == "recess"
    assert (await api.ok("POST", f"/api/hearings/{hid}/resume", token=token))["status"] == "open"
    closed = await api.ok("POST", f"/api/hearings/{hid}/close", token=token)
    assert closed["status"] == "closed" and closed["closed_at"] >= closed["opened_at"]
    status, body = await api.call("POST", f"/api/hearings/{hid}/open", token=token)
    assert (status, body["error"]["code"]) == (409, "hearing_closed")
    listed = await api.ok("GET", "/api/hearings?status=closed", token=token)
    assert [h["id"] for h in listed["hearings"]] == [hid]
    status, body = await api.call("GET", "/api/hearings/h_nope", token=token)
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_hearing_fields_are_validated(api):
    token = await api.login("judge")
    status, body = await api.call("POST", "/api/hearings", {"title": "no case number"}, token=token)
    assert status == 400 and "case_number" in body["error"]["message"]
    status, body = await api.call("POST", "/api/hearings", {"case_number": "X" * 500, "title": "t"}, token=token)
    assert status == 400
    status, body = await api.call("POST", "/api/hearings", {"case_number": ["x"], "title": "t"}, token=token)
    assert status == 400


async def test_invitation_gives_link_and_qr_codes(api):
    token = await api.login("clerk")
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    invite = await api.invite(token, hid, "Ana Silva", "lawyer")
    assert invite["join_url"].startswith(api.base + "/join#token=")
    assert invite["participant"]["state"] == "invited" and "invite_jti" not in invite["participant"]
    assert invite["qr_svg"].startswith("data:image/svg+xml")
    png = base64.b64decode(invite["qr_png"].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    status, body = await api.call("POST", f"/api/hearings/{hid}/invites", {"name": "X", "role": "judge"}, token)
    assert status == 400  # staff are not invited by link
    status, body = await api.call("POST", f"/api/hearings/{hid}/invites", {"role": "witness"}, token)
    assert status == 400


async def test_roles_limit_what_staff_may_do(api):
    judge, judge2, clerk, device = [await api.login(u) for u in ("judge", "judge2", "clerk", "courtroom1")]
    hid = (await api.new_hearing(judge))["id"]
    # Another judge may look, but not run someone else's hearing.
    assert (await api.ok("GET", f"/api/hearings/{hid}", token=judge2))["id"] == hid
    status, body = await api.call("POST", f"/api/hearings/{hid}/close", token=judge2)
    assert (status, body["error"]["code"]) == (403, "not_presiding_judge")
    # A clerk runs the waiting room but does not open, recess or close hearings, or mute people.
    status, body = await api.call("POST", f"/api/hearings/{hid}/recess", token=clerk)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body = await api.call("POST", "/api/hearings", {"case_number": "1", "title": "t"}, token=clerk)
    assert status == 403
    # The courtroom PC account can only look.
    status, body = await api.call("POST", f"/api/hearings/{hid}/invites", {"name": "A", "role": "witness"}, device)
    assert status == 403
    admin = await api.login("admin")
    status, body = await api.call("POST", "/api/hearings", {"case_number": "2", "title": "t"}, token=admin)
    assert status == 400 and "judge" in body["error"]["message"]  # an admin must name the judge
    made = await api.ok("POST", "/api/hearings", {"case_number": "2", "title": "t", "judge": "judge2"}, admin)
    assert made["judge"] == "judge2"


async def test_lobby_admit_reject_mute_remove_through_the_api(api, server):
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    base = str(server.make_url("")).rstrip("/")
    ana = Participant(base, (await api.invite(judge, hid, "Ana Silva"))["token"], name="Ana S.")
    ben = Participant(base, (await api.invite(judge, hid, "Ben Okafor", "defendant"))["token"])
    try:
        assert (await ana.connect())["state"] == "lobby"
        assert (await ben.connect())["state"] == "lobby"
        lobby = await api.ok("GET", f"/api/hearings/{hid}/lobby", token=judge)
        assert [(e["name"], e["stated_name"]) for e in lobby["entrants"]] == [("Ana Silva", "Ana S."),
                                                                              ("Ben Okafor", "")]
        ana_id, ben_id = (e["id"] for e in lobby["entrants"])
        status, body = await api.call("POST", f"/api/hearings/{hid}/participants/{ana_id}/mute", token=judge)
        assert (status, body["error"]["code"]) == (409, "not_in_hearing")

        await api.ok("POST", f"/api/hearings/{hid}/participants/{ben_id}/reject", {"reason": "wrong case"}, judge)
        rejected = await ben.expect("rejected")
        assert rejected["reason"] == "wrong case"

        admitted = await api.ok("POST", f"/api/hearings/{hid}/participants/{ana_id}/admit", token=judge)
        assert admitted["state"] == "admitted"
        status, body = await api.call("POST", f"/api/hearings/{hid}/participants/{ana_id}/admit", token=judge)
        assert (status, body["error"]["code"]) == (409, "not_in_lobby")
        roster = await api.ok("GET", f"/api/hearings/{hid}/participants", token=judge)
        assert [p["name"] for p in roster["participants"]] == ["Ana Silva"]

        await api.ok("POST", f"/api/hearings/{hid}/participants/{ana_id}/mute", token=judge)
        assert (await ana.expect("muted"))["muted"] is True
        await api.ok("POST", f"/api/hearings/{hid}/participants/{ana_id}/remove", token=judge)
        await ana.expect("removed")
        roster = await api.ok("GET", f"/api/hearings/{hid}/participants", token=judge)
        assert roster["participants"] == []
        everyone = await api.ok("GET", f"/api/hearings/{hid}/participants?all=1", token=judge)
        assert {p["name"]: p["state"] for p in everyone["participants"]} == {"Ana Silva": "removed",
                                                                            "Ben Okafor": "rejected"}
    finally:
        await ana.close()
        await ben.close()


async def test_the_whole_app_runs_on_redis(settings):
    """The Redis twin behind the real server: create, invite, enter the lobby, admit."""
    add_staff(settings)
    async with redis_store() as store:
        server = TestServer(create_app(settings, store), host="127.0.0.1", port=0)
        await server.start_server()
        api = ApiClient(str(server.make_url("")).rstrip("/"))
        try:
            judge = await api.login("judge")
            hid = (await api.new_hearing(judge))["id"]
            person = Participant(api.base, (await api.invite(judge, hid, "Rita Redis"))["token"])
            assert (await person.connect())["state"] == "lobby"
            pid = person.of_type("welcome")[0]["participant"]["id"]
            await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
            assert (await person.expect("admitted"))["session_token"]
            assert (await store.get_participant(hid, pid)).state.value == "admitted"
            await person.close()
        finally:
            await api.close()
            await server.close()


@pytest.mark.parametrize("path", ["/api/hearings", "/api/me"])
async def test_api_requires_a_staff_token(api, path):
    status, body = await api.call("GET", path)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    status, body = await api.call("GET", path, token="garbage")
    assert (status, body["error"]["code"]) == (401, "invalid_token")
