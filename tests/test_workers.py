"""Media workers with real processes: hearings spread over them, a worker killed mid-hearing (SIGKILL), the
hearing carried on by another within seconds, everyone back without the lobby, and the record whole but
for a marked gap, verified."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from typing import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from hearing_server.app import create_app
from hearing_server.appkeys import ROOMS
from hearing_server.store import MemoryStore

from .conftest import add_staff
from .helpers import ApiClient, Participant
from .waiting import until

pytestmark = pytest.mark.media


@pytest.fixture
async def node(settings) -> AsyncIterator[tuple[TestServer, ApiClient]]:
    settings.media.workers = 2
    settings.storage.local_dir = str(settings.data_path / "recordings")
    add_staff(settings)
    server = TestServer(create_app(settings, MemoryStore()), host="127.0.0.1", port=0)
    await server.start_server()
    client = ApiClient(str(server.make_url("")).rstrip("/"))
    yield server, client
    await client.close()
    await server.close()


async def admitted(api: ApiClient, base: str, judge: str, hid: str, name: str, tone: float) -> tuple[Participant, str]:
    invite = await api.invite(judge, hid, name)
    person = Participant(base, invite["token"], name=name, tone=tone)
    assert (await person.connect())["state"] == "lobby"
    await person.start_media()
    await api.ok("POST", f"/api/hearings/{hid}/participants/{invite['participant']['id']}/admit", token=judge)
    return person, (await person.expect("admitted"))["session_token"]


def pool_of(server: TestServer):  # noqa: ANN201
    pool = server.app[ROOMS].pool
    assert pool is not None
    return pool


async def test_hearings_spread_over_the_workers_and_survive_one_being_killed(node, settings, tmp_path):
    server, api = node
    base = str(server.make_url("")).rstrip("/")
    judge = await api.login("judge")
    first = (await api.new_hearing(judge, "CV-2026-0001"))["id"]
    second = (await api.new_hearing(judge, "CV-2026-0002"))["id"]
    pool = pool_of(server)
    carriers = {hid: next(w.worker_id for w in pool._workers.values() if hid in w.hearings) for hid in (first, second)}
    assert len(set(carriers.values())) == 2, carriers  # least loaded: one hearing on each worker

    ana, session = await admitted(api, base, judge, first, "Ana Silva", 440.0)
    ben, _ = await admitted(api, base, judge, first, "Ben Okafor", 660.0)
    replacement = None
    try:
        await ana.wait_frames(20)
        # The worker tells the front whose media connected; the front's roster says so.
        ana_id = ana.of_type("welcome")[0]["participant"]["id"]
        await until(lambda: any(p["id"] == ana_id and p["media"] == "connected"
                                for m in ben.of_type("roster") for p in m["participants"]), 10.0, 0.1,
                    what="Ana's media connected on Ben's roster")
        await asyncio.sleep(5)  # more than a segment recorded before the crash
        victim = carriers[first]
        pid = pool.pids()[victim]
        os.kill(pid, signal.SIGKILL)

        # The front hears it at once, places the hearing on the other worker and asks everyone back.
        closed = await ana.expect("error", timeout=10)
        assert closed["code"] == "media_restarting"
        for _ in range(50):
            if ana.closed_code is not None:
                break
            await asyncio.sleep(0.1)
        assert ana.closed_code == 1012
        moved_to = next(w.worker_id for w in pool._workers.values() if first in w.hearings)
        assert moved_to != victim
        # Back with the session token: no lobby, no new admission; the picture flows again.
        replacement = Participant(base, session, tone=440.0)
        assert (await replacement.connect())["state"] == "admitted"
        await replacement.start_media()
        await replacement.wait_frames(20, timeout=20)
        # The killed worker is replaced, so the node has two again.
        for _ in range(100):
            if len(pool.pids()) == 2 and victim in pool.pids():
                break
            await asyncio.sleep(0.1)
        assert len(pool.pids()) == 2 and pool.pids()[victim] != pid
        await asyncio.sleep(3)
    finally:
        for person in (ana, ben, replacement):
            if person is not None:
                await person.close()

    await api.ok("POST", f"/api/hearings/{first}/close", token=judge)
    await api.ok("POST", f"/api/hearings/{second}/close", token=judge)
    clerk = await api.login("clerk")
    manifest = None
    for _ in range(200):  # finalised by the worker, uploaded, then listed by the front's archive
        status, manifest = await api.call("GET", f"/api/recordings/{first}/manifest", token=clerk)
        if status == 200:
            break
        await asyncio.sleep(0.2)
    assert manifest is not None and manifest.get("hearing_id") == first, manifest
    assert {p["name"]: p["present"] for p in manifest["participants"]} == {"Ana Silva": True, "Ben Okafor": True}
    reasons = [g["reason"] for g in manifest["gaps"]]
    assert any("restart" in r or "stopped" in r for r in reasons), manifest["gaps"]
    assert manifest["segments"][-1]["end"] - manifest["segments"][0]["start"] > 8
    recording = settings.recordings_path / first
    checked = subprocess.run([sys.executable, "-m", "hearing_server", "verify", str(recording), "--public-key",
                              str(settings.signing_key_path.with_suffix(".pub"))],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_a_full_node_refuses_a_new_hearing_with_a_reason(node, settings):
    server, api = node
    judge = await api.login("judge")
    settings.media.hearings_per_worker = 1
    for number in range(2):
        await api.new_hearing(judge, f"CV-2026-01{number}")
    refused = await api.ok("POST", "/api/hearings", {"case_number": "CV-2026-0199", "title": "t"}, judge)
    status, body = await api.call("POST", f"/api/hearings/{refused['id']}/open", token=judge)
    assert (status, body["error"]["code"]) == (503, "server_full")
    assert "every media worker is full" in body["error"]["message"]
    assert (await api.ok("GET", f"/api/hearings/{refused['id']}", token=judge))["status"] == "scheduled"
