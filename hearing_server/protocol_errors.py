"""Malformed HTTP itself — an overlong request line or header, a broken request — answered like every other
error: JSON in our words, and a one-line warning instead of a traceback for what is the client's mistake.

aiohttp answers these in its protocol handler, before any middleware runs, with a text/plain body. It has no
hook for that answer, so its request handler class is replaced with a subclass, process-wide, once at
import (the same for TestServer and run_app).
"""

from __future__ import annotations

import json
import logging

import aiohttp.web_server
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import Response, StreamResponse

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 413: "payload_too_large", 431: "headers_too_large"}


class JsonErrorRequestHandler(RequestHandler):
    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> StreamResponse:
        if status >= 500:
            return super().handle_error(request, status, exc, message)  # a real fault: logged in full
        # The class only: the parser's message quotes the request line, and with it any token in the query.
        what = type(exc).__name__ if exc is not None else "malformed request"
        log.warning("malformed request from %s (%s)", request.remote, what)
        if request.writer.output_size > 0:
            raise ConnectionError("the answer had begun; the connection is closed instead")
        body = {"error": {"code": _CODES.get(status, "bad_request"),
                          "message": f"the request could not be read ({what}): a request line or header is too "
                                     "long or malformed"}}
        response = Response(status=status, text=json.dumps(body), content_type="application/json")
        response.force_close()
        return response


def install() -> None:
    aiohttp.web_server.RequestHandler = JsonErrorRequestHandler  # type: ignore[misc]


install()
