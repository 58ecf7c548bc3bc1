"""The server's DTLS, adapted from aiortc's in two places: which cipher suites it accepts, and why a
handshake failed.

Cipher suites. aiortc (1.16) offers only ECDHE-ECDSA suites, two of them CBC. When a client answers an
`actpass` offer — or is answered `active` — the client is the DTLS server and presents its own certificate;
a client with an RSA certificate (GStreamer's webrtcbin, SIP/WebRTC gateways, older embedded stacks) then
has no suite in common with us and the handshake ends in "no shared cipher". The server's list here is the
AEAD, forward-secret suites for both certificate kinds, and nothing else: the CBC suites are dropped, which
RFC 8827 permits (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 is the one every WebRTC endpoint must have).
DTLS 1.2's `set_cipher_list` does not touch TLS 1.3 suites, which DTLS 1.2 does not use.

Why it failed. aiortc keeps the SSL error of a failed handshake, and a fingerprint mismatch, to a debug log
line naming neither the peer connection nor the participant, and says nothing of the alerts: when the other
side gives up (it found no suite in common), OpenSSL's error list here is empty and only the alert it sent
tells why. `watch_handshake` gives each peer connection a context (a contextvar that aiortc's connect task
inherits) in which a HandshakeWatch hears both: the debug line through a logging filter, the alerts through
OpenSSL's info callback on the context made for that handshake. The participant's peer shows its reason to
the court.

Both reach into aiortc: `RTCCertificate._create_ssl_context` and the peer connection's (name-mangled)
certificate list. tests/test_dtls.py fails loudly if a new aiortc moves either.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from typing import Iterator

from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcdtlstransport import RTCCertificate, SRTPProtectionProfile
from OpenSSL import SSL

# AEAD and forward-secret only; ECDSA first (our own certificate is ECDSA P-256, as browsers' are).
CIPHER_SUITES = ":".join([
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
])

_AIORTC_DTLS_LOG = "aiortc.rtcdtlstransport"
_FAILED = re.compile(r"DTLS handshake failed \((.*)\)\s*$")

# TLS alert descriptions (RFC 8446 section 6, the ones a DTLS 1.2 handshake meets)
ALERTS = {10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow", 40: "handshake_failure",
          42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
          45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
          50: "decode_error", 51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
          80: "internal_error", 86: "inappropriate_fallback", 109: "missing_extension",
          110: "unsupported_extension", 112: "unrecognized_name", 116: "certificate_required",
          120: "no_application_protocol"}
CLOSE_NOTIFY = 0


class HandshakeWatch:
    """What went wrong in one peer connection's DTLS handshake: OpenSSL's own error (through aiortc's debug
    line), a fingerprint that did not match, and the last alert either side sent."""

    def __init__(self) -> None:
        self.error = ""
        self.alert: tuple[str, int] | None = None  # ("sent" | "received", description)

    def _aiortc_said(self, detail: str) -> None:
        reasons = [r for r in re.findall(r"'([^']*)'\)", detail) if r]
        self.error = "; ".join(reasons) if reasons else detail.removeprefix("error ").strip(" []")

    def _alert(self, direction: str, description: int) -> None:
        if description != CLOSE_NOTIFY:
            self.alert = (direction, description)

    @property
    def failed(self) -> bool:
        return bool(self.error or self.alert)

    def reason(self) -> str:
        """In words for the court's console and the log."""
        if self.error == "fingerprint mismatch":
            return "DTLS fingerprint mismatch: the certificate does not match the offer's a=fingerprint"
        alert = ""
        if self.alert is not None:
            direction, code = self.alert
            name = ALERTS.get(code, f"alert {code}")
            alert = (f"the participant's side refused it ({name})" if direction == "received"
                     else f"the server refused it ({name})")
            if code == 40 and direction == "received" and not self.error:
                alert += ", often no cipher suite in common"
        return "DTLS handshake failed: " + ("; ".join(p for p in (self.error, alert) if p) or "unknown error")


_current_watch: contextvars.ContextVar[HandshakeWatch | None] = contextvars.ContextVar("dtls_watch",
                                                                                      default=None)


class CourtCertificate(RTCCertificate):
    """aiortc's certificate (ECDSA P-256, a fresh one per peer connection), with the server's suites."""

    def _create_ssl_context(self, srtp_profiles: list[SRTPProtectionProfile]) -> SSL.Context:
        context = super()._create_ssl_context(srtp_profiles)
        context.set_cipher_list(CIPHER_SUITES.encode())
        # Made in aiortc's connect task, when the handshake starts: the watch of watch_handshake is here.
        watch = _current_watch.get()
        if watch is not None:
            def on_info(_connection: SSL.Connection, where: int, value: int) -> None:
                if where & SSL.SSL_CB_ALERT:
                    watch._alert("received" if where & SSL.SSL_CB_READ else "sent", value & 0xFF)
            context.set_info_callback(on_info)
        return context


def new_peer_connection(configuration: RTCConfiguration) -> RTCPeerConnection:
    """An RTCPeerConnection whose DTLS uses CourtCertificate."""
    pc = RTCPeerConnection(configuration)
    attribute = "_RTCPeerConnection__certificates"
    if not isinstance(getattr(pc, attribute, None), list):
        raise RuntimeError("aiortc's RTCPeerConnection no longer keeps its certificates where "
                           "hearing_server.media.dtls expects them")
    setattr(pc, attribute, [CourtCertificate.generateCertificate()])
    return pc


class _CatchFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        watch = _current_watch.get()
        if watch is not None and record.levelno == logging.DEBUG:
            match = _FAILED.search(record.getMessage())
            if match:
                watch._aiortc_said(match.group(1))
        # aiortc's debug lines stay out of the log unless someone asked for them.
        return record.levelno >= logging.INFO or logging.getLogger().isEnabledFor(logging.DEBUG)


def _install() -> None:
    logger = logging.getLogger(_AIORTC_DTLS_LOG)
    if not any(isinstance(f, _CatchFailures) for f in logger.filters):
        logger.addFilter(_CatchFailures())
    # The failure is a debug line: let the logger make it, the filter above keeps it out of the log.
    if logger.level == logging.NOTSET or logger.level > logging.DEBUG:
        logger.setLevel(logging.DEBUG)


@contextlib.contextmanager
def watch_handshake(watch: HandshakeWatch) -> Iterator[None]:
    """Within this block, the tasks aiortc starts (its connect task runs the handshake) report to `watch`."""
    _install()
    token = _current_watch.set(watch)
    try:
        yield
    finally:
        _current_watch.reset(token)
