"""Court events: what happened in a hearing, published once and heard by everyone who cares.

The live rooms (signaling) act on them, and the court record writes them into the transcript.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

log = logging.getLogger(__name__)

# Kinds, in the words the transcript uses.
OPENED = "opened"
LOCKED = "locked"
UNLOCKED = "unlocked"
RECESS = "recess"
RESUMED = "resumed"
CLOSED = "closed"
INVITED = "invited"
LOBBY_ENTERED = "lobby_entered"
LOBBY_LEFT = "lobby_left"
ADMITTED = "admitted"
REJECTED = "rejected"
MUTED = "muted"
UNMUTED = "unmuted"
REMOVED = "removed"
JOINED = "joined"
# Staff who are not running the hearing (another judge, a clerk, an admin) watch it as observers; the
# record says so, with who and when: nobody watches a hearing unseen.
OBSERVER_JOINED = "observer_joined"
DISCONNECTED = "disconnected"
RECONNECTED = "reconnected"
LEFT = "left"
LOG_NOTE = "log_note"
HAND_RAISED = "hand_raised"  # a party asks to speak
HAND_LOWERED = "hand_lowered"
RECORDING_PAUSED = "recording_paused"
RECORDING_RESUMED = "recording_resumed"
# The courtroom's own cameras: noted in the record by the live room, not published on the bus.
CAMERA_OFFLINE = "camera_offline"
CAMERA_ONLINE = "camera_online"
CAMERA_SHOWN = "camera_shown"
CAMERA_HIDDEN = "camera_hidden"
# A participant's media (ICE and DTLS) connected, or failed (data: reason): noted in the record by the live
# room. Someone admitted is present in the record from their first media_connected.
MEDIA_CONNECTED = "media_connected"
MEDIA_FAILED = "media_failed"


@dataclass(frozen=True)
class CourtEvent:
    kind: str
    hearing_id: str
    participant_id: str = ""
    actor: str = ""  # who did it (username or participant id); empty for the system
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)
    origin: str = ""  # the node it happened on, when another node relayed it; empty: this one


Listener = Callable[[CourtEvent], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        # Several nodes: what happens here is also sent to the others (hearing_server.routing.bus), whose
        # events arrive through deliver().
        self.forward: Listener | None = None

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    async def publish(self, event: CourtEvent) -> None:
        await self.deliver(event)
        if self.forward is not None and not event.origin:
            try:
                await self.forward(event)
            except Exception:  # the other nodes resynchronise from the store; this node's hearing goes on
                log.exception("could not send the %s event to the other nodes", event.kind)

    async def deliver(self, event: CourtEvent) -> None:
        """To this node's listeners only."""
        # One failing listener (say, a recorder that lost its disk) must not stop the others from hearing
        # that a person was admitted or removed.
        results = await asyncio.gather(*(listener(event) for listener in list(self._listeners)),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.error("listener failed on %s event", event.kind, exc_info=result)
