"""Who looked at, downloaded or handed out which recording: an append-only, fsynced audit log."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from .journal import Journal, read_journal
from .transcript import utc_iso

# What the archive writes here; entries() returns the newest first, as a clerk reads a log.
ACTIONS = ("view", "play", "download", "verify", "share", "share_revoked", "shared_view", "shared_play",
           "shared_download")


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._journal = Journal(path)
        path.chmod(0o600)  # who watched which hearing is nobody else's business on this machine
        self._lock = asyncio.Lock()

    async def record(self, action: str, hearing_id: str, actor: str, role: str, client: str = "",
                     **details: Any) -> None:
        entry = {"at": utc_iso(time.time()), "action": action, "hearing_id": hearing_id, "actor": actor,
                 "role": role, "client": client}
        if details:
            entry["details"] = details
        async with self._lock:  # one writer at a time keeps lines whole
            await asyncio.to_thread(self._journal.append, entry)

    async def entries(self, hearing_id: str = "", limit: int = 500) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            rows = [e for e in read_journal(self.path) if not hearing_id or e.get("hearing_id") == hearing_id]
            return rows[-limit:][::-1]

        return await asyncio.to_thread(read)

    def close(self) -> None:
        self._journal.close()


