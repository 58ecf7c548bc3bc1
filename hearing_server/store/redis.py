"""Redis state (redis-py asyncio): the twin that lets several nodes share hearings."""

from __future__ import annotations

import json
import math
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..models import Hearing, Participant, from_dict, to_dict

# Delete a lock only if we still own it: a lock that expired and was taken by another node is not ours.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""


class RedisStore:
    def __init__(self, client: aioredis.Redis, key_prefix: str = "courtroom:") -> None:
        self._redis = client
        self._p = key_prefix

    @classmethod
    def from_url(cls, url: str, key_prefix: str = "courtroom:") -> "RedisStore":
        return cls(aioredis.Redis.from_url(url, decode_responses=True), key_prefix)

    def _k(self, *parts: str) -> str:
        return self._p + ":".join(parts)

    async def save_hearing(self, hearing: Hearing) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._k("hearing", hearing.id), json.dumps(to_dict(hearing)))
            pipe.zadd(self._k("hearings"), {hearing.id: hearing.created_at})
            await pipe.execute()

    async def get_hearing(self, hearing_id: str) -> Hearing | None:
        raw = await self._redis.get(self._k("hearing", hearing_id))
        return from_dict(Hearing, json.loads(raw)) if raw else None

    async def list_hearings(self) -> list[Hearing]:
        ids = await self._redis.zrevrange(self._k("hearings"), 0, -1)
        if not ids:
            return []
        raws = await self._redis.mget([self._k("hearing", str(i)) for i in ids])
        return [from_dict(Hearing, json.loads(r)) for r in raws if r]

    async def save_participant(self, participant: Participant) -> None:
        await self._redis.hset(self._k("participants", participant.hearing_id), participant.id,
                               json.dumps(to_dict(participant)))

    async def get_participant(self, hearing_id: str, participant_id: str) -> Participant | None:
        raw = await self._redis.hget(self._k("participants", hearing_id), participant_id)
        return from_dict(Participant, json.loads(raw)) if raw else None

    async def list_participants(self, hearing_id: str) -> list[Participant]:
        raws = await self._redis.hvals(self._k("participants", hearing_id))
        people = [from_dict(Participant, json.loads(r)) for r in raws]
        return sorted(people, key=lambda p: p.invited_at)

    async def lobby_enter(self, hearing_id: str, participant_id: str, at: float) -> None:
        await self._redis.zadd(self._k("lobby", hearing_id), {participant_id: at}, nx=True)

    async def lobby_leave(self, hearing_id: str, participant_id: str) -> None:
        await self._redis.zrem(self._k("lobby", hearing_id), participant_id)

    async def lobby(self, hearing_id: str) -> list[str]:
        return [str(pid) for pid in await self._redis.zrange(self._k("lobby", hearing_id), 0, -1)]

    async def consume_invite(self, jti: str, expires_at: float) -> bool:
        ttl = max(1, math.ceil(expires_at - time.time()))
        return bool(await self._redis.set(self._k("invite-used", jti), "1", nx=True, ex=ttl))

    async def revoke(self, jti: str, expires_at: float) -> None:
        ttl = max(1, math.ceil(expires_at - time.time()))
        await self._redis.set(self._k("revoked", jti), "1", ex=ttl)

    async def is_revoked(self, jti: str) -> bool:
        return bool(await self._redis.exists(self._k("revoked", jti)))

    async def acquire_lock(self, name: str, owner: str, ttl: float) -> bool:
        key = self._k("lock", name)
        ms = max(1, int(ttl * 1000))
        if await self._redis.set(key, owner, nx=True, px=ms):
            return True
        # Re-entrant for the owner: renewing a lock we hold extends it.
        if await self._redis.get(key) == owner:
            await self._redis.pexpire(key, ms)
            return True
        return False

    async def release_lock(self, name: str, owner: str) -> None:
        await self._redis.eval(_RELEASE, 1, self._k("lock", name), owner)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False  # /api/health then says "degraded" (503) instead of failing itself

    async def close(self) -> None:
        await self._redis.aclose()
