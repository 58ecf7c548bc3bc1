"""HTTP and signaling hygiene: headers on every answer, errors in our words, bounded connections, no
secrets in logs, private files whatever the umask."""

from __future__ import annotations

import asyncio
import logging
import os
import stat

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hearing_server.access_log import AccessLogger
from hearing_server.app import create_app
from hearing_server.cli import first_run
from hearing_server.headers import content_security_policy
from hearing_server.store import MemoryStore

from .conftest import add_staff
from .helpers import ApiClient, Participant


async def test_every_page_and_answer_carries_the_security_headers(api):
    async with aiohttp.ClientSession() as http:
        for path in ("/judge", "/join", "/archive", "/shared", "/static/judge.js", "/api/health", "/api/nowhere",
                     "/api/me"):
            async with http.get(api.base + path) as response:
                headers = response.headers
                policy = headers["Content-Security-Policy"]
                assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
                assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
                assert headers["X-Content-Type-Options"] == "nosniff"
                assert headers["Referrer-Policy"] == "no-referrer"
                assert headers["X-Frame-Options"] == "DENY"
                assert headers["Server"] == "courtroom"  # no software, no version
                assert "Strict-Transport-Security" not in headers  # plain HTTP here: HSTS only with TLS
        # No page holds inline script or style for the policy to block.
        for page in ("judge", "join", "archive", "shared"):
            async with http.get(f"{api.base}/{page}") as response:
                html = await response.text()
            assert "<style" not in html and " style=" not in html and "onclick" not in html.lower()
            assert all("src=" in tag for tag in html.split("<script")[1:]), page


def test_hsts_and_the_store_in_the_policy_follow_the_configuration(settings):
    settings.storage.backend = "s3"
    settings.storage.s3_endpoint_url = "https://s3.court.example:9000/"
    assert "media-src 'self' blob: https://s3.court.example:9000" in content_security_policy(settings)
    settings.server.tls_cert_file, settings.server.tls_key_file = "cert.pem", "key.pem"
    app = create_app(settings, MemoryStore())
    assert app.on_response_prepare  # the hook is installed; its HSTS branch is on with TLS
    from hearing_server.headers import security_headers
    response = aiohttp.web.Response()
    asyncio.run(security_headers(settings)(None, response))  # type: ignore[arg-type]
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


async def test_a_wrong_method_says_which_are_allowed(api):
    async with aiohttp.ClientSession() as http:
        async with http.put(api.base + "/api/hearings") as response:
            assert response.status == 405 and set(response.headers["Allow"].split(",")) >= {"GET", "POST"}
            assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_token_errors_are_in_our_words(api):
    token = await api.login("judge")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    status, body = await api.call("GET", "/api/me", token=forged)
    assert status == 401 and body["error"] == {"code": "invalid_token",
                                               "message": "the token is not valid: its signature does not match"}
    status, body = await api.call("GET", "/api/me", token="not.a.token")
    assert status == 401 and body["error"]["message"] == \
        "the token is not valid: it is not a token this server issues"


async def test_hostile_json_gets_a_clear_error_and_the_hearing_carries_on(api, server):
    judge = await api.login("judge")
    for raw in (b"[" * 100_000, b'{"case_number": ' + b"9" * 5000 + b"}",
                b'{"case_number": "CV-\\ud800", "title": "t"}'):
        status, body = await api.call("POST", "/api/hearings", token=judge, raw=raw)
        assert status == 400, body
    status, body = await api.call("POST", "/api/hearings", token=judge, raw=b'{"case_number":"CV-\\ud800","title":"t"}')
    assert body["error"]["details"] == {"field": "case_number",
                                        "problem": "is not valid Unicode (it holds a lone surrogate)"}
    hearing = await api.new_hearing(judge)
    base = str(server.make_url("")).rstrip("/")
    party = Participant(base, (await api.invite(judge, hearing["id"], "Ana Silva"))["token"])
    try:
        assert (await party.connect())["state"] == "lobby"
        for raw, code in (("[" * 60_000, "malformed_json"), ('{"type": "ping", "ref": ' + "9" * 5000 + "}",
                                                              "malformed_json"),
                          ('{"type": "ping", "ref": "\\ud800"}', "invalid_field"),
                          ('{"type": "mute", "muted": true, "ref": "a\\u0000"}', "invalid_field")):
            seen = len(party.messages)
            await party.send_raw(raw)
            error = await party.expect("error", after=seen)
            assert error["code"] == code, (raw[:40], error)
        seen = len(party.messages)
        await party.send({"type": "ping", "ref": "still-here"})
        assert (await party.expect("pong", after=seen))["ref"] == "still-here"
    finally:
        await party.close()


async def test_one_address_cannot_hold_open_more_than_its_share_of_websockets(settings):
    settings.signaling.max_connections_per_address = 3
    add_staff(settings)
    server = TestServer(create_app(settings, MemoryStore()), host="127.0.0.1", port=0)
    await server.start_server()
    url = str(server.make_url("/api/signal")).replace("http://", "ws://")
    async with aiohttp.ClientSession() as http:
        sockets = [await http.ws_connect(url) for _ in range(3)]
        async with http.get(url, headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                          "Sec-WebSocket-Version": "13",
                                          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}) as refused:
            assert refused.status == 429
            assert (await refused.json())["error"]["code"] == "too_many_connections"
        await sockets[0].close()
        for _ in range(50):  # the server counts the closed one out as its handler ends
            try:
                sockets[0] = await http.ws_connect(url)
                break
            except aiohttp.WSServerHandshakeError:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("a freed place was never given again")
        for ws in sockets:
            await ws.close()
    await server.close()


def test_the_first_run_password_is_in_the_file_only(settings, caplog):
    settings.data_path.mkdir(parents=True)
    with caplog.at_level(logging.DEBUG):
        first_run(settings)
    note = settings.data_path / "first-run-judge.txt"
    password = note.read_text().split("password: ")[1].strip()
    assert password and password not in caplog.text and str(note) in caplog.text
    assert stat.S_IMODE(note.stat().st_mode) == 0o600


async def test_keys_data_and_the_record_in_progress_are_private_whatever_the_umask(settings, tmp_path):
    from .record_fixture import make_recording

    old = os.umask(0)
    try:
        add_staff(settings)
        server = TestServer(create_app(settings, MemoryStore()), host="127.0.0.1", port=0)
        await server.start_server()
        await server.close()
        make_recording(tmp_path, settings, seconds=2.5, hearing_id="h_private")
    finally:
        os.umask(old)
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)  # noqa: E731
    assert mode(settings.data_path) == 0o700 and mode(settings.spool_path) == 0o700
    # The archive's database and SQLite's own WAL and shared-memory files beside it included.
    for name in ("token.key", "recording-signing.key", "users.json", "archive.db", "archive.db-wal",
                 "archive.db-shm"):
        if name.startswith("archive.db-") and not (settings.data_path / name).exists():
            continue  # SQLite removes them when the last connection closes
        assert mode(settings.data_path / name) == 0o600, name
    # Segments, journals, the remuxed MP4, transcript and manifest, as the recorder writes them.
    spool = tmp_path / "fixture-spool" / "h_private"
    written = [p for p in spool.iterdir() if p.is_file()]
    assert len(written) >= 6 and all(mode(p) == 0o600 for p in written), {p.name: oct(mode(p)) for p in written}


def test_the_access_log_never_shows_a_query_string(caplog):
    from aiohttp.test_utils import make_mocked_request

    request = make_mocked_request("GET", "/api/recordings/h_1/media?token=eyJhbGciOi.secret.sig",
                                  headers={"User-Agent": "test"})
    response = aiohttp.web.Response(status=200, body=b"x")
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        AccessLogger(logging.getLogger("aiohttp.access"), "").log(request, response, 0.01)
    assert "/api/recordings/h_1/media" in caplog.text and "secret" not in caplog.text and "token" not in caplog.text


async def test_a_hearing_whose_media_cannot_start_fails_alone_and_never_the_server(settings, caplog):
    from hearing_server.models import Hearing, HearingStatus

    settings.media.x264_preset = "no-such-preset"  # libx264 refuses it: every hearing's mixer fails to start
    add_staff(settings)
    store = MemoryStore()
    await store.save_hearing(Hearing(id="h_live", case_number="CV-1", title="t", court="", courtroom="",
                                     scheduled_start="", judge="judge", judge_name="Judge",
                                     status=HearingStatus.OPEN, opened_at=1.0))
    server = TestServer(create_app(settings, store), host="127.0.0.1", port=0)
    with caplog.at_level(logging.ERROR):
        await server.start_server()  # resumes h_live at start-up: it fails, the server does not
    client = ApiClient(str(server.make_url("")).rstrip("/"))
    try:
        assert (await client.call("GET", "/api/health"))[0] == 200
        judge = await client.login("judge")
        resumed = await client.ok("GET", "/api/hearings/h_live", token=judge)
        assert resumed["media_error"].startswith("live media could not be started")
        assert "h_live: its live media could not be started" in caplog.text
        opened = await client.new_hearing(judge)  # opening answers; the hearing says what went wrong
        assert (await client.ok("GET", f"/api/hearings/{opened['id']}", token=judge))["media_error"]
        party = Participant(client.base, (await client.invite(judge, opened["id"], "Ana Silva"))["token"])
        try:
            refused = await party.connect()
            assert refused["type"] == "error" and refused["code"] == "media_failed"
        finally:
            await party.close()
        assert (await client.call("GET", "/api/hearings", token=judge))[0] == 200
    finally:
        await client.close()
        await server.close()
