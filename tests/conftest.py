"""Shared fixtures: a real server on a free loopback port, real Redis, staff accounts."""

from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from hearing_server.app import create_app
from hearing_server.config import Settings
from hearing_server.roles import Role
from hearing_server.store import MemoryStore, RedisStore, Store
from hearing_server.users import UserDirectory

from .helpers import ApiClient

REDIS_URL = os.environ.get("COURTROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
# A PostgreSQL server the tests may create and drop databases on (scripts/setup-test-env.sh starts one).
POSTGRES_URL = os.environ.get("COURTROOM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
PASSWORD = "correct horse battery"


def make_settings(tmp_path) -> Settings:
    settings = Settings()
    settings.server.data_dir = str(tmp_path / "data")
    settings.media.ice_addresses = ["127.0.0.1"]
    # A smaller composite keeps a two-core CI machine comfortable; the pipeline is the same at 720p.
    settings.media.width = 640
    settings.media.height = 360
    settings.media.video_bitrate = 600_000
    settings.media.reconnect_grace_seconds = 8
    settings.media.workers = 0  # media in the test's own process; tests/test_workers.py starts real workers
    return settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path)


@asynccontextmanager
async def redis_store() -> AsyncIterator[RedisStore]:
    """A RedisStore on the real server, under a key prefix of its own that is wiped afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = RedisStore(client, key_prefix=prefix)
    try:
        yield store
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await store.close()


@pytest.fixture(params=["memory", "redis"])
async def store(request) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    async with redis_store() as redis:
        yield redis


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A database of its own on the real PostgreSQL server, dropped afterwards; yields its URL."""
    import asyncpg

    name = f"courtroom_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{POSTGRES_URL}/{name}"
    finally:
        admin = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url_for_test(request, tmp_path) -> AsyncIterator[str]:
    """The archive database twins: an SQLite file (the embedded default) and a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.db'}"
        return
    async with postgres_database() as url:
        yield url


def add_staff(settings: Settings) -> None:
    users = UserDirectory(settings.users_path)
    users.add("judge", Role.JUDGE, PASSWORD, "Judge Amira Haddad")
    users.add("judge2", Role.JUDGE, PASSWORD, "Judge Bo Lindqvist")
    users.add("clerk", Role.CLERK, PASSWORD, "Clerk Carmen Ortiz")
    users.add("admin", Role.ADMIN, PASSWORD, "Court IT")
    users.add("courtroom1", Role.COURTROOM, PASSWORD, "Courtroom 1 PC", courtroom="Courtroom 3")


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[TestServer]:
    add_staff(settings)
    server = TestServer(create_app(settings, MemoryStore()), host="127.0.0.1", port=0)
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def api(server: TestServer) -> AsyncIterator[ApiClient]:
    client = ApiClient(str(server.make_url("")).rstrip("/"))
    yield client
    await client.close()
