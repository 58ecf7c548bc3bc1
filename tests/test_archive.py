"""The clerk's archive over real HTTP: find, look at, play (with Range), download, verify, hand out, audit."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import AsyncIterator

import aiohttp
import boto3
import pytest
from aiohttp.test_utils import TestServer

from hearing_server.app import create_app
from hearing_server.config import Settings
from hearing_server.store import MemoryStore

from .conftest import add_staff
from .helpers import ApiClient
from .record_fixture import make_recording
from .servers import MotoServer

EARLIER = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc).timestamp()


async def start(settings: Settings) -> tuple[TestServer, ApiClient]:
    if not settings.users_path.exists():
        add_staff(settings)
    server = TestServer(create_app(settings, MemoryStore()), host="127.0.0.1", port=0)
    await server.start_server()
    return server, ApiClient(str(server.make_url("")).rstrip("/"))


@pytest.fixture
async def archive(tmp_path, settings) -> AsyncIterator[tuple[ApiClient, Settings]]:
    """Two finished recordings in the local store before the server starts (it indexes them at start)."""
    store = settings.recordings_path
    make_recording(tmp_path, settings, seconds=5, hearing_id="h_recent", store=store, case_number="CR-2026-0007")
    make_recording(tmp_path, settings, seconds=5, hearing_id="h_march", store=store, case_number="CV-2026-0031",
                   opened=EARLIER)
    server, api = await start(settings)
    yield api, settings
    await api.close()
    await server.close()


async def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers=headers or {}, allow_redirects=True) as response:
            return response.status, {k.title(): v for k, v in response.headers.items()}, await response.read()


async def test_search_by_case_court_judge_and_dates(archive):
    api, _ = archive
    clerk = await api.login("clerk")

    async def found(query: str) -> list[str]:
        return [r["hearing_id"] for r in (await api.ok("GET", f"/api/recordings{query}", token=clerk))["recordings"]]

    assert await found("") == ["h_recent", "h_march"]  # newest first
    assert await found("?case_number=cr-2026") == ["h_recent"]
    assert await found("?case_number=0031&court=district") == ["h_march"]
    assert await found("?judge=Haddad") == ["h_recent", "h_march"]
    assert await found("?judge=Lindqvist") == []
    assert await found("?from=2026-03-01&to=2026-03-31") == ["h_march"]
    assert await found("?from=2026-04-01") == ["h_recent"]
    status, body = await api.call("GET", "/api/recordings?from=last-tuesday", token=clerk)
    assert status == 400 and body["error"]["code"] == "bad_request" and "from" in body["error"]["message"]
    courtroom = await api.login("courtroom1")
    for path in ("/api/recordings", "/api/recordings/h_recent", "/api/recordings/h_nowhere"):
        status, body = await api.call("GET", path, token=courtroom)
        assert status == 403 and body["error"]["code"] == "forbidden", path  # existence is not told either
    status, _ = await api.call("GET", "/api/recordings")
    assert status == 401


async def test_a_recordings_page_and_its_transcript(archive):
    api, _ = archive
    clerk = await api.login("clerk")
    detail = await api.ok("GET", "/api/recordings/h_recent", token=clerk)
    assert detail["case_number"] == "CR-2026-0007" and detail["judge_name"] == "Judge Amira Haddad"
    assert 4.5 <= detail["duration"] <= 5.5 and detail["segments"] == 2 and detail["gaps"] == []
    assert detail["integrity"]["status"] in ("unchecked", "verified")
    assert "value" not in detail["signature"] and detail["signature"]["algorithm"] == "Ed25519"
    assert {f["name"] for f in detail["files"]} >= {"hearing.mp4", "transcript.json", "transcript.vtt"}
    transcript = await api.ok("GET", "/api/recordings/h_recent/transcript", token=clerk)
    assert transcript["hearing"]["case_number"] == "CR-2026-0007"
    status, body = await api.call("GET", "/api/recordings/h_nowhere", token=clerk)
    assert status == 404 and body["error"]["code"] == "not_found"
    audit = (await api.ok("GET", "/api/audit?hearing_id=h_recent", token=clerk))["entries"]
    assert [(e["action"], e["actor"], e["role"]) for e in audit] == [("transcript", "clerk", "clerk"),
                                                                    ("view", "clerk", "clerk")]
    assert audit[0]["client"] == "127.0.0.1" and audit[0]["at"]


async def test_play_with_range_and_download_with_a_file_name(archive):
    api, settings = archive
    judge = await api.login("judge")
    play = await api.ok("POST", "/api/recordings/h_recent/links", {"purpose": "play"}, judge)
    assert play["expires_at"] > time.time() + 60
    whole = (settings.recordings_path / "h_recent" / "hearing.mp4").read_bytes()
    status, headers, body = await fetch(api.base + play["url"], {"Range": "bytes=100-1099"})
    assert status == 206 and body == whole[100:1100]
    assert headers["Content-Type"] == "video/mp4" and headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    assert "Content-Disposition" not in headers
    download = await api.ok("POST", "/api/recordings/h_recent/links", {"purpose": "download"}, judge)
    status, headers, body = await fetch(api.base + download["url"])
    assert status == 200 and body == whole
    assert headers["Content-Disposition"] == \
        'attachment; filename="CR-2026-0007.mp4"; filename*=UTF-8\'\'CR-2026-0007.mp4'
    status, headers, body = await fetch(api.base + play["captions_url"])
    assert status == 200 and headers["Content-Type"].startswith("text/vtt") and body.startswith(b"WEBVTT")

    # A media link is for one recording, one purpose, a few minutes: not a key to the archive.
    token = play["url"].split("token=")[1]
    status, _, body = await fetch(f"{api.base}/api/recordings/h_march/media?token={token}")
    assert status == 403 and json.loads(body)["error"]["code"] == "forbidden"
    status, _, body = await fetch(f"{api.base}/api/recordings/h_recent/media?token=forged.{token[7:]}")
    assert status == 401
    status, _ = await api.call("GET", "/api/recordings", token=token)
    assert status == 401
    status, body = await api.call("POST", "/api/recordings/h_recent/links", {"purpose": "burn"}, judge)
    assert status == 400 and body["error"]["code"] == "bad_request"
    actions = [e["action"] for e in (await api.ok("GET", "/api/audit?hearing_id=h_recent",
                                                  token=await api.login("clerk")))["entries"]]
    assert actions == ["download", "play"]  # newest first


async def test_verify_then_a_flipped_byte_is_named(archive):
    api, settings = archive
    clerk = await api.login("clerk")
    result = await api.ok("POST", "/api/recordings/h_recent/verify", token=clerk)
    assert result["status"] == "verified" and all(c["ok"] for c in result["checks"]), result
    assert any("signature" in c["what"] for c in result["checks"])
    segment = sorted((settings.recordings_path / "h_recent" / "segments").iterdir())[1]
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x01
    segment.write_bytes(bytes(data))
    result = await api.ok("POST", "/api/recordings/h_recent/verify", token=clerk)
    assert result["status"] == "failed"
    failed = [c for c in result["checks"] if not c["ok"]]
    assert failed and segment.name in failed[0]["what"] + failed[0]["detail"], failed
    detail = await api.ok("GET", "/api/recordings/h_recent", token=clerk)
    assert detail["integrity"]["status"] == "failed"
    entries = (await api.ok("GET", "/api/audit?hearing_id=h_recent", token=clerk))["entries"]
    assert [(e["action"], e["details"]["result"]) for e in entries if e["action"] == "verify"] == \
        [("verify", "failed"), ("verify", "verified")]


async def test_a_share_link_shows_one_recording_until_it_is_revoked(archive):
    api, _ = archive
    clerk = await api.login("clerk")
    shared = await api.ok("POST", "/api/recordings/h_recent/shares",
                          {"recipient": "Ms Ada Okafor (defendant's counsel)", "hours": 48}, clerk)
    assert shared["url"].startswith(api.base + "/shared#token=")
    assert time.time() + 47 * 3600 < shared["expires_at"] <= time.time() + 48 * 3600 + 5
    token = shared["url"].split("#token=")[1]
    listed = (await api.ok("GET", "/api/recordings/h_recent/shares", token=clerk))["shares"]
    assert [(x["share_id"], x["recipient"], x["made_by"], x["status"]) for x in listed] == \
        [(shared["share_id"], "Ms Ada Okafor (defendant's counsel)", "clerk", "active")]
    assert listed[0]["expires_at"] == shared["expires_at"] and listed[0]["revoked_at"] is None
    view = await api.ok("GET", "/api/shared", token=token)
    assert view["hearing_id"] == "h_recent" and view["shared_with"].startswith("Ms Ada Okafor")
    assert "files" not in view and "integrity" not in view
    transcript = await api.ok("GET", "/api/shared/transcript", token=token)
    assert transcript["hearing"]["id"] == "h_recent"
    link = await api.ok("POST", "/api/shared/links", {"purpose": "download"}, token)
    status, headers, body = await fetch(api.base + link["url"])
    assert status == 200 and body[4:8] == b"ftyp" and "attachment" in headers["Content-Disposition"]

    # A share token opens that recording through the shared endpoints only.
    for method, path in (("GET", "/api/recordings"), ("GET", "/api/recordings/h_recent"),
                         ("GET", "/api/recordings/h_march"), ("GET", "/api/hearings")):
        status, body = await api.call(method, path, token=token)
        assert status == 401 and body["error"]["code"] == "wrong_token_kind", (path, body)
    status, body = await api.call("GET", "/api/shared", token=clerk)
    assert status == 401 and body["error"]["code"] == "wrong_token_kind"

    for bad in ({"recipient": ""}, {"recipient": "x", "hours": 0}, {"recipient": "x", "hours": "48"},
                {"recipient": "x", "hours": 24 * 91}):
        status, body = await api.call("POST", "/api/recordings/h_recent/shares", bad, clerk)
        assert status == 400 and body["error"]["code"] == "bad_request", (bad, body)
    status, body = await api.call("POST", "/api/recordings/h_recent/shares", {"recipient": "x"},
                                  await api.login("courtroom1"))
    assert status == 403

    play = await api.ok("POST", "/api/shared/links", {"purpose": "play"}, token)
    assert (await fetch(api.base + play["url"], {"Range": "bytes=0-99"}))[0] == 206

    # Only this recording's own shares can be revoked through it; unknown ids are not "revoked" for show.
    for hid, share_id in (("h_march", shared["share_id"]), ("h_recent", "no-such-share")):
        status, body = await api.call("DELETE", f"/api/recordings/{hid}/shares/{share_id}", token=clerk)
        assert status == 404 and body["error"]["code"] == "not_found", (hid, body)
    assert (await api.call("GET", "/api/shared", token=token))[0] == 200
    revoked = await api.ok("DELETE", f"/api/recordings/h_recent/shares/{shared['share_id']}", token=clerk)
    assert revoked == {"revoked": shared["share_id"]}
    status, body = await api.call("GET", "/api/shared", token=token)
    assert status == 401 and body["error"]["code"] == "token_revoked"
    listed = (await api.ok("GET", "/api/recordings/h_recent/shares", token=clerk))["shares"]
    assert listed[0]["status"] == "revoked" and listed[0]["revoked_at"]
    # ...and the player links the share handed out die with it.
    status, _, body = await fetch(api.base + play["url"], {"Range": "bytes=0-99"})
    assert status == 401 and json.loads(body)["error"]["code"] == "token_revoked"

    entries = (await api.ok("GET", "/api/audit?hearing_id=h_recent", token=clerk))["entries"][::-1]
    # The second look at the shared page and at the list of shares, within a minute, coalesce into the first.
    assert [e["action"] for e in entries] == ["share", "shares_list", "shared_view", "shared_transcript",
                                              "shared_download", "shared_play", "share_revoked"]
    assert entries[0]["details"]["recipient"].startswith("Ms Ada Okafor")
    assert entries[0]["details"]["share_id"] == shared["share_id"]
    assert entries[1]["actor"] == "clerk" and entries[2]["actor"] == "share:Ms Ada Okafor (defendant's counsel)"


async def test_the_last_verify_is_remembered_across_a_restart(tmp_path, settings):
    make_recording(tmp_path, settings, seconds=5, hearing_id="h_kept", store=settings.recordings_path)
    server, api = await start(settings)
    try:
        clerk = await api.login("clerk")
        assert (await api.ok("GET", "/api/recordings/h_kept", token=clerk))["integrity"]["status"] == "unchecked"
        assert (await api.ok("POST", "/api/recordings/h_kept/verify", token=clerk))["status"] == "verified"
    finally:
        await api.close()
        await server.close()
    server, api = await start(settings)
    try:
        integrity = (await api.ok("GET", "/api/recordings/h_kept", token=await api.login("clerk")))["integrity"]
        assert integrity["status"] == "verified" and integrity["checks"] > 3 and integrity["failures"] == []
        assert abs(integrity["checked_at"] - time.time()) < 60
    finally:
        await api.close()
        await server.close()


async def test_only_clerks_and_admins_read_the_access_log(archive):
    api, _ = archive
    for user, expected in (("clerk", 200), ("admin", 200), ("judge", 403), ("courtroom1", 403)):
        status, body = await api.call("GET", "/api/audit", token=await api.login(user))
        assert status == expected, (user, body)


async def test_archive_on_s3_hands_out_presigned_links(tmp_path, settings):
    """The same archive with recordings in S3 (a real moto server over HTTP): play and download go
    straight to the store with presigned URLs that honour Range; verify downloads and checks every byte."""
    moto = MotoServer()
    try:
        settings.storage.backend = "s3"
        settings.storage.s3_bucket = "court-archive"
        settings.storage.s3_endpoint_url = moto.url
        settings.storage.s3_region = "us-east-1"
        settings.storage.s3_access_key_id = "test"
        settings.storage.s3_secret_access_key = "test"
        folder = make_recording(tmp_path, settings, seconds=5, hearing_id="h_s3", store=tmp_path / "upload")
        s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
        s3.create_bucket(Bucket="court-archive")
        for path in folder.rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), "court-archive", f"recordings/h_s3/{path.relative_to(folder).as_posix()}")
        # The server reads nothing of the store at start-up: the operator's reindex puts it in the catalog.
        reindex = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hearing_server.cli", "--data-dir", str(settings.data_path), "archive",
            "reindex", env={**os.environ, "COURTROOM_STORAGE_BACKEND": "s3",
                            "COURTROOM_STORAGE_S3_BUCKET": "court-archive",
                            "COURTROOM_STORAGE_S3_ENDPOINT_URL": moto.url, "COURTROOM_STORAGE_S3_REGION": "us-east-1",
                            "COURTROOM_STORAGE_S3_ACCESS_KEY_ID": "test",
                            "COURTROOM_STORAGE_S3_SECRET_ACCESS_KEY": "test"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(reindex.communicate(), 60)
        assert reindex.returncode == 0, err.decode()
        assert "1 recordings indexed, 0 failed" in out.decode()
        server, api = await start(settings)
        try:
            clerk = await api.login("clerk")
            assert [r["hearing_id"] for r in (await api.ok("GET", "/api/recordings", token=clerk))["recordings"]] \
                == ["h_s3"]
            whole = (folder / "hearing.mp4").read_bytes()
            play = await api.ok("POST", "/api/recordings/h_s3/links", {"purpose": "play"}, clerk)
            assert play["url"].startswith(moto.url) and "X-Amz-Signature=" in play["url"]  # presigned (SigV4)
            status, _, body = await fetch(play["url"], {"Range": "bytes=0-99"})
            assert status == 206 and body == whole[:100]
            download = await api.ok("POST", "/api/recordings/h_s3/links", {"purpose": "download"}, clerk)
            status, headers, body = await fetch(download["url"])
            assert status == 200 and body == whole
            # S3, MinIO and Ceph answer this signed override with the header; moto's server ignores it.
            assert "response-content-disposition=attachment%3B%20filename%3D%22CR-2026-0007.mp4%22" \
                in download["url"]
            result = await api.ok("POST", "/api/recordings/h_s3/verify", token=clerk)
            assert result["status"] == "verified", result
            s3.put_object(Bucket="court-archive", Key="recordings/h_s3/segments/" + sorted(
                p.name for p in (folder / "segments").iterdir())[0], Body=b"not the segment")
            result = await api.ok("POST", "/api/recordings/h_s3/verify", token=clerk)
            assert result["status"] == "failed"
        finally:
            await api.close()
            await server.close()
    finally:
        await asyncio.to_thread(moto.stop)
