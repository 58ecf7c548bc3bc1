"""The one way this server connects to Redis: a URL, or the master that Redis Sentinel names.

The state store and the Router share the settings, so that a Sentinel failover moves both at once: redis-py's
SentinelConnectionPool asks the sentinels for the master on every new connection, and a connection that
finds a replica (a stale master after a failover) is dropped and made again.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel
from redis.connection import parse_url

from .config import StateSettings

# Leave the media alone when Redis hangs: a call that takes this long fails and is retried by its caller.
SOCKET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 2.0


def redis_client(state: StateSettings, **options: Any) -> aioredis.Redis:
    # health_check_interval: an idle connection (the bus' subscription) is pinged before use, so a Redis that
    # vanished without closing the socket is noticed.
    options = {"decode_responses": True, "socket_timeout": SOCKET_TIMEOUT,
               "socket_connect_timeout": CONNECT_TIMEOUT, "health_check_interval": 10, **options}
    if not state.redis_sentinels:
        return aioredis.Redis.from_url(state.redis_url, **options)
    # From the URL only what is not the address: password, username, database, TLS.
    from_url = {k: v for k, v in parse_url(state.redis_url).items() if k not in ("host", "port", "path")}
    sentinels = [(host, int(port)) for host, _, port in (s.rpartition(":") for s in state.redis_sentinels)]
    sentinel = Sentinel(sentinels, socket_timeout=CONNECT_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT)
    return sentinel.master_for(state.redis_sentinel_master, **{**from_url, **options})
