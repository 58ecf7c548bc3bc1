"""The typed keys under which the application keeps its shared resources (aiohttp's AppKey).

In a module of their own, importing nothing of the project at run time, so that the app factory, the HTTP
routes and the signaling endpoint can all name them without importing each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from recorder.recorder import Recorder

    from .api.throttle import LoginThrottle
    from .config import Settings
    from .court import Court
    from .events import EventBus
    from .live.rooms import Rooms
    from .store import Store
    from .users import UserDirectory

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STORE: web.AppKey[Store] = web.AppKey("store")
COURT: web.AppKey[Court] = web.AppKey("court")
ROOMS: web.AppKey[Rooms] = web.AppKey("rooms")
USERS: web.AppKey[UserDirectory] = web.AppKey("users")
BUS: web.AppKey[EventBus] = web.AppKey("bus")
THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("throttle")
RECORDER: web.AppKey[Recorder] = web.AppKey("recorder")
