"""The OpenAPI document: valid OpenAPI 3.1, in step with the routes, and true to what the server answers."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from hearing_server.api.openapi import ERROR_CODES, openapi_document

from .helpers import Participant

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
SIGNALING = "/api/signal"


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


async def test_answers_match_the_document(api, server):
    contract = Contract()

    async def call(method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        status, data = await api.call(method, path, body, token)
        contract.check(method, path, status, data)
        return status, data

    status, data = await call("GET", "/api/health")
    assert status == 200
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

    status, invitation = await call("POST", f"/api/hearings/{hid}/invites", {
        "name": "Ana Silva", "role": "plaintiff", "phone": "+351 912 345 678", "email": "ana@example.org"},
        clerk)
    assert status == 201 and invitation["join_url"].endswith("/join#token=" + invitation["token"])
    invites = f"/api/hearings/{hid}/invites"
    status, second = await call("POST", invites, {"name": "Ben Okafor", "role": "witness"}, judge)
    assert (await call("POST", invites, {"name": "X", "role": "judge"}, judge))[0] == 400
    ana_id, ben_id = invitation["participant"]["id"], second["participant"]["id"]
    base = str(server.make_url("")).rstrip("/")
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
        for action in ("mute", "unmute"):
            assert (await call("POST", f"{pid}/{action}", token=judge))[0] == 200
        assert (await call("POST", f"{pid}/mute", token=clerk))[0] == 403
        assert (await call("POST", f"/api/hearings/{hid}/participants/p_nope/mute", token=judge))[0] == 404
        assert (await call("POST", f"{pid}/remove", {"reason": "contempt"}, judge))[0] == 200
        status, _ = await call("POST", f"/api/hearings/{hid}/participants/{ben_id}/reject",
                               {"reason": "not on the list"}, clerk)
        assert status == 200
    finally:
        await ana.close()
    assert (await call("POST", f"/api/hearings/{hid}/close", token=judge))[0] == 200
    assert (await call("POST", invites, {"name": "Y", "role": "witness"}, judge))[0] == 409
    assert (await call("POST", "/api/logout", token=judge2))[0] == 200
    assert (await call("GET", "/api/me", token=judge2))[0] == 401  # token_revoked

    exercised = {(m, p) for m, p, s in contract.seen if s.startswith("2")}
    assert documented_operations(contract.document) - exercised == {("GET", "/api/openapi.json")}
