"""The archive across processes: two server processes on one PostgreSQL see one catalog, one audit log and
one set of revocations; a server on the embedded SQLite default keeps all of it across a restart. Real
`hearing-server` processes, killed for real; the catalog filled by the operator's `archive reindex`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from hearing_server.config import Settings

from .conftest import add_staff, make_settings, postgres_database
from .helpers import ApiClient
from .record_fixture import make_recording
from .servers import ServerProcess


def node_settings(root: Path, name: str, shared: Path) -> tuple[Settings, dict[str, str]]:
    """One node's own data folder, with the court's shared parts: token key, signing key, the store."""
    settings = make_settings(root / name)
    add_staff(settings)
    env = {"COURTROOM_AUTH_SECRET_FILE": str(shared / "token.key"),
           "COURTROOM_RECORDING_SIGNING_KEY_FILE": str(shared / "recording-signing.key"),
           "COURTROOM_STORAGE_LOCAL_DIR": str(shared / "recordings"), "COURTROOM_NODE_NODE_ID": name}
    settings.auth.secret_file = env["COURTROOM_AUTH_SECRET_FILE"]
    settings.recording.signing_key_file = env["COURTROOM_RECORDING_SIGNING_KEY_FILE"]
    settings.storage.local_dir = env["COURTROOM_STORAGE_LOCAL_DIR"]
    return settings, env


def cli(settings: Settings, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hearing_server.cli", "--data-dir", str(settings.data_path),
                           *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


async def test_two_nodes_share_one_catalog_audit_log_and_revocations(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    async with postgres_database() as url:
        a_settings, a_env = node_settings(tmp_path, "node-a", shared)
        b_settings, b_env = node_settings(tmp_path, "node-b", shared)
        a_env["COURTROOM_ARCHIVE_DATABASE_URL"] = b_env["COURTROOM_ARCHIVE_DATABASE_URL"] = url
        make_recording(tmp_path, a_settings, seconds=3, hearing_id="h_shared", store=shared / "recordings",
                       case_number="2-77/2026", notes=[{"offset": 1.0, "text": "Вещественное доказательство №7"}])
        indexed = cli(a_settings, a_env, "archive", "reindex", "--quiet")
        assert indexed.returncode == 0 and "1 recordings indexed, 0 failed" in indexed.stdout, indexed.stderr
        node_a, node_b = ServerProcess(a_settings.data_path, a_env), ServerProcess(b_settings.data_path, b_env)
        api_a = api_b = None
        try:
            node_a.start()
            node_b.start()
            api_a, api_b = ApiClient(node_a.url), ApiClient(node_b.url)
            clerk_a, clerk_b = await api_a.login("clerk"), await api_b.login("clerk")
            for api, clerk in ((api_a, clerk_a), (api_b, clerk_b)):
                found = await api.ok("GET", "/api/recordings?text=доказательство", token=clerk)
                assert [r["hearing_id"] for r in found["recordings"]] == ["h_shared"] and found["total"] == 1

            # A share made on one node, used and revoked on the other: refused on both at once.
            share = await api_a.ok("POST", "/api/recordings/h_shared/shares", {"recipient": "Айгерім Бекова"},
                                   clerk_a)
            token = share["url"].split("#token=")[1]
            assert (await api_b.ok("GET", "/api/shared", token=token))["hearing_id"] == "h_shared"
            listed = (await api_b.ok("GET", "/api/recordings/h_shared/shares", token=clerk_b))["shares"]
            assert [s["share_id"] for s in listed] == [share["share_id"]]
            await api_b.ok("DELETE", f"/api/recordings/h_shared/shares/{share['share_id']}", token=clerk_b)
            for api in (api_a, api_b):
                status, body = await api.call("GET", "/api/shared", token=token)
                assert status == 401 and body["error"]["code"] == "token_revoked"

            # A log-out on one node ends that log-in on the other (no Redis here: the database says so).
            judge = await api_a.login("judge")
            await api_a.ok("POST", "/api/recordings/h_shared/hold", {"reason": "appeal 2-77/2026"}, judge)
            assert (await api_b.ok("GET", "/api/recordings/h_shared", token=clerk_b))["hold"]["by"] == "judge"
            await api_a.ok("POST", "/api/logout", token=judge)
            status, body = await api_b.call("GET", "/api/recordings", token=judge)
            assert status == 401 and body["error"]["code"] == "token_revoked"
            await api_b.ok("POST", "/api/recordings/h_shared/verify", token=clerk_b)
            assert (await api_a.ok("GET", "/api/recordings/h_shared", token=clerk_a))["integrity"]["status"] == \
                "verified"

            # One audit log: entries written by both nodes, in one chain.
            admin = await api_b.login("admin")
            entries = (await api_b.ok("GET", "/api/audit?hearing_id=h_shared", token=admin))["entries"]
            assert {e["node"] for e in entries} == {"node-a", "node-b"}
            assert {"share", "shared_view", "share_revoked", "hold", "verify"} <= {e["action"] for e in entries}
            seqs = [e["seq"] for e in entries]
            assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)

            # Node A killed and started again: nothing of it was only in its memory.
            node_a.kill()
            node_a.start()
            await api_a.close()
            api_a = ApiClient(node_a.url)
            clerk_a = await api_a.login("clerk")
            listed = (await api_a.ok("GET", "/api/recordings/h_shared/shares", token=clerk_a))["shares"]
            assert listed[0]["status"] == "revoked"
            status, _ = await api_a.call("GET", "/api/shared", token=token)
            assert status == 401
        finally:
            for api in (api_a, api_b):
                if api is not None:
                    await api.close()
            node_a.stop()
            node_b.stop()
        checked = cli(b_settings, b_env, "audit", "verify")
        assert checked.returncode == 0 and "chain intact" in checked.stdout, checked.stdout + checked.stderr
        exported = cli(b_settings, b_env, "audit", "export", "--format", "csv", "--hearing", "h_shared")
        lines = exported.stdout.splitlines()
        assert exported.returncode == 0 and lines[0].startswith("seq,at,action,hearing_id")
        assert len(lines) - 1 >= len(entries)  # and what node A did after its restart


async def test_the_embedded_default_keeps_the_archive_across_a_restart(tmp_path):
    settings = make_settings(tmp_path)
    add_staff(settings)
    make_recording(tmp_path, settings, seconds=3, hearing_id="h_local", store=settings.recordings_path)
    server = ServerProcess(settings.data_path, {})
    api = None
    try:
        server.start()
        api = ApiClient(server.url)
        clerk = await api.login("clerk")
        kept = await api.ok("POST", "/api/recordings/h_local/shares", {"recipient": "kept"}, clerk)
        gone = await api.ok("POST", "/api/recordings/h_local/shares", {"recipient": "gone"}, clerk)
        await api.ok("DELETE", f"/api/recordings/h_local/shares/{gone['share_id']}", token=clerk)
        await api.ok("POST", "/api/recordings/h_local/verify", token=clerk)
        server.stop()
        server.start()
        await api.close()
        api = ApiClient(server.url)
        clerk = await api.login("clerk")
        detail = await api.ok("GET", "/api/recordings/h_local", token=clerk)
        assert detail["integrity"]["status"] == "verified"
        shares = {s["recipient"]: s["status"] for s in
                  (await api.ok("GET", "/api/recordings/h_local/shares", token=clerk))["shares"]}
        assert shares == {"kept": "active", "gone": "revoked"}
        assert (await api.call("GET", "/api/shared", token=gone["url"].split("#token=")[1]))[0] == 401
        assert (await api.call("GET", "/api/shared", token=kept["url"].split("#token=")[1]))[0] == 200
        assert (settings.data_path / "archive.db").exists()
    finally:
        if api is not None:
            await api.close()
        server.stop()
    checked = cli(settings, {}, "audit", "verify")
    assert checked.returncode == 0 and "chain intact" in checked.stdout


async def test_a_database_outage_stops_the_archive_not_the_court(tmp_path):
    """PostgreSQL cut off (a TCP relay closed): the archive answers 503 and the court goes on; a recording
    finished meanwhile, and a log-out, reach the database when it is back."""
    from aiohttp.test_utils import TestServer

    from hearing_server.app import RECORDER, create_app
    from hearing_server.store import MemoryStore
    from recorder.manifest import Manifest

    from .servers import Relay

    settings = make_settings(tmp_path)
    add_staff(settings)
    async with postgres_database() as url:
        relay = Relay(5432)
        await relay.restore()
        settings.archive.database_url = url.replace(":5432/", f":{relay.port}/")
        folder = make_recording(tmp_path, settings, seconds=2, hearing_id="h_late", store=tmp_path / "elsewhere",
                                notes=[{"offset": 1.0, "text": "Protocol signed by both parties"}])
        server = TestServer(create_app(settings, MemoryStore()), host="127.0.0.1", port=0)
        await server.start_server()
        api = ApiClient(str(server.make_url("")).rstrip("/"))
        try:
            clerk, judge = await api.login("clerk"), await api.login("judge")
            assert (await api.ok("GET", "/api/recordings", token=clerk))["total"] == 0
            await relay.cut()
            status, body = await api.call("GET", "/api/recordings", token=clerk)
            assert status == 503 and body["error"]["code"] == "database_unavailable"
            hearing = await api.new_hearing(judge)  # the court itself does not wait for the archive
            assert hearing["status"] == "open"
            await api.ok("POST", "/api/logout", token=judge)
            status, body = await api.call("GET", "/api/hearings", token=judge)
            assert status == 401 and body["error"]["code"] == "token_revoked"
            recorder = server.app[RECORDER]
            manifest = Manifest.from_dict(json.loads((folder / "manifest.json").read_text()))
            indexed = recorder.catalogue(manifest, folder)
            await asyncio.sleep(2)
            assert not indexed.done()  # waiting for the database, not given up
            await relay.restore()
            await asyncio.wait_for(indexed, 40)
            found = await api.ok("GET", "/api/recordings?text=protocol", token=clerk)
            assert [r["hearing_id"] for r in found["recordings"]] == ["h_late"]
            status, _ = await api.call("GET", "/api/hearings", token=judge)
            assert status == 401
        finally:
            await api.close()
            await server.close()
            await relay.cut()
        import asyncpg

        connection = await asyncpg.connect(url)
        try:  # the log-out made during the outage is in the shared register now
            assert await connection.fetchval("SELECT count(*) FROM revoked_tokens") >= 1
        finally:
            await connection.close()
