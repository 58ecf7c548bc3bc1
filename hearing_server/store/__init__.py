"""Hearing state behind one protocol, with an in-memory twin (embedded default) and a Redis twin."""

from pathlib import Path

from .base import Store
from .memory import MemoryStore
from .redis import RedisStore

__all__ = ["Store", "MemoryStore", "RedisStore", "create_store"]


def create_store(backend: str, redis_url: str = "", key_prefix: str = "courtroom:",
                 revocations: Path | None = None) -> Store:
    """`revocations`: where the memory store keeps revoked token ids across restarts (Redis keeps its own)."""
    if backend == "redis":
        return RedisStore.from_url(redis_url, key_prefix=key_prefix)
    return MemoryStore(revocations)
