"""Signed tokens (PyJWT, HS256): staff logins, invitations and hearing sessions.

An invitation token only opens the lobby door; the court's admission exchanges it for a session token.
Removal from the hearing revokes the session token's id, so a removed person cannot walk back in.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from recorder.files import write_private

from .roles import Role, parse_role

ISSUER = "courtroom"
ALGORITHM = "HS256"


def _token_id() -> str:
    """A token's id: 96 random bits, URL-safe, never starting with "-" (a clerk passes it on the command
    line, `device-tokens revoke <id>`, where a leading dash reads as an option)."""
    token_id = secrets.token_urlsafe(12)
    return token_id if not token_id.startswith("-") else "A" + token_id[1:]


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
    purpose: str = ""  # media tokens: "play", "download" or "package"
    parent: str = ""  # media tokens made by staff: the staff token's id, so the link dies with the log-in
    courtroom: str = ""  # courtroom-PC tokens: the one courtroom whose hearings it may publish into
    device: bool = False  # a courtroom PC's long-lived device token (in the register, revocable alone)

    def covers(self, hearing_id: str) -> bool:
        return self.hearing == "*" or self.hearing == hearing_id


def load_or_create_secret(path: Path) -> bytes:
    if path.exists():
        secret = path.read_bytes().strip()
        if len(secret) < 32:
            raise ValueError(f"{path}: token key is shorter than 32 bytes")
        return secret
    secret = secrets.token_hex(32).encode()
    # Owner-only from the first byte, and whole or not at all: whoever reads this key can mint a judge's token.
    try:
        write_private(path, secret, exclusive=True)
    except FileExistsError:  # another process made it a moment ago: use that one
        return load_or_create_secret(path)
    return secret


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _why(exc: jwt.InvalidTokenError) -> str:
    if isinstance(exc, jwt.InvalidSignatureError):
        return "its signature does not match"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "it was not issued by this server"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return "its claims are incomplete"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "it is not valid yet"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "it is signed with another algorithm"
    return "it is not a token this server issues"


class TokenService:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("token secret must be at least 32 bytes")
        self._secret = secret

    def issue(self, kind: TokenKind, subject: str, role: Role, hearing: str, ttl_seconds: float,
              name: str = "", purpose: str = "", parent: str = "", courtroom: str = "",
              device: bool = False) -> tuple[str, Claims]:
        issued = time.time()
        claims = Claims(kind=kind, subject=subject, role=role, hearing=hearing,
                        jti=_token_id(), expires_at=int(issued + ttl_seconds), name=name,
                        purpose=purpose, parent=parent, courtroom=courtroom, device=device)
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
        if parent:
            payload["parent"] = parent
        if courtroom:
            payload["courtroom"] = courtroom
        if device:
            payload["device"] = True
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims

    def relay_mark(self, address: str) -> str:
        """A node relaying a participant's connection to the node that carries the hearing vouches for the
        participant's own address (per-address limits and logs see the person, not the relaying node)."""
        stamp = str(int(time.time()))
        return f"{stamp}:{address}:{self._relay_signature(stamp, address)}"

    def relayed_address(self, mark: str, max_age: float = 60.0) -> str | None:
        """The address a fellow node vouched for, or None when the mark is not one of ours (or is stale)."""
        try:
            stamp, rest = mark.split(":", 1)
            address, signature = rest.rsplit(":", 1)
            fresh = abs(time.time() - int(stamp)) <= max_age
        except ValueError:
            return None
        if fresh and hmac.compare_digest(signature, self._relay_signature(stamp, address)):
            return address
        return None

    def _relay_signature(self, stamp: str, address: str) -> str:
        return hmac.new(self._secret, f"relay|{stamp}|{address}".encode(), hashlib.sha256).hexdigest()

    def verify(self, token: str, *, kinds: tuple[TokenKind, ...] | None = None) -> Claims:
        """Check signature, expiry, issuer and shape. Revocation is the caller's job (it needs the store)."""
        # A JWT is ASCII; a header's raw bytes arrive as surrogate escapes, which PyJWT cannot even encode.
        if not isinstance(token, str) or not token or len(token) > 4096 or not token.isascii():
            raise TokenError("invalid_token", "missing or malformed token")
        try:
            payload = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                 options={"require": ["exp", "iat", "jti", "sub", "iss"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired", "the token has expired") from None
        except jwt.InvalidTokenError as exc:
            # In our words: the library's messages change between versions and say more than a client needs.
            raise TokenError("invalid_token", f"the token is not valid: {_why(exc)}") from None
        try:
            kind = TokenKind(payload.get("typ"))
            role = parse_role(payload.get("role"))
            hearing = str(payload["hearing"])
        except (KeyError, ValueError):
            raise TokenError("invalid_token", "the token's claims are incomplete") from None
        if kinds is not None and kind not in kinds:
            raise TokenError("wrong_token_kind", f"{_article(kind.value)} {kind.value} token cannot be used here")
        return Claims(kind=kind, subject=str(payload["sub"]), role=role, hearing=hearing,
                      jti=str(payload["jti"]), expires_at=float(payload["exp"]),
                      name=str(payload.get("name", "")), purpose=str(payload.get("purpose", "")),
                      parent=str(payload.get("parent", "")), courtroom=str(payload.get("courtroom", "")),
                      device=payload.get("device") is True)
