"""What the signaling socket needs of the server behind it, as protocols: signaling speaks the client
protocol and asks a Gateway (the court and its live hearings, wherever they run); it never reaches into a
room, the court's rules or the state itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from .connection import Connection


class SignalingError(Exception):
    """A refusal the client hears as an `error` message; `close`: the connection is closed with that code."""

    def __init__(self, code: str, message: str, close: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close = close


class LiveHearing(Protocol):
    """One joined participant's hearing, as their connection acts on it."""

    async def connect(self, conn: Connection) -> None: ...  # roster and lobby follow the welcome

    async def disconnect(self, conn: Connection) -> None: ...

    async def offer(self, conn: Connection, sdp: str, sources: dict[str, str] | None) -> str: ...

    async def set_self(self, conn: Connection, *, muted: bool | None = None, camera_on: bool | None = None,
                       hand: bool | None = None) -> None: ...

    async def leave(self, conn: Connection) -> None: ...

    async def preview(self, conn: Connection, target_id: str, sdp: str) -> str: ...

    async def preview_stop(self, conn: Connection, target_id: str) -> None: ...


@dataclass
class Joined:
    """A hello the court accepted here: what the welcome says, and the hearing to act on."""

    welcome: dict[str, Any]  # state, participant, hearing, ice_servers, permissions
    hearing: LiveHearing
    claims: Any
    participant: Any


@dataclass
class Elsewhere:
    """Another node carries the hearing: relay to its front."""

    node_id: str
    url: str


class Gateway(Protocol):
    @property
    def http(self) -> aiohttp.ClientSession: ...

    async def hello(self, token: str, hearing_id: str, name: str, *, relayed: bool,
                    unreachable: set[str]) -> Joined | Elsewhere: ...

    def relay_mark(self, address: str) -> str: ...
