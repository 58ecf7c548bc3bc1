"""What a refused token is told, in the server's own words: each reason PyJWT can give maps to one message
(the 401 body's `message`, docs/api.md), so a client or an operator reading a log knows what to fix. And what
an issued token holds (only the claims it was given, docs/api.md), the token key's file (its length, a race
between two processes making it) and the relay mark's minute."""

from __future__ import annotations

import re
import time

import jwt
import pytest

from hearing_server import tokens as tokens_module
from hearing_server.roles import Role
from hearing_server.tokens import ISSUER, TokenError, TokenKind, TokenService, load_or_create_secret
from recorder.files import write_private

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
    # made when the test runs, not when it is collected: a token made minutes earlier has expired
    (lambda: jwt.encode(claims(), b"o" * 32, algorithm="HS256"), "its signature does not match"),
    (lambda: jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"), "it was not issued by this server"),
    (lambda: jwt.encode(claims(jti=None), SECRET, algorithm="HS256"), "its claims are incomplete"),
    (lambda: jwt.encode(claims(iat=int(time.time()) + 3600), SECRET, algorithm="HS256"), "it is not valid yet"),
    (lambda: jwt.encode(claims(), SECRET * 2, algorithm="HS512"), "it is signed with another algorithm"),
    (lambda: "not.a.token", "it is not a token this server issues"),
], ids=["other key", "other issuer", "no jti", "issued in the future", "HS512", "garbage"])
def test_each_reason_is_named(token, message):
    assert refusal(token()) == ("invalid_token", f"the token is not valid: {message}")


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


@pytest.mark.parametrize(("kind", "message"), [
    (TokenKind.STAFF, "a staff token cannot be used here"),
    (TokenKind.INVITE, "an invite token cannot be used here"),
    (TokenKind.SESSION, "a session token cannot be used here"),
    (TokenKind.SHARE, "a share token cannot be used here"),
    (TokenKind.MEDIA, "a media token cannot be used here"),
])
def test_a_wrong_kind_is_named_with_its_article(kind, message):
    service = TokenService(SECRET)
    token, _ = service.issue(kind, "someone", Role.OBSERVER, "h1", 60)
    others = tuple(other for other in TokenKind if other is not kind)
    with pytest.raises(TokenError) as refused:
        service.verify(token, kinds=others)
    assert (refused.value.code, refused.value.message) == ("wrong_token_kind", message)


def test_a_token_holds_only_the_claims_it_was_given():
    token, issued = TokenService(SECRET).issue(TokenKind.STAFF, "judge", Role.JUDGE, "*", 60)
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=ISSUER)
    assert set(payload) == {"iss", "typ", "sub", "role", "hearing", "jti", "iat", "exp"}  # no name, purpose…
    assert (issued.name, issued.purpose, issued.parent, issued.courtroom, issued.device) == ("", "", "", "", False)


def test_issue_returns_the_claims_it_signed():
    service = TokenService(SECRET)
    device, device_claims = service.issue(TokenKind.STAFF, "room9", Role.COURTROOM, "*", 60, name="Room 9 PC",
                                          courtroom="Courtroom 9", device=True)
    assert (device_claims.courtroom, device_claims.device) == ("Courtroom 9", True)
    assert service.verify(device) == device_claims
    media, media_claims = service.issue(TokenKind.MEDIA, "clerk", Role.CLERK, "h1", 60, name="Clerk",
                                        purpose="download", parent="j0")
    assert (media_claims.purpose, media_claims.parent) == ("download", "j0")
    assert service.verify(media) == media_claims


def test_token_ids_are_16_url_safe_characters():
    service = TokenService(SECRET)
    ids = {service.issue(TokenKind.SESSION, "p1", Role.WITNESS, "h1", 60)[1].jti for _ in range(20)}
    assert len(ids) == 20  # 12 random bytes each: the share_id of a share link, the id of a device token
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", jti) for jti in ids), ids


def test_a_key_file_of_32_bytes_is_enough_and_31_is_refused(tmp_path):
    enough = tmp_path / "enough.key"
    enough.write_bytes(b"k" * 32 + b"\n")
    assert load_or_create_secret(enough) == b"k" * 32
    short = tmp_path / "short.key"
    short.write_bytes(b"k" * 31 + b"\n")
    with pytest.raises(ValueError) as refused:
        load_or_create_secret(short)
    assert str(refused.value) == f"{short}: token key is shorter than 32 bytes"


def test_a_new_key_is_32_random_bytes_in_hex_owner_only(tmp_path):
    path = tmp_path / "token.key"
    key = load_or_create_secret(path)
    assert re.fullmatch(rb"[0-9a-f]{64}", key) and path.read_bytes() == key
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert load_or_create_secret(tmp_path / "other.key") != key


def test_a_key_another_process_made_meanwhile_is_used_not_replaced(tmp_path, monkeypatch):
    path = tmp_path / "token.key"
    theirs = b"t" * 64

    def racing(target, data, **options):
        target.write_bytes(theirs)  # the other process's key lands between exists() and our write
        write_private(target, data, **options)

    monkeypatch.setattr(tokens_module, "write_private", racing)
    assert load_or_create_secret(path) == theirs
    assert path.read_bytes() == theirs  # tokens it signed already stay valid
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_a_relay_mark_is_good_for_60_seconds(monkeypatch):
    now = 1_800_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    service = TokenService(SECRET)
    mark = service.relay_mark("203.0.113.7")
    now += 60
    assert service.relayed_address(mark) == "203.0.113.7"
    now += 1
    assert service.relayed_address(mark) is None


def test_a_token_id_never_starts_with_a_dash():
    """A clerk types it on the command line (`device-tokens revoke <id>`); CI met one that began with "-"."""
    from hearing_server.tokens import _token_id

    assert not any(_token_id().startswith("-") for _ in range(5000))
