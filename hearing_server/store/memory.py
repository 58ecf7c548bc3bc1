"""In-process state: the embedded default, nothing to install."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from recorder.files import write_private

from ..models import Hearing, Participant, from_dict, to_dict


class MemoryStore:
    def __init__(self, revocations: Path | None = None) -> None:
        """`revocations`: a file that keeps revoked token ids across restarts. Hearings live in memory and
        end with the process, but staff tokens are signed with a key on disk and outlive it: a token
        revoked at log-out must stay revoked when the server comes back."""
        # Records are stored as dicts, not objects, so a caller mutating what it got back cannot change
        # state behind the store's back (the Redis twin behaves the same way by construction).
        self._hearings: dict[str, dict] = {}
        self._participants: dict[str, dict[str, dict]] = {}
        self._lobby: dict[str, dict[str, float]] = {}
        self._used_invites: dict[str, float] = {}
        self._revoked: dict[str, float] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        self._mutex = asyncio.Lock()
        self._revocations = revocations
        if revocations is not None:
            self._load_revocations(revocations)

    def _load_revocations(self, path: Path) -> None:
        current = time.time()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            try:
                entry = json.loads(line)
                jti, until = str(entry["jti"]), float(entry["until"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line after a crash
            if until > current:
                self._revoked[jti] = until
        # Start each run with only what is still in force, so the file never grows beyond that.
        write_private(path, "".join(_revocation_line(j, u) for j, u in self._revoked.items()).encode())

    def _remember_revocation(self, jti: str, until: float) -> None:
        assert self._revocations is not None
        fd = os.open(self._revocations, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(_revocation_line(jti, until))
            handle.flush()
            os.fsync(handle.fileno())

    async def save_hearing(self, hearing: Hearing) -> None:
        self._hearings[hearing.id] = to_dict(hearing)

    async def get_hearing(self, hearing_id: str) -> Hearing | None:
        data = self._hearings.get(hearing_id)
        return from_dict(Hearing, data) if data else None

    async def list_hearings(self) -> list[Hearing]:
        hearings = [from_dict(Hearing, d) for d in self._hearings.values()]
        return sorted(hearings, key=lambda h: h.created_at, reverse=True)

    async def save_participant(self, participant: Participant) -> None:
        self._participants.setdefault(participant.hearing_id, {})[participant.id] = to_dict(participant)

    async def get_participant(self, hearing_id: str, participant_id: str) -> Participant | None:
        data = self._participants.get(hearing_id, {}).get(participant_id)
        return from_dict(Participant, data) if data else None

    async def list_participants(self, hearing_id: str) -> list[Participant]:
        people = [from_dict(Participant, d) for d in self._participants.get(hearing_id, {}).values()]
        return sorted(people, key=lambda p: p.invited_at)

    async def lobby_enter(self, hearing_id: str, participant_id: str, at: float) -> None:
        self._lobby.setdefault(hearing_id, {}).setdefault(participant_id, at)

    async def lobby_leave(self, hearing_id: str, participant_id: str) -> None:
        self._lobby.get(hearing_id, {}).pop(participant_id, None)

    async def lobby(self, hearing_id: str) -> list[str]:
        waiting = self._lobby.get(hearing_id, {})
        return sorted(waiting, key=lambda pid: waiting[pid])

    async def consume_invite(self, jti: str, expires_at: float) -> bool:
        self._expire(self._used_invites)
        if jti in self._used_invites:
            return False
        self._used_invites[jti] = expires_at
        return True

    async def revoke(self, jti: str, expires_at: float) -> None:
        self._expire(self._revoked)
        self._revoked[jti] = expires_at
        if self._revocations is not None:
            await asyncio.to_thread(self._remember_revocation, jti, expires_at)

    async def is_revoked(self, jti: str) -> bool:
        expires_at = self._revoked.get(jti)
        return expires_at is not None and expires_at > time.time()

    async def acquire_lock(self, name: str, owner: str, ttl: float) -> bool:
        async with self._mutex:
            held = self._locks.get(name)
            if held and held[1] > time.monotonic() and held[0] != owner:
                return False
            self._locks[name] = (owner, time.monotonic() + ttl)
            return True

    async def release_lock(self, name: str, owner: str) -> None:
        async with self._mutex:
            held = self._locks.get(name)
            if held and held[0] == owner:
                del self._locks[name]

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        pass

    @staticmethod
    def _expire(table: dict[str, float]) -> None:
        current = time.time()
        for key in [k for k, exp in table.items() if exp <= current]:
            del table[key]


def _revocation_line(jti: str, until: float) -> str:
    return json.dumps({"jti": jti, "until": until}) + "\n"
