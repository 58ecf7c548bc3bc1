"""The one Store protocol every state backend implements."""

from __future__ import annotations

from typing import Protocol

from ..models import Hearing, Participant


class Store(Protocol):
    """Hearings, participants, the lobby queue, single-use invites, revoked tokens and node locks.

    Every method is a coroutine so the Redis twin never blocks the event loop; the in-memory twin keeps
    the same semantics (ordering, atomic "first caller wins") so one test suite covers both.
    """

    async def save_hearing(self, hearing: Hearing) -> None: ...

    async def get_hearing(self, hearing_id: str) -> Hearing | None: ...

    async def list_hearings(self) -> list[Hearing]:
        """Newest first."""
        ...

    async def save_participant(self, participant: Participant) -> None: ...

    async def get_participant(self, hearing_id: str, participant_id: str) -> Participant | None: ...

    async def list_participants(self, hearing_id: str) -> list[Participant]:
        """In the order they were invited."""
        ...

    async def lobby_enter(self, hearing_id: str, participant_id: str, at: float) -> None: ...

    async def lobby_leave(self, hearing_id: str, participant_id: str) -> None: ...

    async def lobby(self, hearing_id: str) -> list[str]:
        """Participant ids waiting in the lobby, first arrival first."""
        ...

    async def consume_invite(self, jti: str, expires_at: float) -> bool:
        """Mark an invite as used. True for the first caller only, across every node."""
        ...

    async def revoke(self, jti: str, expires_at: float) -> None:
        """Refuse a token id from now until it would have expired anyway."""
        ...

    async def is_revoked(self, jti: str) -> bool: ...

    async def acquire_lock(self, name: str, owner: str, ttl: float) -> bool: ...

    async def release_lock(self, name: str, owner: str) -> None: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...
