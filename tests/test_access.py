"""Least privilege and log-in: courtroom PCs bound to their courtroom, device tokens revocable one by one,
growing delays per account, password rules, revocations that survive a restart, links that die with the
log-in that made them, observers named in the record."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest
from aiohttp.test_utils import TestServer

from hearing_server.api.throttle import FREE_FAILURES, LoginThrottle
from hearing_server.app import create_app
from hearing_server.device_tokens import DeviceToken, DeviceTokenRegister
from hearing_server.roles import Role
from hearing_server.tokens import TokenKind, TokenService, load_or_create_secret
from hearing_server.users import UserDirectory, UserError

from .conftest import PASSWORD, add_staff
from .helpers import ApiClient, Participant


async def started(settings) -> tuple[TestServer, ApiClient]:
    server = TestServer(create_app(settings), host="127.0.0.1", port=0)
    await server.start_server()
    return server, ApiClient(str(server.make_url("")).rstrip("/"))


def device_token(settings, username: str = "courtroom1", courtroom: str = "Courtroom 3") -> tuple[str, str]:
    """What `hearing-server device-token` makes: a registered, courtroom-bound token."""
    tokens = TokenService(load_or_create_secret(settings.secret_path))
    token, claims = tokens.issue(TokenKind.STAFF, username, Role.COURTROOM, "*", 86400, name="Courtroom 1 PC",
                                 courtroom=courtroom, device=True)
    DeviceTokenRegister(settings.device_tokens_path).add(DeviceToken(claims.jti, username, courtroom,
                                                                     time.time(), claims.expires_at))
    return token, claims.jti


async def test_a_courtroom_pc_sees_and_publishes_only_into_its_own_courtroom(api, server, settings):
    judge = await api.login("judge")
    here = (await api.new_hearing(judge))["id"]  # Courtroom 3, where courtroom1 stands
    elsewhere = (await api.ok("POST", "/api/hearings", {"case_number": "CV-9", "title": "t",
                                                        "courtroom": "Courtroom 5"}, judge))["id"]
    await api.ok("POST", f"/api/hearings/{elsewhere}/open", token=judge)
    pc = await api.login("courtroom1")
    listed = [h["id"] for h in (await api.ok("GET", "/api/hearings", token=pc))["hearings"]]
    assert listed == [here]
    status, body = await api.call("GET", f"/api/hearings/{elsewhere}", token=pc)
    assert (status, body["error"]["code"]) == (403, "wrong_courtroom")
    base = str(server.make_url("")).rstrip("/")
    intruder = Participant(base, pc, hearing_id=elsewhere)
    own = Participant(base, pc, hearing_id=here)
    try:
        refused = await intruder.connect()
        assert refused["type"] == "error" and refused["code"] == "wrong_courtroom"
        assert (await own.connect())["state"] == "admitted"
        # It publishes the room; names and states of the people in the hearing are none of its business.
        await asyncio.sleep(0.5)
        assert not own.of_type("roster") and not own.of_type("lobby")
    finally:
        await intruder.close()
        await own.close()
    # The PC is moved to another courtroom: the tokens it holds for the old one stop working.
    UserDirectory(settings.users_path).add("courtroom1", Role.COURTROOM, PASSWORD, "Courtroom 1 PC",
                                           courtroom="Courtroom 5", replace=True)
    status, body = await api.call("GET", "/api/hearings", token=pc)
    assert (status, body["error"]["code"]) == (401, "account_changed")
    moved = await api.login("courtroom1")
    assert [h["id"] for h in (await api.ok("GET", "/api/hearings", token=moved))["hearings"]] == [elsewhere]


async def test_one_device_token_is_revoked_without_touching_the_account_or_the_other_pcs(api, server, settings):
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    stolen, stolen_id = device_token(settings)
    spare, _ = device_token(settings)
    base = str(server.make_url("")).rstrip("/")
    live = Participant(base, stolen, hearing_id=hid)
    try:
        assert (await live.connect())["state"] == "admitted"
        admin = await api.login("admin")
        listed = (await api.ok("GET", "/api/device-tokens", token=admin))["device_tokens"]
        assert {t["id"] for t in listed} >= {stolen_id} and all(t["courtroom"] == "Courtroom 3" for t in listed)
        assert (await api.call("DELETE", f"/api/device-tokens/{stolen_id}", token=judge))[0] == 403
        revoked = await api.ok("DELETE", f"/api/device-tokens/{stolen_id}", token=admin)
        assert revoked["status"] == "revoked"
        # The live connection made with it is ended at once, and it opens nothing any more.
        error = await live.expect("error", timeout=5)
        assert error["code"] == "token_revoked"
        status, body = await api.call("GET", "/api/hearings", token=stolen)
        assert (status, body["error"]["code"]) == (401, "token_revoked")
        assert (await api.call("GET", "/api/hearings", token=spare))[0] == 200
        assert (await api.call("GET", "/api/hearings", token=await api.login("courtroom1")))[0] == 200
    finally:
        await live.close()


def test_device_tokens_from_the_command_line(tmp_path):
    data = tmp_path / "data"
    cli = [sys.executable, "-m", "hearing_server", "--data-dir", str(data)]

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([*cli, *args], input=stdin, capture_output=True, text=True, timeout=60)

    no_room = run("users", "add", "room9", "--role", "courtroom", "--password-stdin",
                  stdin="a long courtroom password\n")
    assert no_room.returncode == 2 and "--courtroom" in no_room.stderr
    assert run("users", "add", "room9", "--role", "courtroom", "--courtroom", "Courtroom 9", "--password-stdin",
               stdin="a long courtroom password\n").returncode == 0
    load_or_create_secret(data / "token.key")
    too_long = run("device-token", "room9", "--days", "3650")
    assert too_long.returncode == 2 and "at most" not in too_long.stdout and "400" in too_long.stderr
    made = run("device-token", "room9", "--days", "30", "--output", str(tmp_path / "t"))
    assert made.returncode == 0, made.stderr
    claims = TokenService(load_or_create_secret(data / "token.key")).verify((tmp_path / "t").read_text().strip())
    assert claims.courtroom == "Courtroom 9" and claims.device
    listed = run("device-tokens", "list")
    assert claims.jti in listed.stdout and "active" in listed.stdout and "Courtroom 9" in listed.stdout
    assert run("device-tokens", "revoke", claims.jti).returncode == 0
    assert "revoked" in run("device-tokens", "list").stdout
    assert run("device-tokens", "revoke", "nope").returncode == 2


def test_each_account_waits_longer_after_each_failure_from_wherever_it_comes():
    throttle = LoginThrottle(failures_per_minute=10)
    for attempt in range(FREE_FAILURES):  # people mistype: the first few cost nothing
        assert throttle.attempt(f"10.0.0.{attempt}", "judge") == 0
    first = throttle.attempt("10.0.1.1", "judge")
    assert 0 < first <= 2.0
    throttle._accounts["judge"].last -= 60  # a minute later the account may be tried again...
    assert throttle.attempt("10.0.1.2", "judge") == 0
    assert 2.0 < throttle.attempt("10.0.1.3", "judge") <= 4.0  # ...and the wait has doubled
    assert throttle.attempt("10.0.1.3", "clerk") == 0  # the others behind the same NAT carry on
    throttle._accounts["judge"].last -= 60
    assert throttle.attempt("10.0.1.4", "judge") == 0
    throttle.succeeded("10.0.1.4", "judge")
    assert throttle.account_wait("judge") == 0  # the right password clears it


async def test_guessing_one_password_is_slowed_down_over_the_api(api):
    for _ in range(FREE_FAILURES):
        status, _ = await api.call("POST", "/api/login", {"username": "clerk", "password": "wrong password!"})
        assert status == 401
    status, body = await api.call("POST", "/api/login", {"username": "clerk", "password": PASSWORD})
    assert status == 429 and body["error"]["code"] == "too_many_attempts"
    assert 1 <= body["error"]["details"]["retry_after"] <= 2
    assert (await api.call("POST", "/api/login", {"username": "judge", "password": PASSWORD}))[0] == 200
    await asyncio.sleep(body["error"]["details"]["retry_after"] + 0.1)
    assert (await api.call("POST", "/api/login", {"username": "clerk", "password": PASSWORD}))[0] == 200


@pytest.mark.parametrize("password", ["", "          ", "short", " leading space", "password123", "1234567890",
                                      "qwertyuiop", "aaaaaaaaaaaa", "judgehaddad1"])
def test_blank_short_and_common_passwords_are_refused(tmp_path, password):
    with pytest.raises(UserError, match="password"):
        UserDirectory(tmp_path / "users.json").add("judgehaddad", Role.JUDGE, password, "Judge Haddad")


async def test_a_logged_out_token_stays_revoked_after_a_restart_of_the_memory_store(settings):
    add_staff(settings)
    server, api = await started(settings)
    token = await api.login("judge")
    await api.ok("POST", "/api/logout", token=token)
    await api.close()
    await server.close()
    server, api = await started(settings)  # a new process would read the same data folder
    try:
        status, body = await api.call("GET", "/api/me", token=token)
        assert (status, body["error"]["code"]) == (401, "token_revoked")
        assert (await api.call("GET", "/api/me", token=await api.login("judge")))[0] == 200
    finally:
        await api.close()
        await server.close()
    lines = (settings.data_path / "revoked-tokens.jsonl").read_text().splitlines()
    assert len(lines) == 1  # compacted at start: only what is still in force


async def test_a_media_link_dies_with_the_log_in_and_the_account_that_made_it(tmp_path, settings):
    from .record_fixture import make_recording
    from .test_archive import fetch

    settings.storage.local_dir = str(tmp_path / "recordings")
    make_recording(tmp_path, settings, seconds=3, hearing_id="h_links", store=settings.recordings_path)
    add_staff(settings)
    server, api = await started(settings)
    try:
        clerk = await api.login("clerk")
        play = await api.ok("POST", "/api/recordings/h_links/links", {"purpose": "play"}, clerk)
        assert (await fetch(api.base + play["url"]))[0] == 200
        await api.ok("POST", "/api/logout", token=clerk)
        status, _, body = await fetch(api.base + play["url"])
        assert status == 401 and b"token_revoked" in body
        judge = await api.login("judge")
        download = await api.ok("POST", "/api/recordings/h_links/links", {"purpose": "download"}, judge)
        UserDirectory(settings.users_path).remove("judge")
        status, _, body = await fetch(api.base + download["url"])
        assert status == 401 and b"account_changed" in body
    finally:
        await api.close()
        await server.close()


async def test_staff_who_do_not_run_the_hearing_are_named_observers_in_the_record(api, server):
    judge, judge2, clerk = [await api.login(u) for u in ("judge", "judge2", "clerk")]
    hid = (await api.new_hearing(judge))["id"]
    base = str(server.make_url("")).rstrip("/")
    people = [Participant(base, token, hearing_id=hid) for token in (judge, judge2, clerk)]
    try:
        for person in people:
            assert (await person.connect())["state"] == "admitted"
    finally:
        for person in people:
            await person.close()
    await api.ok("POST", f"/api/hearings/{hid}/close", token=judge)
    transcript = None
    for _ in range(150):  # the record reaches the archive a moment after the close
        status, transcript = await api.call("GET", f"/api/recordings/{hid}/transcript", token=clerk)
        if status == 200:
            break
        await asyncio.sleep(0.2)
    assert transcript is not None and "entries" in transcript, transcript
    joins = {(e["event"], e["name"]) for e in transcript["entries"] if e.get("event", "").endswith("joined")}
    assert joins == {("joined", "Judge Amira Haddad"), ("observer_joined", "Judge Bo Lindqvist"),
                     ("observer_joined", "Clerk Carmen Ortiz")}
    observer = next(e for e in transcript["entries"] if e.get("name") == "Judge Bo Lindqvist")
    assert observer["at"].endswith("Z") and observer["details"]["username"] == "judge2"
