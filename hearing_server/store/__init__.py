"""Hearing state behind one protocol, with an in-memory twin (embedded default) and a Redis twin."""

from pathlib import Path

from ..config import StateSettings
from ..redis_client import redis_client
from .base import Store
from .memory import MemoryStore
from .redis import RedisStore

__all__ = ["Store", "MemoryStore", "RedisStore", "create_store"]


def create_store(state: StateSettings, revocations: Path | None = None) -> Store:
    """`revocations`: where the memory store keeps revoked token ids across restarts (Redis keeps its own)."""
    if state.backend == "redis":
        return RedisStore(redis_client(state), key_prefix=state.key_prefix)
    return MemoryStore(revocations)
