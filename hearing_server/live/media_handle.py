"""How the front reaches a hearing's media, wherever it runs: one interface, and its in-process form.

The worker form (hearing_server.live.worker_client) sends the same calls over a pipe to a media worker.
Every call is a coroutine, in the order the front makes them (the worker keeps that order too).
"""

from __future__ import annotations

from typing import Any, Protocol

from recorder.recorder import Recorder

from ..config import Settings
from ..events import CourtEvent
from ..models import Hearing, Participant
from .media_room import MediaListener, MediaRoom


class MediaHandle(Protocol):
    async def update_hearing(self, hearing: Hearing, actor: str = "") -> None: ...

    async def update_people(self, people: list[Participant]) -> None: ...

    async def note_event(self, event: CourtEvent) -> None: ...

    async def answer_offer(self, pid: str, role: str, sdp: str, sources: dict[str, str] | None = None) -> str: ...

    async def drop(self, pid: str) -> None: ...

    async def start_preview(self, viewer_id: str, target_id: str, sdp: str) -> str: ...

    async def stop_preview(self, viewer_id: str, target_id: str) -> None: ...

    async def camera_list(self) -> list[dict[str, Any]]: ...

    async def show_camera(self, key: str, shown: bool, actor: str) -> dict[str, Any]: ...

    async def close(self, finished: bool) -> None: ...


class InProcessMedia:
    """The hearing's media in the front's own process (media.workers = 0): direct calls."""

    def __init__(self, hearing: Hearing, settings: Settings, recorder: Recorder | None,
                 listener: MediaListener) -> None:
        self.room = MediaRoom(hearing, settings, recorder, listener)

    async def update_hearing(self, hearing: Hearing, actor: str = "") -> None:
        self.room.update_hearing(hearing, actor)

    async def update_people(self, people: list[Participant]) -> None:
        self.room.update_people(people)

    async def note_event(self, event: CourtEvent) -> None:
        self.room.note_event(event)

    async def answer_offer(self, pid: str, role: str, sdp: str, sources: dict[str, str] | None = None) -> str:
        return await self.room.answer_offer(pid, role, sdp, sources)

    async def drop(self, pid: str) -> None:
        await self.room.drop(pid)

    async def start_preview(self, viewer_id: str, target_id: str, sdp: str) -> str:
        return await self.room.start_preview(viewer_id, target_id, sdp)

    async def stop_preview(self, viewer_id: str, target_id: str) -> None:
        await self.room.stop_preview(viewer_id, target_id)

    async def camera_list(self) -> list[dict[str, Any]]:
        return self.room.camera_list()

    async def show_camera(self, key: str, shown: bool, actor: str) -> dict[str, Any]:
        return self.room.show_camera(key, shown, actor)

    async def close(self, finished: bool) -> None:
        await self.room.close(finished)
