"""The HTTP access log, without query strings: media and download links carry their token in the query,
and an access log is read by more people than may watch a recording."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


class AccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s HTTP/%d.%d" %d %s %.3fs "%s"', request.remote, request.method,
                         request.path, request.version.major, request.version.minor, response.status,
                         response.body_length, time, request.headers.get("User-Agent", "-"))
