"""Security headers on every answer: a strict Content-Security-Policy for the pages, no framing, no
sniffing, no referrer (join and share links carry tokens), HSTS when the server speaks TLS itself, and a
Server header that does not name the software's version."""

from __future__ import annotations

from typing import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from .config import Settings


def content_security_policy(settings: Settings) -> str:
    media = ["'self'", "blob:"]
    if settings.storage.backend == "s3" and settings.storage.s3_endpoint_url:
        # The archive's player streams straight from the store with a presigned URL.
        parts = urlsplit(settings.storage.s3_endpoint_url)
        media.append(f"{parts.scheme}://{parts.netloc}")
    elif settings.storage.backend == "s3":
        media.append("https://*.amazonaws.com")
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",  # the pages are ES modules from /static: no inline script, no eval
        "style-src 'self'",
        "img-src 'self' data: blob:",  # QR codes and the icon are data: URIs
        "media-src " + " ".join(media),
        "connect-src 'self'",  # the API and the signaling WebSocket, same origin
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def security_headers(settings: Settings) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An on_response_prepare hook that sets the headers on every response, errors and files included."""
    policy = content_security_policy(settings)
    hsts = bool(settings.server.tls_cert_file)

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        headers["Server"] = "courtroom"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Content-Security-Policy"] = policy
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if hsts:
            headers["Strict-Transport-Security"] = "max-age=31536000"

    return add_headers
