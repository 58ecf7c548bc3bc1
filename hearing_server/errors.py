"""API errors: every failure leaves the server as JSON naming the problem, never as aiohttp's HTML page."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from recorder.db import DatabaseUnavailable

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A client-visible error: an HTTP status, a stable machine code and a human sentence."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, "bad_request", message, **details)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def conflict(code: str, message: str) -> ApiError:
    return ApiError(409, code, message)


def json_error(status: int, code: str, message: str, **details: Any) -> web.Response:
    return web.json_response(ApiError(status, code, message, **details).body(), status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # Routing errors (404/405) and aiohttp's own 413 become JSON too.
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status, "http_error")
        response = json_error(exc.status, code, exc.reason or "error")
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]  # RFC 9110: a 405 says what is allowed
        return response
    except DatabaseUnavailable as exc:
        # The archive's database is away: the hearings go on; the archive answers again when it is back.
        log.error("%s %s: the archive database is unreachable: %s", request.method, request.path, exc)
        response = json_error(503, "database_unavailable", "the archive's database is unreachable for a moment; "
                                                           "try again in a few seconds")
        response.headers["Retry-After"] = "5"
        return response
    except (RedisError, ConnectionError) as exc:
        # The shared state is away (Redis restarting): the hearings' media goes on; the call can be retried.
        log.error("%s %s: the state store is unreachable: %s", request.method, request.path, exc)
        return json_error(503, "state_unavailable", "the court's shared state is unreachable for a moment; "
                                                    "try again in a few seconds")
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal_error", "the server failed to handle this request")
