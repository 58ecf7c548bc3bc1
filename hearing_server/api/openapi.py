"""The OpenAPI 3.1 description of the HTTP API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from .. import __version__


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Courtroom hearing server", "version": __version__},
        "paths": {},
    }
