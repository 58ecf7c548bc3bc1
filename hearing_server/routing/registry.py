"""The node registry and the hearing → worker map, with a memory twin (one node, nothing to install) and a
Redis twin (many nodes), as LiveKit keeps its node registry and room → node map.

- Every node writes its NodeInfo every HEARTBEAT_SECONDS; one not heard of for STALE_SECONDS is dead to
  the others (its key expires by itself in Redis).
- A hearing is carried by exactly one worker: `claim` takes a lock with a TTL (SET NX PX) and records the
  worker; the carrier renews it with every heartbeat; another node may take the hearing over only once the
  lock has expired (the carrier is dead), so two workers never own one hearing.
"""

from __future__ import annotations

import time
from typing import Protocol

import redis.asyncio as aioredis

from .messages import NodeInfo, decode_node, encode

HEARTBEAT_SECONDS = 2.0
STALE_SECONDS = 5.0
CLAIM_SECONDS = 6.0  # a little over two missed heartbeats: a dead carrier's hearings move within seconds

# Renew or take a hearing's lock: ours already, or free. Returns 1 when we hold it afterwards.
_CLAIM = """
local held = redis.call('get', KEYS[1])
if held == false or held == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('hset', KEYS[2], ARGV[3], ARGV[1])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  redis.call('hdel', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


class NodeRegistry(Protocol):
    async def heartbeat(self, node: NodeInfo) -> None: ...

    async def nodes(self) -> list[NodeInfo]: ...

    async def forget(self, node_id: str) -> None: ...

    async def claim(self, hearing_id: str, worker_id: str, ttl: float = CLAIM_SECONDS) -> bool: ...

    async def release(self, hearing_id: str, worker_id: str) -> None: ...

    async def carrier(self, hearing_id: str) -> str | None: ...

    async def close(self) -> None: ...


class MemoryRegistry:
    """One node: the front and its own workers. The same rules as Redis, in a dict."""

    def __init__(self) -> None:
        self._nodes: dict[str, tuple[NodeInfo, float]] = {}
        self._claims: dict[str, tuple[str, float]] = {}

    async def heartbeat(self, node: NodeInfo) -> None:
        self._nodes[node.node_id] = (node, time.monotonic())

    async def nodes(self) -> list[NodeInfo]:
        now = time.monotonic()
        return [n for n, seen in self._nodes.values() if now - seen <= STALE_SECONDS]

    async def forget(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)

    async def claim(self, hearing_id: str, worker_id: str, ttl: float = CLAIM_SECONDS) -> bool:
        held = self._claims.get(hearing_id)
        now = time.monotonic()
        if held is not None and held[0] != worker_id and held[1] > now:
            return False
        self._claims[hearing_id] = (worker_id, now + ttl)
        return True

    async def release(self, hearing_id: str, worker_id: str) -> None:
        held = self._claims.get(hearing_id)
        if held is not None and held[0] == worker_id:
            del self._claims[hearing_id]

    async def carrier(self, hearing_id: str) -> str | None:
        held = self._claims.get(hearing_id)
        return held[0] if held is not None and held[1] > time.monotonic() else None

    async def close(self) -> None:
        pass


class RedisRegistry:
    """Many nodes on one Redis. Keys: <prefix>node:<id> (NodeInfo JSON, expires), <prefix>nodes (a set of
    ids), <prefix>carrier:<hearing> (the lock, with a TTL) and <prefix>carriers (hearing → worker)."""

    def __init__(self, client: aioredis.Redis, key_prefix: str = "courtroom:") -> None:
        self._redis = client
        self._p = self.key_prefix = key_prefix
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, key_prefix: str = "courtroom:") -> "RedisRegistry":
        return cls(aioredis.Redis.from_url(url, decode_responses=True), key_prefix)

    async def heartbeat(self, node: NodeInfo) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{self._p}node:{node.node_id}", encode(node), px=int(STALE_SECONDS * 1000))
            pipe.sadd(f"{self._p}nodes", node.node_id)
            await pipe.execute()

    async def nodes(self) -> list[NodeInfo]:
        ids = sorted(str(i) for i in await self._redis.smembers(f"{self._p}nodes"))  # decode_responses
        if not ids:
            return []
        raws = await self._redis.mget([f"{self._p}node:{i}" for i in ids])
        gone = [i for i, raw in zip(ids, raws) if raw is None]
        if gone:  # expired: the node stopped heart-beating
            await self._redis.srem(f"{self._p}nodes", *gone)
        return [decode_node(raw) for raw in raws if raw is not None]

    async def forget(self, node_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"{self._p}node:{node_id}")
            pipe.srem(f"{self._p}nodes", node_id)
            await pipe.execute()

    async def claim(self, hearing_id: str, worker_id: str, ttl: float = CLAIM_SECONDS) -> bool:
        keys = [f"{self._p}carrier:{hearing_id}", f"{self._p}carriers"]
        return bool(await self._claim(keys=keys, args=[worker_id, max(1, int(ttl * 1000)), hearing_id]))

    async def release(self, hearing_id: str, worker_id: str) -> None:
        await self._release(keys=[f"{self._p}carrier:{hearing_id}", f"{self._p}carriers"],
                            args=[worker_id, hearing_id])

    async def carrier(self, hearing_id: str) -> str | None:
        value = await self._redis.get(f"{self._p}carrier:{hearing_id}")
        return str(value) if value is not None else None

    async def close(self) -> None:
        await self._redis.aclose()
