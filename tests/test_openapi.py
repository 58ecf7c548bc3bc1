"""The OpenAPI document: valid OpenAPI 3.1, in step with the routes, and true to what the server answers."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from hearing_server.api.openapi import ERROR_CODES, openapi_document
from hearing_server.app import create_app
from hearing_server.device_tokens import DeviceToken, DeviceTokenRegister
from hearing_server.store import MemoryStore

from .conftest import add_staff
from .helpers import ApiClient, Participant
from .record_fixture import make_recording

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
SIGNALING = "/api/signal"
ARCHIVED = "h_archived"  # a finished recording in the local store before the server starts
ARCHIVED_OPENED = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc).timestamp()


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in METHODS}


def app_operations(app) -> set[tuple[str, str]]:
    operations = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if not path.startswith("/api/") or route.method == "HEAD" or path == SIGNALING:
            continue
        operations.add((route.method, path))
    return operations


async def test_served_document_is_valid_openapi_31(api):
    status, served = await api.call("GET", "/api/openapi.json")
    assert status == 200
    document = openapi_document()
    assert served == json.loads(json.dumps(document))
    assert served["openapi"].startswith("3.1")
    assert SIGNALING in served["info"]["description"] and "docs/signaling.md" in served["info"]["description"]
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(served, cls=validator.OpenAPIV31SpecValidator)


async def test_every_route_is_documented_and_every_documented_route_exists(server):
    in_app = app_operations(server.app)
    documented = documented_operations(openapi_document())
    assert in_app, "no /api/ routes found: did the app change how it registers them?"
    assert in_app - documented == set(), "routes missing from hearing_server/api/openapi.py"
    assert documented - in_app == set(), "documented operations the server does not have"
    assert ("GET", SIGNALING) in {(r.method, r.resource.canonical) for r in server.app.router.routes()
                                  if r.resource is not None}


def test_operations_are_complete():
    document = openapi_document()
    ids = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            ids.append(op["operationId"])
            assert op["tags"] and op["summary"] and op["responses"], (method, path)
            assert any(s.startswith("2") for s in op["responses"]), (method, path)
            for name in (part[1:-1] for part in path.split("/") if part.startswith("{")):
                assert any(p["name"] == name and p["in"] == "path" for p in op.get("parameters", [])), \
                    (method, path, name)
            secured = op.get("security", document["security"]) != []
            if secured:
                assert "401" in op["responses"], (method, path)
            for status, response in op["responses"].items():
                if status in ("400", "401", "403", "404", "409", "413", "429"):
                    media = response["content"]["application/json"]
                    assert media["schema"] == {"$ref": "#/components/schemas/Error"}
                    assert all(ERROR_CODES[code][0] == int(status) for code in media["examples"])
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for name in ("Hearing", "Participant", "PublicParticipant", "Invitation", "LoginRequest", "LoginResponse",
                 "Error"):
        assert name in document["components"]["schemas"]
    for name in ("HearingCreate", "InvitationRequest", "ParticipantActionRequest"):
        for field, prop in document["components"]["schemas"][name]["properties"].items():
            assert prop.get("maxLength") == 200 or "$ref" in prop, (name, field)


# -- the document against real answers ----------------------------------------------------------------


class Contract:
    """Checks answers against the document, strictly: a field the document does not name is an error."""

    def __init__(self) -> None:
        jsonschema = pytest.importorskip("jsonschema")
        self.document = openapi_document()
        self.components = copy.deepcopy(self.document["components"])
        for schema in self.components["schemas"].values():
            _close(schema)
        self.validator_class = jsonschema.Draft202012Validator
        self.seen: set[tuple[str, str, str]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        bare = path.split("?")[0]
        for template, item in self.document["paths"].items():
            parts, actual = template.split("/"), bare.split("/")
            if len(parts) == len(actual) and all(p == a or p.startswith("{") for p, a in zip(parts, actual)):
                if method.lower() in item:
                    return template, item[method.lower()]
        raise AssertionError(f"{method} {bare} is not in the document")

    def check_media(self, method: str, path: str, status: int, content_type: str) -> dict[str, Any]:
        """An answer that is not JSON (a video, captions, a redirect): its status and media type."""
        template, op = self.operation(method, path)
        response = op["responses"].get(str(status))
        assert response is not None, f"{method} {template} answered {status}, which is not documented"
        if "content" in response:
            assert content_type in response["content"], \
                f"{method} {template} {status}: {content_type} is not documented"
        self.seen.add((method.upper(), template, str(status)))
        return response

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        template, op = self.operation(method, path)
        response = op["responses"].get(str(status))
        assert response is not None, f"{method} {template} answered {status}, which is not documented"
        media = response["content"]["application/json"]
        schema = {**media["schema"], "components": self.components}
        errors = sorted(self.validator_class(schema).iter_errors(body), key=str)
        assert not errors, f"{method} {template} {status}: {errors[0].message} at {list(errors[0].path)}"
        if status >= 400:
            code = body["error"]["code"]
            assert code in media["examples"], f"{method} {template} {status}: code {code!r} is not documented"
        self.seen.add((method.upper(), template, str(status)))


def _close(schema: Any) -> None:
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for value in schema.values():
            _close(value)
    elif isinstance(schema, list):
        for value in schema:
            _close(value)


@pytest.fixture
async def archive_server(settings, tmp_path) -> AsyncIterator[TestServer]:
    """conftest's server, with one finished recording in its local store before it starts (the archive's
    catalog indexes the store at start-up)."""
    settings.storage.local_dir = str(tmp_path / "recordings")
    make_recording(tmp_path, settings, seconds=4.0, hearing_id=ARCHIVED,
                   store=Path(settings.storage.local_dir), case_number="CR-2026-0007", opened=ARCHIVED_OPENED)
    add_staff(settings)
    # A courtroom PC's device token, as `hearing-server device-token` registers it.
    DeviceTokenRegister(settings.device_tokens_path).add(DeviceToken(
        id="dev_contract", username="courtroom1", courtroom="Courtroom 3", issued_at=time.time(),
        expires_at=time.time() + 86400))
    server = TestServer(create_app(settings, MemoryStore()), host="127.0.0.1", port=0)
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def archive_api(archive_server: TestServer) -> AsyncIterator[ApiClient]:
    client = ApiClient(str(archive_server.make_url("")).rstrip("/"))
    yield client
    await client.close()


async def test_answers_match_the_document(archive_api, archive_server):
    api, server = archive_api, archive_server
    contract = Contract()

    async def call(method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        status, data = await api.call(method, path, body, token)
        contract.check(method, path, status, data)
        return status, data

    status, data = await call("GET", "/api/health")
    assert status == 200
    status, data = await call("GET", "/api/court")
    assert status == 200 and data["language"] == "kk"
    assert [language["code"] for language in data["languages"]] == ["kk", "ru", "en"]
    status, data = await call("POST", "/api/login", {"username": "judge", "password": "wrong password"})
    assert status == 401
    status, data = await call("POST", "/api/login", {"username": "judge"})
    assert status == 400
    judge = await api.login("judge")
    await call("POST", "/api/login", {"username": "clerk", "password": "correct horse battery"})
    clerk = await api.login("clerk")
    admin = await api.login("admin")
    judge2 = await api.login("judge2")
    await call("GET", "/api/me", token=clerk)
    await call("GET", "/api/me")

    status, hearing = await call("POST", "/api/hearings", {
        "case_number": "CV-2026-0142", "title": "Haddad v. Northwind Ltd", "court": "District Court",
        "courtroom": "Courtroom 3", "scheduled_start": "2026-11-28T09:00:00Z"}, judge)
    assert status == 201
    hid = hearing["id"]
    by_admin = {"case_number": "X-1", "title": "t", "judge": "judge2"}
    status, _ = await call("POST", "/api/hearings", by_admin, admin)
    assert status == 201
    assert (await call("POST", "/api/hearings", {"case_number": "X-1", "title": "t"}, clerk))[0] == 403
    assert (await call("POST", "/api/hearings", {"case_number": "X-1", "title": "x" * 201}, judge))[0] == 400
    await call("GET", "/api/hearings", token=judge)
    await call("GET", "/api/hearings?status=scheduled", token=clerk)
    await call("GET", f"/api/hearings/{hid}", token=clerk)
    assert (await call("GET", "/api/hearings/h_nope", token=judge))[0] == 404
    assert (await call("POST", f"/api/hearings/{hid}/recess", token=judge))[0] == 409
    assert (await call("POST", f"/api/hearings/{hid}/open", token=judge2))[0] == 403
    for action in ("open", "lock", "unlock", "recess", "resume"):
        assert (await call("POST", f"/api/hearings/{hid}/{action}", token=judge))[0] == 200

    # The live recording: log notes, pause and resume.
    notes = f"/api/hearings/{hid}/notes"
    exhibit = {"text": "Exhibit 4 shown to the witness", "kind": "exhibit"}
    status, note = await call("POST", notes, exhibit, clerk)
    assert status == 201 and note["kind"] == "exhibit"
    assert (await call("POST", notes, {"text": "Objection: hearsay"}, judge))[0] == 201
    assert (await call("POST", notes, {"text": "x", "kind": "verdict"}, clerk))[0] == 400
    assert (await call("POST", notes, {"text": "x" * 2001}, clerk))[0] == 400
    assert (await call("POST", notes, {"text": "x"}, admin))[0] == 201
    assert (await call("POST", notes, {"text": "x"}, judge2))[0] == 403  # not_presiding_judge
    courtroom = await api.login("courtroom1")
    assert (await call("POST", notes, {"text": "x"}, courtroom))[0] == 403
    status, paused = await call("POST", f"/api/hearings/{hid}/recording/pause", token=judge)
    assert status == 200 and paused["recording_paused"] is True
    status, resumed = await call("POST", f"/api/hearings/{hid}/recording/resume", token=judge)
    assert status == 200 and resumed["recording_paused"] is False
    assert (await call("POST", f"/api/hearings/{hid}/recording/pause", token=clerk))[0] == 403

    # The courtroom PC's cameras, and the judge's choice of picture.
    cameras = f"/api/hearings/{hid}/cameras"
    base = str(server.make_url("")).rstrip("/")
    courtroom_pc = Participant(base, courtroom, hearing_id=hid, name="Courtroom 1 PC")
    try:
        assert (await courtroom_pc.connect())["type"] == "welcome"
        await courtroom_pc.start_media()
        for _ in range(100):
            status, listed = await call("GET", cameras, token=clerk)
            if listed["cameras"]:
                break
            await asyncio.sleep(0.1)
        assert listed["cameras"], "the courtroom PC's camera never showed up"
        key = listed["cameras"][0]["key"]
        assert listed["cameras"][0]["shown"] is True
        status, camera = await call("POST", cameras, {"camera": key, "shown": False}, judge)
        assert status == 200 and camera["key"] == key and camera["shown"] is False
        assert (await call("POST", cameras, {"camera": key, "shown": "no"}, judge))[0] == 400
        assert (await call("POST", cameras, {"camera": "p_nope:v0", "shown": True}, judge))[0] == 404
        assert (await call("POST", cameras, {"camera": key, "shown": True}, clerk))[0] == 403
        assert (await call("POST", cameras, {"camera": key, "shown": True}, judge2))[0] == 403
        assert (await call("POST", cameras, {"camera": key, "shown": True}, judge))[0] == 200
    finally:
        await courtroom_pc.close()

    status, invitation = await call("POST", f"/api/hearings/{hid}/invites", {
        "name": "Ana Silva", "role": "plaintiff", "phone": "+351 912 345 678", "email": "ana@example.org"},
        clerk)
    assert status == 201 and invitation["join_url"].endswith("/join#token=" + invitation["token"])
    invites = f"/api/hearings/{hid}/invites"
    status, second = await call("POST", invites, {"name": "Ben Okafor", "role": "witness"}, judge)
    assert (await call("POST", invites, {"name": "X", "role": "judge"}, judge))[0] == 400
    ana_id, ben_id = invitation["participant"]["id"], second["participant"]["id"]
    status, renewed = await call("POST", f"/api/hearings/{hid}/participants/{ben_id}/link", token=clerk)
    assert status == 200 and renewed["token"] != second["token"] and renewed["participant"]["id"] == ben_id
    stale = Participant(base, second["token"], name="Ben Okafor")
    try:
        assert (await stale.connect())["code"] == "token_revoked"  # the old link went astray: it is dead
    finally:
        await stale.close()
    ana = Participant(base, invitation["token"], name="Ana Silva")
    try:
        assert (await ana.connect())["type"] == "welcome"
        status, lobby = await call("GET", f"/api/hearings/{hid}/lobby", token=clerk)
        assert [e["id"] for e in lobby["entrants"]] == [ana_id]
        pid = f"/api/hearings/{hid}/participants/{ana_id}"
        assert (await call("POST", f"{pid}/mute", token=judge))[0] == 409
        assert (await call("POST", f"{pid}/admit", token=clerk))[0] == 200
        assert (await call("POST", f"{pid}/admit", token=judge))[0] == 409
        await ana.expect("admitted")
        await call("GET", f"/api/hearings/{hid}/participants", token=judge)
        await call("GET", f"/api/hearings/{hid}/participants?all=1", token=judge)
        for action in ("mute", "unmute", "lower-hand"):
            assert (await call("POST", f"{pid}/{action}", token=judge))[0] == 200
        assert (await call("POST", f"{pid}/mute", token=clerk))[0] == 403
        assert (await call("POST", f"/api/hearings/{hid}/participants/p_nope/mute", token=judge))[0] == 404
        assert (await call("POST", f"{pid}/remove", {"reason": "contempt"}, judge))[0] == 200
        status, _ = await call("POST", f"/api/hearings/{hid}/participants/{ben_id}/reject",
                               {"reason": "not on the list"}, clerk)
        assert status == 200
        status, refused = await call("POST", f"/api/hearings/{hid}/participants/{ben_id}/link", token=clerk)
        assert (status, refused["error"]["code"]) == (409, "no_invitation")  # rejected: no new link for him
    finally:
        await ana.close()
    assert (await call("POST", f"/api/hearings/{hid}/close", token=judge))[0] == 200
    assert (await call("POST", invites, {"name": "Y", "role": "witness"}, judge))[0] == 409
    assert (await call("POST", notes, {"text": "too late"}, clerk))[0] == 409
    assert (await call("POST", f"/api/hearings/{hid}/recording/resume", token=judge))[0] == 409

    await exercise_the_archive(api, contract, clerk=clerk, judge=judge, admin=admin, courtroom=courtroom)
    # The hearing just closed is in the archive too, with the notes in its transcript.
    status, found = await call("GET", "/api/recordings?case_number=CV-2026-0142", token=clerk)
    assert [r["hearing_id"] for r in found["recordings"]] == [hid]
    for _ in range(100):  # its files reach the store a moment after the close
        status, transcript = await call("GET", f"/api/recordings/{hid}/transcript", token=clerk)
        if status != 503:
            break
        await asyncio.sleep(0.1)
    assert status == 200
    notes_kept = [(e["note_kind"], e["text"]) for e in transcript["entries"] if e["kind"] == "note"]
    assert ("exhibit", exhibit["text"]) in notes_kept and ("note", "Objection: hearsay") in notes_kept
    events = {e.get("event") for e in transcript["entries"]}
    assert {"opened", "admitted", "recording_paused", "recording_resumed", "camera_hidden", "camera_shown",
            "closed"} <= events
    status, page = await call("GET", f"/api/recordings/{hid}", token=judge)
    assert [p["reason"] for p in page["pauses"]][-1] == "paused"
    assert (await call("POST", "/api/logout", token=judge2))[0] == 200
    assert (await call("GET", "/api/me", token=judge2))[0] == 401  # token_revoked

    exercised = {(m, p) for m, p, s in contract.seen if s.startswith("2")}
    assert documented_operations(contract.document) - exercised == {("GET", "/api/openapi.json")}


async def exercise_the_archive(api: ApiClient, contract: Contract, *, clerk: str, judge: str, admin: str,
                               courtroom: str) -> None:
    """Every archive and share-link operation against the recording made before the server started."""

    async def call(method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        status, data = await api.call(method, path, body, token)
        contract.check(method, path, status, data)
        return status, data

    async def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
        """A media or captions URL: the token is in it, no Authorization header."""
        async with api.http.get(api.base + url, headers=headers or {}, allow_redirects=False) as response:
            payload = await response.read()
            if response.content_type == "application/json":
                contract.check("GET", url, response.status, json.loads(payload))
            else:
                contract.check_media("GET", url, response.status, response.content_type)
            return response.status, response.headers, payload

    recording = f"/api/recordings/{ARCHIVED}"
    query = "/api/recordings?case_number=cr-2026&court=District&judge=Haddad&from=2026-11-27&to=2026-11-27"
    status, found = await call("GET", query, token=clerk)
    assert status == 200 and [r["hearing_id"] for r in found["recordings"]] == [ARCHIVED]
    status, found = await call("GET", "/api/recordings?to=2026-11-26", token=judge)
    assert status == 200 and found["recordings"] == []
    assert (await call("GET", "/api/recordings?from=27.11.2026", token=clerk))[0] == 400
    assert (await call("GET", "/api/recordings", token=courtroom))[0] == 403
    status, page = await call("GET", recording, token=clerk)
    assert status == 200 and page["status"] == "final" and page["integrity"] == {"status": "unchecked"}
    assert (await call("GET", "/api/recordings/h_nope", token=clerk))[0] == 404
    status, transcript = await call("GET", f"{recording}/transcript", token=judge)
    assert status == 200 and transcript["hearing"]["id"] == ARCHIVED

    status, verified = await call("POST", f"{recording}/verify", token=clerk)
    assert status == 200 and verified["status"] == "verified" and verified["failures"] == []
    status, page = await call("GET", recording, token=admin)
    assert page["integrity"]["status"] == "verified"

    status, play = await call("POST", f"{recording}/links", {"purpose": "play"}, clerk)
    assert status == 200 and play["url"].startswith(f"{recording}/media?token=")
    assert (await call("POST", f"{recording}/links", {"purpose": "stream"}, clerk))[0] == 400
    status, headers, part = await fetch(play["url"], {"Range": "bytes=0-1023"})
    assert status in (200, 206) and headers["Content-Type"] == "video/mp4"
    if status == 206:
        assert len(part) == 1024 and headers["Content-Range"].startswith("bytes 0-1023/")
    status, _, _ = await fetch(play["url"].replace(ARCHIVED, "h_other"))
    assert status == 403
    assert (await fetch(f"{recording}/media?token=not-a-token"))[0] == 401
    assert (await fetch(f"{recording}/media"))[0] == 401
    status, headers, vtt = await fetch(play["captions_url"])
    assert status == 200 and vtt.startswith(b"WEBVTT")
    assert (await fetch(play["captions_url"].replace(ARCHIVED, "h_other")))[0] == 403
    status, download = await call("POST", f"{recording}/links", {"purpose": "download"}, judge)
    status, headers, whole = await fetch(download["url"])
    assert status == 200 and headers["Content-Disposition"] == \
        'attachment; filename="CR-2026-0007.mp4"; filename*=UTF-8\'\'CR-2026-0007.mp4'
    assert whole[4:8] == b"ftyp"
    status, manifest = await call("GET", f"{recording}/manifest", token=clerk)
    assert status == 200 and manifest["hearing_id"] == ARCHIVED and manifest["signature"]["algorithm"] == "Ed25519"
    status, packaged = await call("POST", f"{recording}/links", {"purpose": "package"}, clerk)
    assert status == 200 and packaged["url"].startswith(f"{recording}/package?token=")
    status, headers, archive = await fetch(packaged["url"])
    assert status == 200 and headers["Content-Type"] == "application/zip" and archive[:2] == b"PK"
    assert int(headers["Content-Length"]) == len(archive)
    assert (await fetch(play["url"].replace("/media?", "/package?")))[0] == 403  # a play token is not enough

    recipient = "Ana Silva (plaintiff)"
    status, share = await call("POST", f"{recording}/shares", {"recipient": recipient, "hours": 24}, clerk)
    assert status == 201 and "/shared#token=" in share["url"]
    assert (await call("POST", f"{recording}/shares", {"recipient": ""}, clerk))[0] == 400
    assert (await call("POST", f"{recording}/shares", {"recipient": "X", "hours": 0}, clerk))[0] == 400
    assert (await call("POST", f"{recording}/shares", {"recipient": "X"}, courtroom))[0] == 403
    token = share["url"].split("#token=", 1)[1]
    status, shared = await call("GET", "/api/shared", token=token)
    assert status == 200 and shared["hearing_id"] == ARCHIVED and shared["shared_with"] == recipient
    assert (await call("GET", "/api/shared", token=clerk))[0] == 401  # wrong_token_kind
    assert (await call("GET", "/api/shared"))[0] == 401  # unauthorized
    assert (await call("GET", "/api/shared/transcript", token=token))[0] == 200
    status, link = await call("POST", "/api/shared/links", {"purpose": "download"}, token)
    assert status == 200 and (await fetch(link["url"]))[0] == 200
    assert (await call("POST", "/api/shared/links", token=token))[0] == 200  # no body: play

    status, log = await call("GET", f"/api/audit?hearing_id={ARCHIVED}", token=clerk)
    actions = [e["action"] for e in log["entries"]]
    assert status == 200 and actions[0] == "shared_play"
    assert {"view", "verify", "play", "download", "share", "shared_view", "shared_download"} <= set(actions)
    assert (await call("GET", "/api/audit", token=judge))[0] == 403
    status, listed = await call("GET", f"{recording}/shares", token=clerk)
    assert status == 200 and listed["shares"][0]["share_id"] == share["share_id"]
    assert listed["shares"][0]["status"] == "active"
    assert (await call("GET", f"{recording}/shares", token=courtroom))[0] == 403
    status, revoked = await call("DELETE", f"{recording}/shares/{share['share_id']}", token=clerk)
    assert status == 200 and revoked == {"revoked": share["share_id"]}
    status, refused = await call("GET", "/api/shared", token=token)
    assert status == 401 and refused["error"]["code"] == "token_revoked"
    status, log = await call("GET", f"/api/audit?hearing_id={ARCHIVED}", token=admin)
    assert log["entries"][0]["action"] == "share_revoked"
    status, held = await call("POST", f"{recording}/hold", {"reason": "appeal pending"}, judge)
    assert status == 200 and held["legal_hold"] and held["hold"]["reason"] == "appeal pending"
    assert (await call("POST", f"{recording}/hold", {"reason": "x"}, clerk))[0] == 403
    assert (await call("POST", f"{recording}/hold", {}, judge))[0] == 400
    status, lifted = await call("DELETE", f"{recording}/hold", token=judge)
    assert status == 200 and not lifted["legal_hold"] and lifted["hold"] is None
    status, page = await call("GET", "/api/audit?limit=2&action=hold", token=admin)
    assert status == 200 and [e["action"] for e in page["entries"]] == ["hold"] and page["next_before"] is None
    status, found = await call("GET", "/api/recordings?limit=1&match=prefix&text=nothing", token=clerk)
    assert status == 200 and found["total"] == 0 and found["next_cursor"] is None

    status, devices = await call("GET", "/api/device-tokens", token=admin)
    assert status == 200 and [(d["id"], d["status"]) for d in devices["device_tokens"]] == [("dev_contract",
                                                                                            "active")]
    assert (await call("GET", "/api/device-tokens", token=judge))[0] == 403
    status, body = await call("DELETE", "/api/device-tokens/nope", token=admin)
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = await call("DELETE", "/api/device-tokens/dev_contract", token=admin)
    assert status == 200 and body["status"] == "revoked"
