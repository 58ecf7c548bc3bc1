"""Several nodes on one real Redis, each a real server process: hearings spread over them, participants and
staff relayed to the node that carries their hearing wherever they landed, a node killed (SIGKILL) and its
hearing adopted in the same record, a node stopped (SIGTERM) handing its hearing over, and Redis itself
restarted mid-hearing with the media flowing on."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import AsyncIterator

import pytest
import redis

from .conftest import REDIS_URL, add_staff
from .helpers import ApiClient, Participant
from .servers import ServerProcess, free_port

pytestmark = pytest.mark.media


class Cluster:
    """N nodes sharing one data folder (accounts, keys, spool, local recordings: one shared disk) and one
    Redis under a key prefix of this test's own."""

    def __init__(self, root: Path, settings, redis_url: str = REDIS_URL) -> None:  # noqa: ANN001
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        add_staff(settings)
        (self.data / "users.json").write_bytes(settings.users_path.read_bytes())
        self.root = root
        self.redis_url = redis_url
        self.prefix = f"test-nodes:{uuid.uuid4().hex[:10]}:"
        self.nodes: dict[str, ServerProcess] = {}

    def add(self, node_id: str, **env: str) -> ServerProcess:
        node = ServerProcess(self.data, {
            "COURTROOM_STATE_BACKEND": "redis", "COURTROOM_STATE_REDIS_URL": self.redis_url,
            "COURTROOM_STATE_KEY_PREFIX": self.prefix, "COURTROOM_NODE_NODE_ID": node_id,
            "COURTROOM_RECORDING_SEGMENT_SECONDS": "2", **env})
        node.log = self.root / f"{node_id}.log"
        self.nodes[node_id] = node
        node.start()
        return node

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, decode_responses=True, socket_timeout=2)

    def holder(self, hearing_id: str) -> str | None:
        with self.redis() as client:
            return client.get(f"{self.prefix}carrier:{hearing_id}")

    async def wait_holder(self, hearing_id: str, *, not_: str = "", timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            holder = self.holder(hearing_id)
            if holder and holder != not_ and holder in self.alive():
                return holder
            await asyncio.sleep(0.2)
        raise AssertionError(f"hearing {hearing_id} has no live carrier (holder {self.holder(hearing_id)})")

    def alive(self) -> list[str]:
        return [i for i, n in self.nodes.items() if n.process is not None and n.process.poll() is None]

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()
        try:
            with self.redis() as client:
                keys = list(client.scan_iter(match=self.prefix + "*"))
                if keys:
                    client.delete(*keys)
        except redis.RedisError:
            pass


@pytest.fixture
async def cluster(tmp_path, settings) -> AsyncIterator[Cluster]:  # noqa: ANN001
    nodes = Cluster(tmp_path, settings)
    try:
        yield nodes
    finally:
        nodes.stop()


async def _admitted(api: ApiClient, judge: str, hid: str, base: str, name: str = "Ana Silva",
                    tone: float = 440.0) -> tuple[Participant, str]:
    """An invited party through the lobby (on `base`, any node), admitted, sending and receiving media."""
    invite = await api.invite(judge, hid, name)
    person = Participant(base, invite["token"], name=name, tone=tone)
    assert (await person.connect())["state"] == "lobby"
    await person.start_media()
    await api.ok("POST", f"/api/hearings/{hid}/participants/{invite['participant']['id']}/admit", token=judge)
    session = (await person.expect("admitted"))["session_token"]
    await person.wait_frames(10)
    return person, session


async def _state_back(api: ApiClient, nodes: Cluster, judge: str, hid: str, carrier: str, timeout: float) -> None:
    """The hearing answers again from the state, still leased to its carrier."""
    deadline = time.monotonic() + timeout
    status, hearing = 0, {}
    while time.monotonic() < deadline:
        status, hearing = await api.call("GET", f"/api/hearings/{hid}", token=judge)
        if status == 200 and nodes.holder(hid) == carrier:
            break
        await asyncio.sleep(0.3)
    assert status == 200 and hearing["status"] == "open", hearing
    assert nodes.holder(hid) == carrier


async def _closed(person: Participant, timeout: float = 15.0) -> int | None:
    deadline = time.monotonic() + timeout
    while person.closed_code is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return person.closed_code


async def _manifest(api: ApiClient, clerk: str, hearing_id: str) -> dict:
    for _ in range(300):  # finalised by the carrier, then listed by every node's archive
        status, manifest = await api.call("GET", f"/api/recordings/{hearing_id}/manifest", token=clerk)
        if status == 200:
            return manifest
        await asyncio.sleep(0.2)
    raise AssertionError(f"no manifest for {hearing_id}")


def _verify(data: Path, hearing_id: str) -> None:
    checked = subprocess.run([sys.executable, "-m", "hearing_server", "verify", str(data / "recordings" / hearing_id),
                              "--public-key", str(data / "recording-signing.pub")],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_three_nodes_spread_relay_and_adopt_the_hearing_of_a_killed_node(cluster):
    for node_id in ("n1", "n2", "n3"):
        cluster.add(node_id)
    apis = {i: ApiClient(n.url) for i, n in cluster.nodes.items()}
    people: list[Participant] = []
    try:
        judge = await apis["n1"].login("judge")
        hearings = [(await apis["n1"].new_hearing(judge, f"CV-2026-07{i}"))["id"] for i in range(3)]
        holders = {hid: await cluster.wait_holder(hid) for hid in hearings}
        # Spread by load (CPU in tenths of a core, then hearings): the node answering the API is busier.
        assert len(set(holders.values())) >= 2, holders

        hid = hearings[0]
        carrier = holders[hid]
        relay, third = (i for i in ("n1", "n2", "n3") if i != carrier)
        # The judge's console lands on one node, the party on another, neither the carrier.
        console = Participant(cluster.nodes[third].url, judge, hearing_id=hid)
        people.append(console)
        assert (await console.connect())["type"] == "welcome"
        invite = await apis[relay].invite(judge, hid, "Ana Silva")
        ana = Participant(cluster.nodes[relay].url, invite["token"], name="Ana Silva", tone=440.0)
        people.append(ana)
        assert (await ana.connect())["state"] == "lobby"
        lobby = await console.expect("lobby", timeout=10, after=0)
        for _ in range(50):
            if any(e["id"] == invite["participant"]["id"] for e in lobby["entrants"]):
                break
            lobby = await console.expect("lobby", timeout=10, after=console.messages.index(lobby) + 1)
        await ana.start_media()  # offer and answer through the relay; the media itself goes to the carrier
        await apis[third].ok("POST", f"/api/hearings/{hid}/participants/{invite['participant']['id']}/admit",
                             token=judge)
        session = (await ana.expect("admitted"))["session_token"]
        await ana.wait_frames(20)
        # The API of any node answers for the hearing: the carrier's cameras list, a log note taken anywhere.
        assert await apis[relay].ok("GET", f"/api/hearings/{hid}/cameras", token=judge) == {"cameras": []}
        status, entrants = await apis[third].call("GET", f"/api/hearings/{hid}/lobby", token=judge)
        assert status == 200 and entrants["entrants"] == []
        await apis[relay].ok("POST", f"/api/hearings/{hid}/notes", {"text": "Noted on a relaying node"}, judge)
        await asyncio.sleep(4)  # segments recorded on the carrier

        cluster.nodes[carrier].kill()  # the whole node, SIGKILL
        assert await _closed(ana) == 1012  # the relaying node tells Ana to come back
        back = Participant(cluster.nodes[relay].url, session, tone=440.0)
        people.append(back)
        # Back with her session token, on the same relaying node, within the lease (6 s) and a reconnect.
        welcome = await back.connect()
        assert welcome.get("state") == "admitted", welcome
        await back.start_media()
        await back.wait_frames(20, timeout=30)
        adopter = await cluster.wait_holder(hid, not_=carrier)
        assert adopter in (relay, third)
        await apis[relay].ok("POST", f"/api/hearings/{hid}/notes", {"text": "Noted after the move"}, judge)
        await asyncio.sleep(3)
    except BaseException:
        for api in apis.values():
            await api.close()
        raise
    finally:
        for person in people:
            await person.close()

    try:
        await apis[third].ok("POST", f"/api/hearings/{hid}/close", token=judge)
        clerk = await apis[relay].login("clerk")
        manifest = await _manifest(apis[relay], clerk, hid)
        reasons = [g["reason"] for g in manifest["gaps"]]
        assert any("stopped" in r or "restart" in r for r in reasons), manifest["gaps"]
        assert manifest["segments"][-1]["end"] - manifest["segments"][0]["start"] > 6
        transcript = (cluster.data / "recordings" / hid / "transcript.json").read_text()
        assert "Noted on a relaying node" in transcript and "Noted after the move" in transcript
        _verify(cluster.data, hid)
        # The other two hearings are still carried, each by a live node.
        for other in hearings[1:]:
            assert await cluster.wait_holder(other) in cluster.alive()
        for node_id in cluster.alive():  # one spool for all: nobody warned about it
            assert "is not shared" not in (cluster.root / f"{node_id}.log").read_text()
    finally:
        for api in apis.values():
            await api.close()


async def test_a_node_told_to_stop_hands_its_hearing_to_another(cluster):
    # Media in a worker process on each node: the hand-over goes through the pool as well.
    first = cluster.add("n1", COURTROOM_NODE_DRAIN_SECONDS="0", COURTROOM_MEDIA_WORKERS="1")
    second = cluster.add("n2", COURTROOM_MEDIA_WORKERS="1")
    api = ApiClient(second.url)
    people: list[Participant] = []
    staying_api = None
    try:
        judge = await api.login("judge")
        hid = (await api.new_hearing(judge, "CV-2026-0801"))["id"]
        carrier = await cluster.wait_holder(hid)
        stopping, staying = (first, second) if carrier == "n1" else (second, first)
        staying_api = ApiClient(staying.url)
        ben, session = await _admitted(staying_api, judge, hid, staying.url, "Ben Okafor", 660.0)
        people.append(ben)
        await asyncio.sleep(2.5)

        assert stopping.process is not None
        stopping.process.send_signal(signal.SIGTERM)
        assert await _closed(ben) == 1012
        moved_to = await cluster.wait_holder(hid, not_=carrier, timeout=10)
        assert moved_to != carrier
        back = Participant(staying.url, session, tone=660.0)
        people.append(back)
        assert (await back.connect())["state"] == "admitted"
        await back.start_media()
        await back.wait_frames(15, timeout=30)
        assert stopping.process.wait(timeout=30) == 0  # it stopped by itself once the hearing was handed over
        await asyncio.sleep(2)
    except BaseException:
        await api.close()
        if staying_api is not None:
            await staying_api.close()
        raise
    finally:
        for person in people:
            await person.close()
    assert staying_api is not None
    try:
        await staying_api.ok("POST", f"/api/hearings/{hid}/close", token=judge)
        clerk = await staying_api.login("clerk")
        manifest = await _manifest(staying_api, clerk, hid)
        assert manifest["segments"][-1]["end"] - manifest["segments"][0]["start"] > 3
        _verify(cluster.data, hid)
    finally:
        await api.close()
        await staying_api.close()


class RedisServer:
    """A redis-server of this test's own on a free port, that it can kill and start again (empty); a
    replica of another with `replica_of`, a Sentinel with `sentinel_of` (the master's port)."""

    def __init__(self, folder: Path, replica_of: int = 0, sentinel_of: int = 0) -> None:
        self.port = free_port()
        self.folder = folder / f"redis-{self.port}"
        self.folder.mkdir(parents=True)
        self.replica_of = replica_of
        self.sentinel_of = sentinel_of
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable, "redis-server is installed by scripts/setup-test-env.sh"
        if self.sentinel_of:
            config = self.folder / "sentinel.conf"
            config.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {self.folder}\n"
                              f"sentinel monitor courtroom 127.0.0.1 {self.sentinel_of} 1\n"
                              "sentinel down-after-milliseconds courtroom 1000\n"
                              "sentinel failover-timeout courtroom 5000\n")
            command = [executable, str(config), "--sentinel"]
        else:
            command = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                       "no", "--dir", str(self.folder)]
            if self.replica_of:
                command += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


async def test_redis_restarted_mid_hearing_the_media_flows_on_and_state_comes_back(tmp_path, settings):
    server = RedisServer(tmp_path)
    server.start()
    nodes = Cluster(tmp_path, settings, redis_url=server.url)
    api: ApiClient | None = None
    ana = None
    try:
        node = nodes.add("n1")
        api = ApiClient(node.url)
        judge = await api.login("judge")
        hid = (await api.new_hearing(judge, "CV-2026-0901"))["id"]
        await nodes.wait_holder(hid)
        ana, _ = await _admitted(api, judge, hid, node.url)

        server.kill()
        await ana.wait_frames(30, timeout=15)  # Redis away: the hearing's media does not need it
        status, body = await api.call("GET", f"/api/hearings/{hid}", token=judge)
        assert (status, body["error"]["code"]) == (503, "state_unavailable")
        server.start()  # back, and empty (it keeps nothing on disk)
        await _state_back(api, nodes, judge, hid, "n1", 20)  # written again by its carrier
        people = await api.ok("GET", f"/api/hearings/{hid}/participants", token=judge)
        assert any(p["name"] == "Ana Silva" and p["state"] == "admitted"
                   for p in people["participants"]), people
        assert ana.closed_code is None  # her connection never dropped
        await ana.wait_frames(15)
        await api.ok("POST", f"/api/hearings/{hid}/close", token=judge)
    finally:
        if ana is not None:
            await ana.close()
        if api is not None:
            await api.close()
        nodes.stop()
        server.kill()


async def _until(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        await asyncio.sleep(0.2)


def _replicas_known(sentinel_port: int) -> bool:
    with redis.Redis(port=sentinel_port, decode_responses=True, socket_timeout=1) as client:
        return any(r.get("flags") == "slave" for r in client.sentinel_slaves("courtroom"))


def _in_sync(replica_port: int) -> bool:
    with redis.Redis(port=replica_port, decode_responses=True, socket_timeout=1) as client:
        return client.info("replication").get("master_link_status") == "up"


async def test_a_sentinel_failover_mid_hearing_moves_the_state_and_the_hearing_goes_on(tmp_path, settings):
    master = RedisServer(tmp_path)
    master.start()
    replica = RedisServer(tmp_path, replica_of=master.port)
    replica.start()
    sentinel = RedisServer(tmp_path, sentinel_of=master.port)
    servers = [master, replica, sentinel]
    nodes = Cluster(tmp_path, settings, redis_url="redis://127.0.0.1:1/0")  # the address comes from Sentinel
    api: ApiClient | None = None
    ana = None
    try:
        await _until(lambda: _in_sync(replica.port), 20, "replica in sync")
        sentinel.start()
        await _until(lambda: _replicas_known(sentinel.port), 20, "replica known to the sentinel")
        node = nodes.add("n1", COURTROOM_STATE_REDIS_SENTINELS=f"127.0.0.1:{sentinel.port}",
                         COURTROOM_STATE_REDIS_SENTINEL_MASTER="courtroom")
        nodes.redis_url = master.url  # the test's own look at the leases
        api = ApiClient(node.url)
        judge = await api.login("judge")
        hid = (await api.new_hearing(judge, "CV-2026-0951"))["id"]
        await nodes.wait_holder(hid)
        ana, _ = await _admitted(api, judge, hid, node.url)

        master.kill()  # the sentinel promotes the replica; the node follows it
        nodes.redis_url = replica.url
        await ana.wait_frames(30, timeout=15)
        await _state_back(api, nodes, judge, hid, "n1", 30)
        with redis.Redis(port=replica.port, decode_responses=True) as client:
            assert client.info("replication")["role"] == "master"
        assert ana.closed_code is None
        await api.ok("POST", f"/api/hearings/{hid}/close", token=judge)
    finally:
        if ana is not None:
            await ana.close()
        if api is not None:
            await api.close()
        nodes.stop()
        for server in servers:
            server.kill()


async def test_a_node_says_when_its_spool_is_not_shared_with_the_others(cluster, tmp_path):
    cluster.add("n1")
    cluster.add("n2", COURTROOM_RECORDING_SPOOL_DIR=str(tmp_path / "own-spool"))
    log = cluster.root / "n2.log"
    deadline = time.monotonic() + 15
    while "is not shared with node(s) n1" not in log.read_text() and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
    assert "is not shared with node(s) n1" in log.read_text()
