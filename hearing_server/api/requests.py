"""Reading a request safely: the bearer token and a JSON object body."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..appkeys import COURT
from ..errors import ApiError
from ..tokens import Claims, TokenKind


async def json_body(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    if not request.body_exists:
        if optional:
            return {}
        raise ApiError(400, "bad_request", "a JSON object body is required")
    raw = await request.read()
    if optional and not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        # ValueError covers bad JSON, bad UTF-8 and integers past Python's digit limit; RecursionError
        # deeply nested arrays. Both are the client's mistake, answered in our words.
        raise ApiError(400, "malformed_json", "the body is not valid JSON (or nests too deeply)") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return data


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>'")
    return token.strip()


async def staff(request: web.Request) -> Claims:
    return await request.app[COURT].authenticate(bearer(request), (TokenKind.STAFF,))
