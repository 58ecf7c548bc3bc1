"""The node registry and hearing claims (memory and Redis twins, the same tests), and placement."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import AsyncIterator

import pytest
import redis.asyncio as aioredis

from hearing_server.routing import MemoryRegistry, NoCapacity, NodeInfo, RedisRegistry, WorkerLoad, choose_worker
from hearing_server.routing import registry as registry_module
from hearing_server.routing.selector import with_pending

from .conftest import REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def registry(request, monkeypatch) -> AsyncIterator:
    monkeypatch.setattr(registry_module, "STALE_SECONDS", 0.6)  # expiry in a test's time
    if request.param == "memory":
        yield MemoryRegistry()
        return
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        yield RedisRegistry(client, key_prefix=prefix)
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def node(node_id: str, *loads: tuple[float, int, int], draining: bool = False) -> NodeInfo:
    workers = tuple(WorkerLoad(f"{node_id}/{i}", cpu, hearings, people) for i, (cpu, hearings, people)
                    in enumerate(loads))
    return NodeInfo(node_id, f"http://{node_id}.court.example", workers, draining, updated_at=time.time())


async def test_nodes_that_stop_heart_beating_drop_out(registry):
    await registry.heartbeat(node("a", (0.1, 1, 4)))
    await registry.heartbeat(node("b", (0.2, 0, 0)))
    assert sorted(n.node_id for n in await registry.nodes()) == ["a", "b"]
    assert (await registry.nodes())[0].workers[0].participants in (4, 0)
    for _ in range(4):  # a keeps beating, b has died
        await asyncio.sleep(0.25)
        await registry.heartbeat(node("a", (0.1, 1, 4)))
    assert [n.node_id for n in await registry.nodes()] == ["a"]
    await registry.forget("a")
    assert await registry.nodes() == []


async def test_a_hearing_is_carried_by_one_worker_until_its_claim_lapses(registry):
    assert await registry.claim("h_1", "a/0", ttl=0.5)
    assert await registry.claim("h_1", "a/0", ttl=0.5)  # the carrier renews
    assert not await registry.claim("h_1", "b/1", ttl=0.5)  # nobody else while it does
    assert await registry.carrier("h_1") == "a/0"
    await asyncio.sleep(0.7)  # a/0 died: its claim lapses and another worker adopts the hearing
    assert await registry.carrier("h_1") is None
    assert await registry.claim("h_1", "b/1", ttl=5)
    await registry.release("h_1", "a/0")  # a late release by the old carrier changes nothing
    assert await registry.carrier("h_1") == "b/1"
    await registry.release("h_1", "b/1")
    assert await registry.carrier("h_1") is None


async def test_two_workers_racing_for_one_hearing_never_both_win(registry):
    results = await asyncio.gather(*(registry.claim("h_race", f"n{i}/0", ttl=5) for i in range(20)))
    assert results.count(True) == 1


def test_a_new_hearing_goes_to_the_least_loaded_worker_with_room():
    nodes = [node("a", (0.60, 2, 8), (0.20, 1, 4)), node("b", (0.20, 1, 2)), node("c", (0.0, 0, 0), draining=True)]
    chosen_node, chosen = choose_worker(nodes)
    assert (chosen_node.node_id, chosen.worker_id) == ("b", "b/0")  # same CPU as a/1, fewer hearings
    assert choose_worker([node("a", (0.9, 1, 4), (0.5, 2, 8))])[1].worker_id == "a/1"  # a/0 is CPU-bound
    # Idle nodes differ by a few hundredths of a core: the hearings they carry decide, so hearings spread.
    assert choose_worker([node("a", (0.01, 1, 0)), node("b", (0.04, 0, 0))])[0].node_id == "b"


@pytest.mark.parametrize("nodes, reason", [
    ([], "no media node is running"),
    ([node("a", (0.1, 0, 0), draining=True)], "draining"),
    ([node("a")], "no media worker"),
    ([node("a", (0.2, 3, 12), (0.95, 0, 0))], "full"),
])
def test_a_full_court_says_why_it_refuses(nodes, reason):
    with pytest.raises(NoCapacity, match=reason):
        choose_worker(nodes)


def test_a_burst_of_placements_counts_their_cpu_before_the_next_report():
    idle = node("a", (0.05, 0, 0), (0.1, 0, 0))
    placed: dict[str, int] = {}
    for _ in range(4):  # a dead node's hearings adopted at once: reports are 2 s old
        workers = tuple(with_pending(w, placed.get(w.worker_id, 0)) for w in idle.workers)
        _, chosen = choose_worker([NodeInfo("a", "", workers, updated_at=time.time())])
        placed[chosen.worker_id] = placed.get(chosen.worker_id, 0) + 1
    assert placed == {"a/0": 2, "a/1": 2}  # spread, not four on the worker that looked idlest
