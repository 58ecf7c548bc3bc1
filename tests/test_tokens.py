"""What a refused token is told, in the server's own words: each reason PyJWT can give maps to one message
(the 401 body's `message`, docs/api.md), so a client or an operator reading a log knows what to fix."""

from __future__ import annotations

import time

import jwt
import pytest

from hearing_server.roles import Role
from hearing_server.tokens import ISSUER, TokenError, TokenKind, TokenService

SECRET = b"k" * 32


def claims(**changed: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {"iss": ISSUER, "sub": "judge", "jti": "j1", "iat": now, "exp": now + 60,
                               "typ": "staff", "role": "judge", "hearing": "*"}
    base.update(changed)
    return {key: value for key, value in base.items() if value is not None}


def refusal(token: str) -> tuple[str, str]:
    with pytest.raises(TokenError) as refused:
        TokenService(SECRET).verify(token)
    return refused.value.code, refused.value.message


@pytest.mark.parametrize(("token", "message"), [
    (jwt.encode(claims(), b"o" * 32, algorithm="HS256"), "its signature does not match"),
    (jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"), "it was not issued by this server"),
    (jwt.encode(claims(jti=None), SECRET, algorithm="HS256"), "its claims are incomplete"),
    (jwt.encode(claims(iat=int(time.time()) + 3600), SECRET, algorithm="HS256"), "it is not valid yet"),
    (jwt.encode(claims(), SECRET * 2, algorithm="HS512"), "it is signed with another algorithm"),
    ("not.a.token", "it is not a token this server issues"),
], ids=["other key", "other issuer", "no jti", "issued in the future", "HS512", "garbage"])
def test_each_reason_is_named(token, message):
    assert refusal(token) == ("invalid_token", f"the token is not valid: {message}")


def test_expired_malformed_and_wrong_kind():
    now = int(time.time())
    expired = jwt.encode(claims(iat=now - 120, exp=now - 60), SECRET, algorithm="HS256")
    assert refusal(expired) == ("token_expired", "the token has expired")
    assert refusal("") == ("invalid_token", "missing or malformed token")
    assert refusal("é" * 10) == ("invalid_token", "missing or malformed token")
    assert refusal("a" * 4097) == ("invalid_token", "missing or malformed token")
    no_hearing = jwt.encode(claims(hearing=None), SECRET, algorithm="HS256")
    assert refusal(no_hearing) == ("invalid_token", "the token's claims are incomplete")
    service = TokenService(SECRET)
    invite, _ = service.issue(TokenKind.INVITE, "p1", Role.PLAINTIFF, "h1", 60)
    with pytest.raises(TokenError) as refused:
        service.verify(invite, kinds=(TokenKind.STAFF,))
    assert (refused.value.code, refused.value.message) == ("wrong_token_kind", "an invite token cannot be used here")
