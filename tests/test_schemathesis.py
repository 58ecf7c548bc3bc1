"""Schemathesis against the OpenAPI document a real server serves, as a judge, on real objects.

The server is `hearing-server` itself in a process of its own (the one tests/test_hostile_input.py uses).
Schemathesis reads /api/openapi.json from it and, for every operation, sends the document's examples, its
coverage cases (boundaries, missing and wrong-typed fields) and a bounded number of generated requests,
positive and negative. Each answer must be no server error, and must keep to the document: a documented
status code, a documented media type, a body that validates against the documented schema.

Requests go out as the presiding judge (a share token for /api/shared..., a clerk for the audit log), and
— when schemathesis generated the path in positive mode — at real objects seeded before the run: an open
hearing, a participant invited to it, a finished recording, a share of it and a play link. Operations that
would spoil those for the examples after them get fresh objects of their own each time: log-out a token
of its own, close a hearing of its own, reject or remove a participant of its own, revoke a share of its
own. A negatively generated path is left as generated: its answer (404, 400) is checked against the
document too.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hearing_server.api.openapi import openapi_document

from .test_hostile_input import HEARING, INVITE, PASSWORD, ServerUnderTest, Wire, wait_for_transcript

EXAMPLES_PER_OPERATION = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CONFIG = {
    "seed": 20261128,
    "generation": {"mode": "all", "max-examples": EXAMPLES_PER_OPERATION, "deterministic": True,
                   "database": "none"},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    # Seconds, not the default 10 minutes, should a request hang: a hang is a failure of its own.
    "request-timeout": 30,
}


@dataclass
class Court:
    """The seeded court: tokens, and the real objects positive cases are aimed at."""

    wire: Wire
    judge: str
    clerk: str
    hearing_id: str  # open, presided over by the judge
    participant_id: str  # invited to it
    recording_id: str  # a closed hearing's finished recording
    share_id: str
    share_token: str
    media_token: str  # a play link's

    def fresh_hearing(self) -> str:
        return self.wire.ok("POST", "/api/hearings", HEARING, token=self.judge)["id"]

    def fresh_participant(self) -> str:
        return self.wire.ok("POST", f"/api/hearings/{self.hearing_id}/invites", INVITE,
                            token=self.judge)["participant"]["id"]

    def fresh_share(self) -> str:
        return self.wire.ok("POST", f"/api/recordings/{self.recording_id}/shares", {"recipient": "Ms Ada Okafor"},
                            token=self.clerk)["share_id"]

    def aim(self, case: Case) -> None:
        """The case's token, and — for a positively generated path — real objects to act on."""
        path, method = case.operation.path, case.method.upper()
        if path.startswith("/api/shared"):
            token = self.share_token
        elif path == "/api/audit":
            token = self.clerk  # a judge may not read the audit log (403, documented: checked by a unit test)
        elif path == "/api/logout":
            # A log-in of its own to end (the usher's: generated log-ins may throttle the judge's account).
            token = self.wire.ok("POST", "/api/login", {"username": "usher", "password": PASSWORD})["token"]
        else:
            token = self.judge
        case.headers["Authorization"] = f"Bearer {token}"
        meta = case.meta
        negative_query = meta is not None and meta.is_negative_at(ParameterLocation.QUERY)
        if path.endswith(("/media", "/captions.vtt")) and not negative_query:
            case.query = {**(case.query or {}), "token": self.media_token}
        if not case.path_parameters or meta is not None and meta.is_negative_at(ParameterLocation.PATH):
            return
        params = dict(case.path_parameters)
        if "hearing_id" in params:
            if path.startswith("/api/recordings"):
                params["hearing_id"] = self.recording_id
            elif path.endswith("/close"):
                params["hearing_id"] = self.fresh_hearing()  # closing is for good
            else:
                params["hearing_id"] = self.hearing_id
        if "participant_id" in params:
            final = path.endswith(("/reject", "/remove"))
            params["participant_id"] = self.fresh_participant() if final else self.participant_id
        if "share_id" in params:
            params["share_id"] = self.fresh_share() if method == "DELETE" else self.share_id
        case.path_parameters = params


@pytest.fixture(scope="module")
def court() -> Iterator[Court]:
    root = Path(tempfile.mkdtemp(prefix="schemathesis-"))
    server = ServerUnderTest(root)
    wire: Wire | None = None
    try:
        server.add_accounts()
        server.start()
        wire = Wire(server)
        judge, clerk = wire.login("judge"), wire.login("clerk")
        recording = wire.ok("POST", "/api/hearings", {**HEARING, "case_number": "CR-2026-0007"}, token=judge)["id"]
        wire.ok("POST", f"/api/hearings/{recording}/open", token=judge)
        wire.ok("POST", f"/api/hearings/{recording}/notes", {"text": "Exhibit P-3 shown", "kind": "exhibit"},
                token=clerk)
        time.sleep(1.0)
        wire.ok("POST", f"/api/hearings/{recording}/close", token=judge)
        wait_for_transcript(wire, recording)
        share = wire.ok("POST", f"/api/recordings/{recording}/shares", {"recipient": "Ms Ada Okafor"}, token=clerk)
        play = wire.ok("POST", f"/api/recordings/{recording}/links", {"purpose": "play"}, token=judge)
        hearing = wire.ok("POST", "/api/hearings", HEARING, token=judge)["id"]
        wire.ok("POST", f"/api/hearings/{hearing}/open", token=judge)
        participant = wire.ok("POST", f"/api/hearings/{hearing}/invites", INVITE, token=judge)["participant"]["id"]
        yield Court(wire, judge, clerk, hearing, participant, recording, share["share_id"],
                    share["url"].split("#token=")[1], play["url"].split("token=")[1])
    finally:
        if wire is not None:
            wire.close()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# The document the operations are generated from: the server's own. schemathesis' lazy loading (generating
# from the document fetched from the running server at test time) does not run under pytest 9 (4.32 sets
# the removed `Function._nodeid`), so the tests are generated from the document the code builds, and
# `served` below checks that the running server serves exactly that document before any case is sent.
DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture(scope="module")
def served(court: Court) -> Court:
    answer = court.wire.call("GET", "/api/openapi.json")
    assert answer.status == 200 and answer.json == json.loads(json.dumps(DOCUMENT)), \
        "the running server serves another document than the one these tests were generated from"
    return court


@schema.parametrize()
@settings(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_the_served_document(case: Case, served: Court) -> None:
    served.aim(case)
    case.call_and_validate(base_url=served.wire.server.url, checks=CHECKS)
    assert served.wire.server.exit_status() is None, served.wire.server.postmortem()
