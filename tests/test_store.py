"""One suite, both twins: the in-memory store and the Redis store must behave the same."""

from __future__ import annotations

import asyncio
import socket
import time

import redis.asyncio as aioredis

from hearing_server.models import Hearing, HearingStatus, Participant, ParticipantState
from hearing_server.store import RedisStore

from .waiting import until


def hearing(hid: str, created: float) -> Hearing:
    return Hearing(id=hid, case_number=f"CV-{hid}", title="t", court="c", courtroom="r", scheduled_start="",
                   judge="judge", judge_name="J", created_at=created)


async def test_hearings_round_trip_newest_first(store):
    await store.save_hearing(hearing("a", 1.0))
    await store.save_hearing(hearing("b", 2.0))
    saved = await store.get_hearing("a")
    assert saved == hearing("a", 1.0)
    saved.status = HearingStatus.OPEN
    await store.save_hearing(saved)
    assert (await store.get_hearing("a")).status is HearingStatus.OPEN
    assert [h.id for h in await store.list_hearings()] == ["b", "a"]
    assert await store.get_hearing("missing") is None


async def test_records_are_copies_not_shared_objects(store):
    await store.save_hearing(hearing("a", 1.0))
    first = await store.get_hearing("a")
    first.locked = True
    assert (await store.get_hearing("a")).locked is False


async def test_participants_in_invitation_order(store):
    for index, pid in enumerate(["p3", "p1", "p2"]):
        await store.save_participant(Participant(id=pid, hearing_id="h", name=pid, role="witness",
                                                 invited_at=float(index)))
    await store.save_participant(Participant(id="x", hearing_id="other", name="x", role="witness"))
    assert [p.id for p in await store.list_participants("h")] == ["p3", "p1", "p2"]
    person = await store.get_participant("h", "p1")
    person.state = ParticipantState.ADMITTED
    await store.save_participant(person)
    assert (await store.get_participant("h", "p1")).state is ParticipantState.ADMITTED
    assert await store.get_participant("other", "p1") is None


async def test_lobby_keeps_arrival_order_and_first_arrival_time(store):
    await store.lobby_enter("h", "late", 20.0)
    await store.lobby_enter("h", "early", 10.0)
    await store.lobby_enter("h", "early", 30.0)  # a reconnect does not send you to the back of the queue
    assert await store.lobby("h") == ["early", "late"]
    await store.lobby_leave("h", "early")
    assert await store.lobby("h") == ["late"]
    assert await store.lobby("empty") == []


async def test_an_invite_is_consumed_once_even_under_a_race(store):
    expires = time.time() + 60
    results = await asyncio.gather(*(store.consume_invite("jti-1", expires) for _ in range(10)))
    assert results.count(True) == 1
    assert await store.consume_invite("jti-2", expires) is True


async def test_revoked_tokens_until_expiry(store):
    assert await store.is_revoked("t1") is False
    await store.revoke("t1", time.time() + 60)
    assert await store.is_revoked("t1") is True
    expires = time.time() + 1
    await store.revoke("t2", expires)
    assert await store.is_revoked("t2") is True

    async def expired() -> bool:
        if await store.is_revoked("t2"):
            return False
        # Refused until it would have expired anyway, not a moment less (Redis rounds the TTL up).
        assert time.time() >= expires - 0.01, "a revocation ended before the token's own expiry"
        return True

    await until(expired, 10.0, what="the revocation of t2 to lapse with the token's expiry")


async def test_locks_have_one_owner_and_expire(store):
    assert await store.acquire_lock("hearing:h1", "node-a", ttl=1.0)
    assert not await store.acquire_lock("hearing:h1", "node-b", ttl=1.0)
    renewed = time.monotonic()
    assert await store.acquire_lock("hearing:h1", "node-a", ttl=1.0)  # renewal by the owner
    await store.release_lock("hearing:h1", "node-b")  # not the owner: no effect
    assert not await store.acquire_lock("hearing:h1", "node-b", ttl=1.0)
    # A refused attempt changes nothing, so node-b may keep trying until node-a's lock runs out.
    await until(lambda: store.acquire_lock("hearing:h1", "node-b", ttl=1.0), 10.0,
                what="node-a's lock to expire and node-b to take it")
    assert time.monotonic() - renewed >= 1.0 - 0.02, "the lock expired before its TTL from the renewal"
    await store.release_lock("hearing:h1", "node-b")
    assert await store.acquire_lock("hearing:h1", "node-a", ttl=1.0)


async def test_ping_is_true_on_a_live_store(store):
    # Exactly True (what /api/health reports as "store"), and the store still answers after it.
    assert await store.ping() is True
    await store.save_hearing(hearing("a", 1.0))
    assert (await store.get_hearing("a")) == hearing("a", 1.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_redis_ping_is_false_when_nothing_answers_on_the_port():
    """/api/health says "degraded" on this False: ping must not raise, and must not hang either."""
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{_free_port()}/0", decode_responses=True,
                                     socket_connect_timeout=1.0, socket_timeout=1.0)
    store = RedisStore(client, key_prefix="test:unreachable:")
    try:
        assert await asyncio.wait_for(store.ping(), 15.0) is False
    finally:
        await store.close()


async def test_redis_ping_is_false_when_the_server_never_replies():
    """A Redis that accepts the connection and then says nothing (hung, or a black-holed network)."""
    held: list[asyncio.StreamWriter] = []  # keep each connection open, unanswered
    silent = await asyncio.start_server(lambda reader, writer: held.append(writer), "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0", decode_responses=True,
                                     socket_connect_timeout=1.0, socket_timeout=0.5)
    store = RedisStore(client, key_prefix="test:silent:")
    try:
        assert await asyncio.wait_for(store.ping(), 15.0) is False
        assert held, "the client never reached the silent server"
    finally:
        for writer in held:
            writer.close()
        silent.close()
        await asyncio.wait_for(silent.wait_closed(), 5.0)
        await store.close()
