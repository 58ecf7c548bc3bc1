"""The archive's database: one engine, PostgreSQL (asyncpg) for a court system of many nodes, SQLite
(aiosqlite) as the embedded default; migrations (Alembic) applied at start-up."""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

MIGRATIONS = "recorder.db:migrations"
# Two nodes starting at once must not both create the tables: PostgreSQL's session lock, one number.
_UPGRADE_LOCK = 0x636F7572  # "cour"


class DatabaseUnavailable(Exception):
    """The archive's database cannot be reached (the API answers 503 `database_unavailable`)."""


def database_url(configured: str, data_path: Path) -> str:
    """The SQLAlchemy URL of the configured database, with its async driver."""
    if not configured:
        return f"sqlite+aiosqlite:///{(data_path / 'archive.db').resolve()}"
    url = make_url(configured)
    driver = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg",
              "sqlite": "sqlite+aiosqlite"}.get(url.drivername, url.drivername)
    if driver not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ValueError(f"archive.database_url: {url.drivername!r} is not supported (postgresql or sqlite)")
    return url.set(drivername=driver).render_as_string(hide_password=False)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


class Database:
    def __init__(self, url: str, pool_size: int = 5) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()  # "postgresql" | "sqlite"
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.dialect == "postgresql":
            options.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=10,
                           connect_args={"timeout": 5, "command_timeout": 30})
        else:
            options.update(connect_args={"timeout": 30})
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if self.dialect == "sqlite":
            _sqlite_pragmas(self.engine)
            _private_file(make_url(url).database or "")
        # SQLite allows one writer; within this process they queue here rather than on its busy timeout.
        self.write_lock = asyncio.Lock() if self.dialect == "sqlite" else None

    @property
    def name(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    async def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision` (the newest by default); safe with several nodes starting at once."""
        async with self.connect() as conn:
            if self.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _UPGRADE_LOCK})
            try:
                await conn.run_sync(_upgrade, revision)
                await conn.commit()
            finally:
                if self.dialect == "postgresql":
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _UPGRADE_LOCK})
                    await conn.commit()

    async def revision(self) -> str | None:
        async with self.connect() as conn:
            return await conn.run_sync(_current)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn:
                yield conn
        except (OperationalError, DBAPIError, OSError, asyncio.TimeoutError) as exc:
            if isinstance(exc, DBAPIError) and not _is_outage(exc):
                raise
            raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction, committed when the block ends; a writer on SQLite waits its turn."""
        if self.write_lock is not None:
            async with self.write_lock:
                async with self._begin() as conn:
                    yield conn
        else:
            async with self._begin() as conn:
                yield conn

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.connect() as conn:
            conn.sync_connection.info["immediate"] = True  # type: ignore[union-attr]
            async with conn.begin():
                yield conn

    async def close(self) -> None:
        await self.engine.dispose()


def _is_outage(exc: DBAPIError) -> bool:
    """A lost or refused connection (retry later), not a bad statement (a bug, raised as such)."""
    if exc.connection_invalidated:
        return True
    name = type(exc.orig).__name__ if exc.orig is not None else ""
    return any(word in name for word in ("Connection", "CannotConnect", "TooManyConnections", "AdminShutdown",
                                         "CannotConnectNow", "InterfaceError")) or \
        "connection" in str(exc).lower() and "closed" in str(exc).lower()


def _private_file(path: str) -> None:
    """Who watched which hearing is nobody else's business on this machine: the file (and the WAL and
    shared-memory files SQLite makes with the same mode) is the server's user's alone."""
    if not path or path == ":memory:":
        return
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun by us (below), so that a writer takes SQLite's write lock at BEGIN and two
        # processes on one file queue on busy_timeout instead of failing when a reader upgrades to a writer.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=FULL")  # an audit entry written is an audit entry kept
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.pop("immediate", False) else "BEGIN")
