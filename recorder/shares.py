"""The register of share links handed out, and of every token taken back before its time, in the archive's
database: every node sees a revocation the moment it is made, and a restart forgets none."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .db.database import Database
from .db.schema import revoked_tokens, shares


class ShareRegister:
    def __init__(self, database: Database) -> None:
        self.db = database

    async def add(self, share_id: str, hearing_id: str, recipient: str, made_by: str, expires_at: float) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(insert(shares).values(share_id=share_id, hearing_id=hearing_id, recipient=recipient,
                                                     made_by=made_by, made_at=time.time(), expires_at=expires_at))

    async def get(self, share_id: str) -> dict[str, Any] | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(select(shares).where(shares.c.share_id == share_id))).mappings().first()
        return dict(row) if row is not None else None

    async def of_recording(self, hearing_id: str) -> list[dict[str, Any]]:
        """The shares of one recording, newest first."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(shares).where(shares.c.hearing_id == hearing_id)
                                       .order_by(shares.c.made_at.desc()))).mappings().all()
        return [dict(r) for r in rows]

    async def revoke(self, share_id: str, by: str) -> bool:
        """Take a share back (and its token with it); False when it was already revoked."""
        async with self.db.transaction() as conn:
            result = await conn.execute(update(shares).where(shares.c.share_id == share_id,
                                                             shares.c.revoked_at.is_(None))
                                        .values(revoked_at=time.time(), revoked_by=by))
            row = (await conn.execute(select(shares.c.expires_at).where(shares.c.share_id == share_id))).first()
            if row is not None:
                await _remember(conn, self.db.dialect, share_id, float(row.expires_at) + 60)
            return bool(result.rowcount)


class RevokedTokens:
    """Token ids (JWT `jti`) revoked before they expire: log-outs, removed participants, shares."""

    def __init__(self, database: Database) -> None:
        self.db = database

    async def revoke(self, token_id: str, expires_at: float) -> None:
        async with self.db.transaction() as conn:
            await _remember(conn, self.db.dialect, token_id, expires_at)

    async def is_revoked(self, token_id: str) -> bool:
        async with self.db.connect() as conn:
            row = (await conn.execute(select(revoked_tokens.c.expires_at)
                                      .where(revoked_tokens.c.token_id == token_id))).first()
        return row is not None and float(row.expires_at) > time.time()

    async def forget_expired(self) -> int:
        """A revocation is kept until the token would have expired anyway; then it is of no use."""
        async with self.db.transaction() as conn:
            result = await conn.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < time.time()))
            return int(result.rowcount or 0)


async def _remember(conn: Any, dialect: str, token_id: str, expires_at: float) -> None:
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = maker(revoked_tokens).values(token_id=token_id, expires_at=expires_at, revoked_at=time.time())
    await conn.execute(statement.on_conflict_do_update(
        index_elements=[revoked_tokens.c.token_id], set_={"expires_at": statement.excluded.expires_at}))
