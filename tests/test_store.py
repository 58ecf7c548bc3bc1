"""One suite, both twins: the in-memory store and the Redis store must behave the same."""

from __future__ import annotations

import asyncio
import time

from hearing_server.models import Hearing, HearingStatus, Participant, ParticipantState


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
    await store.revoke("t2", time.time() + 1)
    await asyncio.sleep(2.1)
    assert await store.is_revoked("t2") is False


async def test_locks_have_one_owner_and_expire(store):
    assert await store.acquire_lock("hearing:h1", "node-a", ttl=1.0)
    assert not await store.acquire_lock("hearing:h1", "node-b", ttl=1.0)
    assert await store.acquire_lock("hearing:h1", "node-a", ttl=1.0)  # renewal by the owner
    await store.release_lock("hearing:h1", "node-b")  # not the owner: no effect
    assert not await store.acquire_lock("hearing:h1", "node-b", ttl=1.0)
    await asyncio.sleep(1.2)
    assert await store.acquire_lock("hearing:h1", "node-b", ttl=1.0)
    await store.release_lock("hearing:h1", "node-b")
    assert await store.acquire_lock("hearing:h1", "node-a", ttl=1.0)


async def test_ping(store):
    assert await store.ping()
