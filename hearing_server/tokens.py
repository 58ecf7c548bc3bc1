"""Signed tokens (PyJWT, HS256): staff logins, invitations and hearing sessions.

An invitation token only opens the lobby door; the court's admission exchanges it for a session token.
Removal from the hearing revokes the session token's id, so a removed person cannot walk back in.
"""

from __future__ import annotations

import enum
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from .roles import Role, parse_role

ISSUER = "courtroom"
ALGORITHM = "HS256"


class TokenKind(str, enum.Enum):
    STAFF = "staff"
    INVITE = "invite"
    SESSION = "session"
    SHARE = "share"  # a recording handed to a party: look, play, download, until it expires
    MEDIA = "media"  # a few minutes' access to one recording's file, for a <video> element or a download


class TokenError(Exception):
    """A token was refused; `code` says why in a way a client can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Claims:
    kind: TokenKind
    subject: str  # username for staff, participant id for invite/session
    role: Role
    hearing: str  # hearing id, or "*" for staff accounts
    jti: str
    expires_at: float
    name: str = ""
    purpose: str = ""  # media tokens: "play" or "download"

    def covers(self, hearing_id: str) -> bool:
        return self.hearing == "*" or self.hearing == hearing_id


def load_or_create_secret(path: Path) -> bytes:
    if path.exists():
        secret = path.read_bytes().strip()
        if len(secret) < 32:
            raise ValueError(f"{path}: token key is shorter than 32 bytes")
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    # Written with owner-only permissions: whoever reads this key can mint a judge's token.
    fd = path.open("xb")
    try:
        path.chmod(0o600)
        fd.write(secret)
    finally:
        fd.close()
    return secret


class TokenService:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("token secret must be at least 32 bytes")
        self._secret = secret

    def issue(self, kind: TokenKind, subject: str, role: Role, hearing: str, ttl_seconds: float,
              name: str = "", purpose: str = "") -> tuple[str, Claims]:
        issued = time.time()
        claims = Claims(kind=kind, subject=subject, role=role, hearing=hearing,
                        jti=secrets.token_urlsafe(12), expires_at=int(issued + ttl_seconds), name=name,
                        purpose=purpose)
        payload = {
            "iss": ISSUER,
            "typ": kind.value,
            "sub": subject,
            "role": role.value,
            "hearing": hearing,
            "jti": claims.jti,
            "iat": int(issued),
            "exp": int(claims.expires_at),
        }
        if name:
            payload["name"] = name
        if purpose:
            payload["purpose"] = purpose
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims

    def verify(self, token: str, *, kinds: tuple[TokenKind, ...] | None = None) -> Claims:
        """Check signature, expiry, issuer and shape. Revocation is the caller's job (it needs the store)."""
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise TokenError("invalid_token", "missing or malformed token")
        try:
            payload = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                 options={"require": ["exp", "iat", "jti", "sub", "iss"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired", "the token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise TokenError("invalid_token", f"the token is not valid ({exc})") from None
        try:
            kind = TokenKind(payload.get("typ"))
            role = parse_role(payload.get("role"))
            hearing = str(payload["hearing"])
        except (KeyError, ValueError):
            raise TokenError("invalid_token", "the token's claims are incomplete") from None
        if kinds is not None and kind not in kinds:
            raise TokenError("wrong_token_kind", f"a {kind.value} token cannot be used here")
        return Claims(kind=kind, subject=str(payload["sub"]), role=role, hearing=hearing,
                      jti=str(payload["jti"]), expires_at=float(payload["exp"]),
                      name=str(payload.get("name", "")), purpose=str(payload.get("purpose", "")))
