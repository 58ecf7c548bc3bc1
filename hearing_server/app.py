"""The aiohttp application: shared resources under typed keys, created and closed in cleanup_ctx."""

from __future__ import annotations

import logging
from typing import AsyncIterator

from aiohttp import web

from recorder.db import Database, database_url
from recorder.files import private_dir
from recorder.recorder import Recorder
from recorder.storage import Storage

from .api import archive, routes
from .api.signal import signaling_endpoint
from .api.throttle import LoginThrottle
from .appkeys import BUS, COURT, RECORDER, ROOMS, SETTINGS, STORE, THROTTLE, USERS
from .config import Settings
from .court import Court
from .device_tokens import DeviceTokenRegister
from .errors import error_middleware
from .events import EventBus
from .headers import security_headers
from .live.rooms import Rooms
from .media.ice import configure_host_addresses
from .protocol_errors import install as install_protocol_errors
from .redis_client import redis_client
from .resources import web_root
from .routing import LocalRouter, RedisRouter, Router
from .store import Store, create_store
from .tokens import TokenService, load_or_create_secret
from .users import UserDirectory

log = logging.getLogger(__name__)

WEB_ROOT = web_root()

__all__ = ["create_app", "BUS", "COURT", "RECORDER", "ROOMS", "SETTINGS", "STORE", "THROTTLE", "USERS"]


def create_app(settings: Settings, store: Store | None = None, storage: Storage | None = None) -> web.Application:
    """Build the server. Pass `store` or `storage` to share one (tests do); otherwise the configured
    backends are used."""
    install_protocol_errors()
    app = web.Application(middlewares=[error_middleware], client_max_size=256 * 1024)
    app[SETTINGS] = settings
    app.on_response_prepare.append(security_headers(settings))
    app[USERS] = UserDirectory(settings.users_path)
    app[THROTTLE] = LoginThrottle(settings.auth.login_attempts_per_minute)
    configure_host_addresses(settings.media.ice_addresses)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        private_dir(settings.data_path)  # keys, accounts, the audit log: the server's user alone
        own_store = store is None
        app[STORE] = store if store is not None else create_store(
            settings.state, settings.data_path / "revoked-tokens.jsonl")
        bus = app[BUS] = EventBus()
        database = Database(database_url(settings.archive.database_url, settings.data_path),
                            settings.archive.database_pool_size)
        recorder = app[RECORDER] = Recorder(settings, storage, database, settings.node_id)
        assert recorder.archive is not None
        app[COURT] = Court(settings, app[STORE], TokenService(load_or_create_secret(settings.secret_path)), bus,
                           app[USERS], DeviceTokenRegister(settings.device_tokens_path), recorder.archive.revoked)
        try:
            await recorder.start(app[STORE])
        except Exception:
            await recorder.close()
            raise
        router: Router = (RedisRouter(redis_client(settings.state), settings.state.key_prefix, settings.node_id)
                          if settings.state.backend == "redis" else LocalRouter(settings.node_id))
        app[ROOMS] = Rooms(app[COURT], settings, recorder, router)
        await app[ROOMS].start()
        yield
        await app[ROOMS].close()
        await recorder.close()
        if own_store:
            await app[STORE].close()

    app.cleanup_ctx.append(resources)

    async def stop_hearings(app: web.Application) -> None:
        # on_shutdown runs before aiohttp waits for open connections to end: the hearings are handed over
        # (or told "going away") first, so their WebSockets close at once instead of at the timeout.
        if ROOMS in app:
            await app[ROOMS].stop_hearings()

    app.on_shutdown.append(stop_hearings)
    app.add_routes(routes.routes)
    app.add_routes(archive.routes)
    app.router.add_get("/api/signal", signaling_endpoint)
    _add_pages(app)
    return app


def _add_pages(app: web.Application) -> None:
    async def page(name: str) -> web.FileResponse:
        return web.FileResponse(WEB_ROOT / name, headers={"Cache-Control": "no-cache"})

    async def judge(request: web.Request) -> web.StreamResponse:
        return await page("judge.html")

    async def join(request: web.Request) -> web.StreamResponse:
        return await page("join.html")

    async def archive_page(request: web.Request) -> web.StreamResponse:
        return await page("archive.html")

    async def shared_page(request: web.Request) -> web.StreamResponse:
        return await page("shared.html")

    async def root(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/judge")

    app.router.add_get("/", root)
    app.router.add_get("/judge", judge)
    app.router.add_get("/join", join)
    app.router.add_get("/archive", archive_page)
    app.router.add_get("/shared", shared_page)
    app.router.add_static("/static/", WEB_ROOT, append_version=False)
