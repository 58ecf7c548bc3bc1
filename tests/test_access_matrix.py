"""The access-control matrix: every kind of token against every documented operation.

Each row names the token kinds that may use an operation; every other kind must be refused with 401 or 403.
"Allowed" means the gate let the caller through: the answer may still be a 404 or a 409 about the state of
things, never a 401 or a 403. The table must list exactly the operations the OpenAPI document has, so a new
endpoint cannot be added without deciding who may call it.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from hearing_server.api.openapi import openapi_document

from .conftest import PASSWORD
from .helpers import Participant
from .test_archive import archive  # noqa: F401  (two finished recordings, a server with staff)

STAFF = {"judge", "judge2", "clerk", "admin", "courtroom"}
EVERYONE = STAFF | {"anonymous", "invite", "session", "share", "media", "package"}
JUDGES_ADMIN = {"judge", "admin"}  # the presiding judge (judge) and admins run the hearing
COURT_OFFICE = {"judge", "clerk", "admin"}  # who invites, admits and takes notes in judge's hearing
ARCHIVE = {"judge", "judge2", "clerk", "admin"}  # every judge, clerks, admins
HOLDERS = {"judge", "judge2", "admin"}  # a legal hold: any judge, admins; not clerks

# (method, path, body, kinds allowed). {h}: a hearing in Courtroom 3 presided over by "judge"; {p}: a party
# invited to it; {r}: a finished recording; {s}: a share of it. Operations that change what later rows
# rely on (close, logout, revoke) come last.
MATRIX: list[tuple[str, str, Any, set[str]]] = [
    ("GET", "/api/health", None, EVERYONE),
    ("GET", "/api/court", None, EVERYONE),
    ("GET", "/api/openapi.json", None, EVERYONE),
    ("POST", "/api/login", {"username": "clerk", "password": PASSWORD}, EVERYONE),
    ("GET", "/api/me", None, STAFF),
    ("GET", "/api/device-tokens", None, {"admin"}),
    ("POST", "/api/hearings", {"case_number": "M-1", "title": "t", "judge": "judge"}, {"judge", "judge2", "admin"}),
    ("GET", "/api/hearings", None, STAFF),
    ("GET", "/api/hearings/{h}", None, STAFF),
    ("POST", "/api/hearings/{h}/open", None, JUDGES_ADMIN),
    ("POST", "/api/hearings/{h}/lock", None, JUDGES_ADMIN),
    ("POST", "/api/hearings/{h}/unlock", None, JUDGES_ADMIN),
    ("POST", "/api/hearings/{h}/recess", None, JUDGES_ADMIN),
    ("POST", "/api/hearings/{h}/resume", None, JUDGES_ADMIN),
    ("POST", "/api/hearings/{h}/invites", {"name": "Matrix Witness", "role": "witness"}, COURT_OFFICE),
    ("GET", "/api/hearings/{h}/lobby", None, COURT_OFFICE),
    ("GET", "/api/hearings/{h}/participants", None, STAFF),
    ("POST", "/api/hearings/{h}/participants/{p}/link", None, COURT_OFFICE),
    ("POST", "/api/hearings/{h}/participants/{p}/mute", None, JUDGES_ADMIN),
    ("POST", "/api/hearings/{h}/participants/{p}/unmute", None, JUDGES_ADMIN),
    ("POST", "/api/hearings/{h}/participants/{p}/lower-hand", None, JUDGES_ADMIN),
    ("POST", "/api/hearings/{h}/participants/{p}/admit", None, COURT_OFFICE),
    ("GET", "/api/hearings/{h}/cameras", None, STAFF),
    ("POST", "/api/hearings/{h}/cameras", {"camera": "x", "shown": True}, JUDGES_ADMIN),
    ("POST", "/api/hearings/{h}/notes", {"text": "matrix"}, COURT_OFFICE),
    ("POST", "/api/hearings/{h}/recording/pause", None, JUDGES_ADMIN),
    ("GET", "/api/recordings", None, ARCHIVE),
    ("GET", "/api/recordings/{r}", None, ARCHIVE),
    ("GET", "/api/recordings/{r}/transcript", None, ARCHIVE),
    ("GET", "/api/recordings/{r}/manifest", None, ARCHIVE),
    ("POST", "/api/recordings/{r}/links", {"purpose": "play"}, ARCHIVE),
    ("GET", "/api/recordings/{r}/media", None, {"media"}),
    ("GET", "/api/recordings/{r}/captions.vtt", None, {"media", "package"}),
    ("GET", "/api/recordings/{r}/package", None, {"package"}),
    ("POST", "/api/recordings/{r}/verify", None, ARCHIVE),
    ("GET", "/api/recordings/{r}/shares", None, ARCHIVE),
    ("POST", "/api/recordings/{r}/shares", {"recipient": "Matrix"}, ARCHIVE),
    ("POST", "/api/recordings/{r}/hold", {"reason": "appeal"}, HOLDERS),
    ("DELETE", "/api/recordings/{r}/hold", None, HOLDERS),
    ("GET", "/api/audit", None, {"clerk", "admin"}),
    ("GET", "/api/shared", None, {"share"}),
    ("GET", "/api/shared/transcript", None, {"share"}),
    ("POST", "/api/shared/links", None, {"share"}),
    ("POST", "/api/hearings/{h}/participants/{p}/reject", None, COURT_OFFICE),
    ("POST", "/api/hearings/{h}/participants/{p}/remove", None, JUDGES_ADMIN),
    ("DELETE", "/api/recordings/{r}/shares/{s}", None, ARCHIVE),
    ("DELETE", "/api/device-tokens/{d}", None, {"admin"}),
    ("POST", "/api/hearings/{h}/close", None, JUDGES_ADMIN),
    ("POST", "/api/logout", None, STAFF),
]
QUERY_TOKEN = re.compile(r"/(media|package|captions\.vtt)$")


def template(path: str) -> str:
    names = {"h": "hearing_id", "p": "participant_id", "r": "hearing_id", "s": "share_id", "d": "token_id"}
    path = re.sub(r"\{(\w)\}", lambda m: "{" + names[m.group(1)] + "}", path)
    return path.replace("/recording/pause", "/recording/{action}")


def test_the_matrix_covers_every_documented_operation():
    documented = {(m.upper(), p) for p, ops in openapi_document()["paths"].items() for m in ops}
    assert {(m, template(p)) for m, p, _, _ in MATRIX} == documented


async def test_every_token_kind_against_every_operation(archive):  # noqa: F811
    api, settings = archive
    judge = await api.login("judge")
    hearing = await api.ok("POST", "/api/hearings", {"case_number": "CV-M", "title": "Matrix",
                                                     "courtroom": "Courtroom 3"}, judge)
    await api.ok("POST", f"/api/hearings/{hearing['id']}/open", token=judge)
    party = await api.invite(judge, hearing["id"], "Ana Silva")
    seated = await api.invite(judge, hearing["id"], "Ben Okafor")
    clerk = await api.login("clerk")
    share = await api.ok("POST", "/api/recordings/h_recent/shares", {"recipient": "Ana Silva"}, clerk)
    play = await api.ok("POST", "/api/recordings/h_recent/links", {"purpose": "play"}, clerk)
    package = await api.ok("POST", "/api/recordings/h_recent/links", {"purpose": "package"}, clerk)
    base = api.base
    ben = Participant(base, seated["token"])
    await ben.connect()
    admitted = await api.ok("POST", f"/api/hearings/{hearing['id']}/participants/{seated['participant']['id']}"
                                    "/admit", token=judge)
    session = (await ben.expect("admitted"))["session_token"]
    await ben.close()
    assert admitted["state"] == "admitted"
    tokens = {"anonymous": "", "invite": party["token"], "session": session,
              "share": share["url"].split("#token=", 1)[1],
              "media": play["url"].split("token=", 1)[1], "package": package["url"].split("token=", 1)[1]}
    for kind, user in (("judge", "judge"), ("judge2", "judge2"), ("clerk", "clerk"), ("admin", "admin"),
                       ("courtroom", "courtroom1")):
        tokens[kind] = await api.login(user)
    ids = {"h": hearing["id"], "p": party["participant"]["id"], "r": "h_recent", "s": share["share_id"],
           "d": "dev_nowhere"}

    wrong: list[str] = []
    async with aiohttp.ClientSession() as http:
        for method, path, body, allowed in MATRIX:
            url = base + re.sub(r"\{(\w)\}", lambda m: ids[m.group(1)], path)
            for kind in sorted(EVERYONE):
                token = tokens[kind]
                if path == "/api/logout" and kind in STAFF:
                    token = await api.login({"courtroom": "courtroom1"}.get(kind, kind))  # keep the others
                headers, target = {}, url
                if QUERY_TOKEN.search(path):
                    target = f"{url}?token={token}"
                elif token:
                    headers["Authorization"] = f"Bearer {token}"
                async with http.request(method, target, json=body, headers=headers) as response:
                    status = response.status
                    await response.read()
                let_in = status not in (401, 403)
                if let_in != (kind in allowed):
                    wrong.append(f"{method} {path} as {kind}: {status} (expected "
                                 f"{'allowed' if kind in allowed else '401/403'})")
    assert not wrong, "\n".join(wrong)
