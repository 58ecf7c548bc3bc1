"""Who may do what, written out here as the court decided it — not read from the code's own table — and
checked against every role and every permission; and one refusal over the real API."""

from __future__ import annotations

from hearing_server.roles import Permission, Role, allowed

# Rows: permission. Columns: judge, clerk, admin, courtroom PC. Party roles may do none of these.
TABLE = """
                     judge clerk admin courtroom
create_hearing         x     .     x      .
view_hearing           x     x     x      x
control_hearing        x     .     x      .
invite                 x     x     x      .
admit                  x     x     x      .
moderate               x     .     x      .
watch_lobby            x     x     x      .
log_notes              x     x     x      .
control_recording      x     .     x      .
view_recordings        x     x     x      .
share_recordings       x     x     x      .
hold_recordings        x     .     x      .
view_audit             .     x     x      .
manage_devices         .     .     x      .
"""


def expected() -> dict[tuple[Role, str], bool]:
    lines = [line.split() for line in TABLE.strip().splitlines()]
    roles = [Role(name) for name in lines[0]]
    grid: dict[tuple[Role, str], bool] = {}
    for permission, *marks in lines[1:]:
        assert len(marks) == len(roles), permission
        for role, mark in zip(roles, marks):
            grid[(role, permission)] = mark == "x"
    return grid


def test_every_role_and_every_permission():
    grid = expected()
    assert {p for _, p in grid} == {p.value for p in Permission}, "a permission is missing from the table"
    for role in Role:
        for permission in Permission:
            want = grid.get((role, permission.value), False)  # party roles: nothing
            assert allowed(role, permission) is want, f"{role.value} {permission.value}: expected {want}"


async def test_a_clerk_may_not_mute(api):
    judge, clerk = await api.login("judge"), await api.login("clerk")
    hid = (await api.new_hearing(judge))["id"]
    invite = await api.invite(judge, hid, "Ana Silva")
    pid = invite["participant"]["id"]
    status, body = await api.call("POST", f"/api/hearings/{hid}/participants/{pid}/mute", token=clerk)
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await api.call("POST", f"/api/hearings/{hid}/participants/{pid}/remove", token=clerk)
    assert status == 403 and body["error"]["code"] == "forbidden"


def test_a_token_naming_a_role_the_court_does_not_have_is_invalid(tmp_path):
    import time

    import jwt
    import pytest

    from hearing_server.tokens import ISSUER, TokenError, TokenService

    secret = b"k" * 32
    now = int(time.time())
    forged = jwt.encode({"iss": ISSUER, "sub": "x", "jti": "j1", "iat": now, "exp": now + 60, "typ": "staff",
                         "role": "bailiff", "hearing": "*"}, secret, algorithm="HS256")
    with pytest.raises(TokenError) as refused:
        TokenService(secret).verify(forged)
    assert refused.value.code == "invalid_token"
