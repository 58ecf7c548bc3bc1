"""The OpenAPI 3.1 description of the HTTP API, served at /api/openapi.json.

Written by hand from hearing_server/api/routes.py and hearing_server/court.py; tests/test_openapi.py fails
when a route is added or removed without this document following. The prose version is docs/api.md, and
the signaling WebSocket (not an OpenAPI operation) is docs/signaling.md.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..court import FIELD_LIMIT
from ..models import HearingStatus, ParticipantState
from ..roles import PARTY_ROLES, STAFF_ROLES, Permission, Role

Json = dict[str, Any]

# Every machine-readable error code the HTTP API returns: HTTP status, a real message, and what it means.
ERROR_CODES: dict[str, tuple[int, str, str]] = {
    "bad_request": (400, "title is required",
                    "A field is missing, has the wrong type, is longer than 200 characters, or the body is "
                    "not a JSON object."),
    "malformed_json": (400, "the body is not valid JSON", "The request body could not be parsed as JSON."),
    "unauthorized": (401, "send 'Authorization: Bearer <token>'",
                     "No `Authorization: Bearer <token>` header."),
    "invalid_token": (401, "the token is not valid (Signature verification failed)",
                      "The token is malformed, has a bad signature or incomplete claims."),
    "token_expired": (401, "the token has expired", "The token's `exp` has passed: log in again."),
    "wrong_token_kind": (401, "a invite token cannot be used here",
                         "An invite or session token was sent where a staff token is needed."),
    "token_revoked": (401, "this token has been revoked", "The token's id was revoked (logout, removal)."),
    "account_changed": (401, "this account was removed or changed; log in again",
                        "The staff account behind the token was removed, disabled or given another role."),
    "invalid_credentials": (401, "wrong username or password",
                            "Unknown username, wrong password or disabled account (not told apart)."),
    "forbidden": (403, "a clerk may not control hearing", "The caller's role lacks the permission."),
    "not_presiding_judge": (403, "only the presiding judge may do this",
                            "A judge acted on a hearing presided over by another judge."),
    "not_found": (404, "hearing not found", "No such hearing, or no such participant in this hearing."),
    "hearing_closed": (409, "the hearing is closed", "The hearing is closed; it cannot be changed any more."),
    "hearing_not_open": (409, "the hearing has not been opened yet",
                         "The action needs an open hearing (or one in recess); this one is still scheduled."),
    "not_in_lobby": (409, "the participant is admitted, not waiting in the lobby",
                     "Admit and reject apply only to someone waiting in the lobby (reject: or still "
                     "invited)."),
    "invite_used": (409, "this invitation was already used",
                    "The invitation was already spent (for example a second, concurrent admit)."),
    "not_in_hearing": (409, "the participant is not in the hearing",
                       "Mute and unmute apply only to someone admitted (connected or within the reconnect "
                       "grace period)."),
    "cannot_remove_self": (409, "use leave, not remove, for yourself",
                           "A staff member tried to remove their own seat."),
    "payload_too_large": (413, "Request Entity Too Large", "The request body is larger than 256 KiB."),
    "too_many_attempts": (429, "too many failed log-ins; wait a minute",
                          "Too many failed log-ins from this client address in the last minute; until the "
                          "oldest of them is a minute old, even the right password is refused."),
}

STATUS_TEXT = {400: "Bad request", 401: "Not authenticated", 403: "Not allowed", 404: "Not found",
               409: "Conflict with the hearing's or participant's state", 413: "Body too large",
               429: "Too many attempts"}

AUTH_ERRORS = ("unauthorized", "invalid_token", "token_expired", "wrong_token_kind", "token_revoked",
               "account_changed")
BODY_ERRORS = ("bad_request", "malformed_json", "payload_too_large")

DESCRIPTION = f"""\
HTTP API of the remote court hearing server: staff log in, create and run hearings, invite parties,
admit them from the lobby and moderate the hearing.

**Authentication.** `POST /api/login` returns a staff token (a JWT signed with HS256). Send it as
`Authorization: Bearer <token>` on every other call. Invite tokens (in join links) and session tokens
(handed to an admitted participant) are only accepted by the signaling WebSocket, never by this API.

**Errors.** Every failure is JSON: `{{"error": {{"code": "...", "message": "...", "details": {{...}}}}}}`.
`code` is stable and machine-readable; `message` is for people; `details` is optional.

**Text fields** are trimmed, runs of white space collapse to one space, and each is limited to
{FIELD_LIMIT} characters.

**Signaling.** The live part of a hearing (lobby, admission, media, previews) runs over the WebSocket
`GET /api/signal` (`ws://` or `wss://`), which is not an OpenAPI operation: see `docs/signaling.md`.
"""


# -- small builders ------------------------------------------------------------------------------------


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def text(description: str, example: str | None = None, **extra: Any) -> Json:
    schema: Json = {"type": "string", "maxLength": FIELD_LIMIT, "description": description, **extra}
    if example is not None:
        schema["examples"] = [example]
    return schema


def string(description: str, example: Any = None, **extra: Any) -> Json:
    schema: Json = {"type": "string", "description": description, **extra}
    if example is not None:
        schema["examples"] = [example]
    return schema


def boolean(description: str) -> Json:
    return {"type": "boolean", "description": description}


def timestamp(description: str, nullable: bool = True, integer: bool = False) -> Json:
    kind = "integer" if integer else "number"
    return {"type": [kind, "null"] if nullable else kind,
            "description": description + " (Unix time, seconds)"}


def obj(properties: Json, required: list[str] | tuple[str, ...] | None = None,
        description: str = "", closed: bool = False) -> Json:
    schema: Json = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else list(required)
    if description:
        schema["description"] = description
    if closed:
        schema["additionalProperties"] = False
    return schema


def enum(values: list[str], description: str) -> Json:
    return {"type": "string", "enum": values, "description": description}


def array(items: Json, description: str = "") -> Json:
    schema: Json = {"type": "array", "items": items}
    if description:
        schema["description"] = description
    return schema


def json_content(schema: Json, example: Any = None) -> Json:
    media: Json = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def ok(description: str, schema: Json, example: Any = None) -> Json:
    return {"description": description, "content": json_content(schema, example)}


def errors(*codes: str, messages: dict[str, str] | None = None) -> Json:
    """The error responses for these codes, grouped by HTTP status, each code with an example.

    `messages` replaces the example message of a code where the operation words it differently.
    """
    messages = messages or {}
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERROR_CODES[code][0], []).append(code)
    responses: Json = {}
    for status, group in sorted(by_status.items()):
        lines = "\n".join(f"- `{c}`: {ERROR_CODES[c][2]}" for c in group)
        responses[str(status)] = {
            "description": f"{STATUS_TEXT[status]}. `error.code` is one of:\n\n{lines}",
            "content": {"application/json": {
                "schema": ref("Error"),
                "examples": {c: {"summary": ERROR_CODES[c][2],
                                 "value": {"error": {"code": c,
                                                     "message": messages.get(c, ERROR_CODES[c][1])}}}
                             for c in group},
            }},
        }
    return responses


def body(schema_name: str, required: bool = True, description: str = "") -> Json:
    request: Json = {"required": required, "content": json_content(ref(schema_name))}
    if description:
        request["description"] = description
    return request


def operation(op_id: str, tag: str, summary: str, description: str, responses: Json, *,
              request: Json | None = None, params: list[Json] | None = None, public: bool = False) -> Json:
    op: Json = {"operationId": op_id, "tags": [tag], "summary": summary, "description": description,
                "responses": responses}
    if params:
        op["parameters"] = params
    if request is not None:
        op["requestBody"] = request
    if public:
        op["security"] = []  # no token needed
    return op


HEARING_ID: Json = {"name": "hearing_id", "in": "path", "required": True, "description": "The hearing's id.",
                    "schema": string("Hearing id", "h_qPa5UpwSaMTa")}
PARTICIPANT_ID: Json = {"name": "participant_id", "in": "path", "required": True,
                        "description": "The participant's id (within the hearing).",
                        "schema": string("Participant id", "p_uFiSzqT_GQxw")}


# -- schemas ----------------------------------------------------------------------------------------


def schemas() -> Json:
    party_roles = sorted(r.value for r in PARTY_ROLES)
    staff_roles = sorted(r.value for r in STAFF_ROLES)
    public: Json = {
        "id": string("Participant id", "p_uFiSzqT_GQxw"),
        "name": string("Name as the court wrote it on the invitation (staff: the account's display name)"),
        "role": ref("Role"),
        "state": ref("ParticipantState"),
        "muted": boolean("Muted, by the court or by themselves"),
        "muted_by_court": boolean("Muted by the court (the participant cannot unmute)"),
        "camera_off": boolean("The participant turned their camera off"),
    }
    return {
        "Error": obj({
            "error": obj({
                "code": string("Stable machine-readable code (see the list in docs/api.md)", "not_found"),
                "message": string("A sentence for people; may change between versions", "hearing not found"),
                "details": {"type": "object", "description": "Optional extra facts about the failure",
                            "additionalProperties": True},
            }, required=["code", "message"]),
        }, description="Every HTTP failure has this shape."),
        "Role": enum([r.value for r in Role], "Staff roles (judge, clerk, courtroom, admin) log in with an "
                     "account; party roles are invited."),
        "StaffRole": enum(staff_roles, "Roles that have an account and a password"),
        "PartyRole": enum(party_roles, "Roles a person can be invited as"),
        "Permission": enum([p.value for p in Permission],
                           "What a staff role may do (docs/api.md has the table)"),
        "HearingStatus": enum([s.value for s in HearingStatus],
                              "scheduled → open ⇄ recess → closed (closed is final)"),
        "ParticipantState": enum([s.value for s in ParticipantState],
                                 "invited → waiting (lobby) → admitted ⇄ disconnected → left; or rejected, "
                                 "removed"),
        "Hearing": obj({
            "id": string("Hearing id", "h_qPa5UpwSaMTa"),
            "case_number": string("Case number", "CV-2026-0142"),
            "title": string("Case title", "Haddad v. Northwind Ltd"),
            "court": string("Court name (may be empty)", "District Court"),
            "courtroom": string("Courtroom (may be empty)", "Courtroom 3"),
            "scheduled_start": string("Start as the court typed it, ISO 8601 by convention (may be empty)",
                                      "2026-11-28T09:00:00Z"),
            "judge": string("Username of the presiding judge", "judge"),
            "judge_name": string("Display name of the presiding judge", "Judge Amira Haddad"),
            "status": ref("HearingStatus"),
            "locked": boolean("Locked: nobody new may enter the lobby"),
            "recording_paused": boolean("The judge paused the recording (it resumes on request)"),
            "created_at": timestamp("Created", nullable=False),
            "opened_at": timestamp("First opened"),
            "closed_at": timestamp("Closed"),
        }),
        "HearingCreate": obj({
            "case_number": text("Case number", "CV-2026-0142", minLength=1),
            "title": text("Case title", "Haddad v. Northwind Ltd", minLength=1),
            "court": text("Court name", "District Court"),
            "courtroom": text("Courtroom", "Courtroom 3"),
            "scheduled_start": text("Scheduled start, ISO 8601 by convention (stored as typed)",
                                    "2026-11-28T09:00:00Z"),
            "judge": text("Admins only, and required for them: username of the presiding judge. Ignored for "
                          "judges, who always preside over the hearings they create.", "judge2"),
            "judge_name": text("Admins only: the judge's display name (default: the username)",
                               "Judge Bo Lindqvist"),
        }, required=["case_number", "title"]),
        "HearingList": obj({"hearings": array(ref("Hearing"), "Newest first")}),
        "PublicParticipant": obj(public, description="What other participants may see of a person: no "
                                 "contact details, no token ids."),
        "Participant": obj({
            "id": string("Participant id", "p_uFiSzqT_GQxw"),
            "hearing_id": string("Hearing id", "h_qPa5UpwSaMTa"),
            "name": string("Name as the court wrote it on the invitation", "Ana Silva"),
            "role": ref("Role"),
            "state": ref("ParticipantState"),
            "phone": string("Phone number given on the invitation (may be empty)"),
            "email": string("E-mail address given on the invitation (may be empty)"),
            "stated_name": string("The name the person typed on the join page, for the identity check"),
            "username": string("Staff account username; empty for invited parties"),
            "invite_expires_at": {"type": "number",
                                  "description": "When the join link expires (Unix time; 0 for staff)"},
            "muted_by_court": boolean("Muted by the court"),
            "self_muted": boolean("Muted by themselves"),
            "camera_off": boolean("Camera turned off by themselves"),
            "invited_at": timestamp("Invited (staff: first joined)", nullable=False),
            "lobby_at": timestamp("Entered the lobby"),
            "admitted_at": timestamp("Admitted"),
            "disconnected_at": timestamp("Connection lost (while within the reconnect grace period)"),
            "left_at": timestamp("Left, was removed, or the hearing closed"),
            "left_reason": string("Why they left: 'connection lost' (a session token brings them back to the "
                                  "lobby), or empty"),
        }, description="The court's view of a participant, contact details included (token ids left out)."),
        "ParticipantList": obj({"participants": array(ref("Participant"))}),
        "LobbyEntrant": obj({
            **public,
            "stated_name": string("The name typed on the join page"),
            "waiting_since": timestamp("Entered the lobby"),
            "phone": string("Phone number from the invitation"),
            "email": string("E-mail address from the invitation"),
            "online": boolean("Connected to signaling right now (false: their connection dropped; they may "
                              "come back with the same link)"),
        }, description="A person waiting in the lobby: PublicParticipant and what the identity check needs."),
        "LobbyList": obj({"entrants": array(ref("LobbyEntrant"), "First arrival first")}),
        "InvitationRequest": obj({
            "name": text("The person's name, as the court knows it", "Ana Silva", minLength=1),
            "role": {**ref("PartyRole"), "description": "The role they are invited as"},
            "phone": text("Phone number (for the court's records; not sent anywhere)", "+351 912 345 678"),
            "email": text("E-mail address (for the court's records; not sent anywhere)",
                          "ana.silva@example.org"),
        }, required=["name", "role"]),
        "Invitation": obj({
            "participant": ref("Participant"),
            "token": string("The invite token (JWT): opens the lobby door once, through signaling"),
            "join_url": string("Join link: `<public_url>/join#token=<token>`; the token rides in the URL "
                               "fragment, which browsers never send to a server",
                               "https://court.example.org/join#token=eyJhbGciOi..."),
            "expires_at": {"type": "integer", "description": "When the invite token expires (Unix time)"},
            "qr_svg": string("QR code of join_url as an SVG data: URI (given once, here, never served again)",
                             "data:image/svg+xml;charset=utf-8,%3Csvg..."),
            "qr_png": string("QR code of join_url as a PNG data: URI",
                             "data:image/png;base64,iVBORw0KGgo..."),
        }),
        "ParticipantActionRequest": obj({
            "reason": text("Why (reject and remove only): told to the person and carried in the court event",
                           "wrong person on camera"),
        }, required=[]),
        "LoginRequest": obj({
            "username": string("Account username", "judge", minLength=1, maxLength=63),
            "password": string("Password", "correct horse battery", minLength=1),
        }),
        "StaffUser": obj({
            "username": string("Account username", "judge"),
            "display_name": string("Name shown in hearings", "Judge Amira Haddad"),
            "role": ref("StaffRole"),
        }),
        "LoginResponse": obj({
            "token": string("Staff token (JWT, HS256); send as `Authorization: Bearer <token>`"),
            "expires_at": {"type": "integer",
                           "description": "When the token expires (Unix time; auth.staff_ttl_hours)"},
            "user": ref("StaffUser"),
            "permissions": array(ref("Permission"), "What this account's role may do, sorted"),
        }),
        "Me": obj({
            "username": string("Account username", "judge"),
            "display_name": string("Name shown in hearings (from the token)", "Judge Amira Haddad"),
            "role": ref("StaffRole"),
            "permissions": array(ref("Permission"), "What this role may do, sorted"),
        }),
        "Health": obj({
            "status": enum(["ok", "degraded"], "degraded when the state store does not answer"),
            "store": boolean("The state store (memory or Redis) answered a ping"),
        }),
    }


# -- paths ------------------------------------------------------------------------------------------


def hearing_action(action: str, summary: str, description: str, conflicts: tuple[str, ...]) -> Json:
    return {"post": operation(
        f"{action}Hearing", "hearings", summary,
        description + "\n\nNeeds `control_hearing` (judge: the presiding judge only; admin). Takes no body.",
        {"200": ok("The hearing after the change", ref("Hearing")),
         **errors(*AUTH_ERRORS, "forbidden", "not_presiding_judge", "not_found", *conflicts)},
        params=[HEARING_ID])}


def participant_action(action: str, summary: str, description: str, permission: str,
                       conflicts: tuple[str, ...], reason: bool = False) -> Json:
    note = ("\n\nThe body is optional; when sent it must be a JSON object. " +
            ("`reason` is told to the person and carried in the court event." if reason
             else "It is ignored."))
    return {"post": operation(
        f"{action}Participant", "participants", summary,
        f"{description}\n\nNeeds `{permission}` (judge: the presiding judge only).{note}",
        {"200": ok("The participant after the change (court view)", ref("Participant")),
         **errors("bad_request", "malformed_json", "payload_too_large", *AUTH_ERRORS, "forbidden",
                  "not_presiding_judge", "not_found", *conflicts,
                  messages={"forbidden": f"a courtroom may not {permission}",
                            "not_found": "participant not found",
                            "bad_request": "reason must be a string" if reason
                            else "the body must be a JSON object"})},
        request=body("ParticipantActionRequest", required=False) if reason else None,
        params=[HEARING_ID, PARTICIPANT_ID])}


def paths() -> Json:
    return {
        "/api/health": {"get": operation(
            "health", "system", "Health check",
            "Whether the server and its state store answer. Needs no token.",
            {"200": ok("Healthy", ref("Health"), {"status": "ok", "store": True}),
             "503": ok("The state store does not answer", ref("Health"),
                       {"status": "degraded", "store": False})},
            public=True)},
        "/api/openapi.json": {"get": operation(
            "openapi", "system", "This document", "The OpenAPI 3.1 description of the HTTP API.",
            {"200": ok("The OpenAPI document", {"type": "object"})}, public=True)},
        "/api/login": {"post": operation(
            "login", "auth", "Log in (staff)",
            "Exchanges a staff account's username and password for a staff token. Accounts are made on the "
            "server with `hearing-server users add`. Failed log-ins are counted per client address over a "
            "sliding minute; once there are `auth.login_attempts_per_minute` of them (10 by default), every "
            "log-in from that address gets 429 until the oldest failure is a minute old.",
            {"200": ok("Logged in", ref("LoginResponse")),
             **errors("bad_request", "malformed_json", "payload_too_large", "invalid_credentials",
                      "too_many_attempts")},
            request=body("LoginRequest"), public=True)},
        "/api/logout": {"post": operation(
            "logout", "auth", "Log out",
            "Revokes the staff token sent with the request: it is refused from now until it would have "
            "expired. Other log-ins of the same account are unaffected.",
            {"200": ok("Logged out", {"type": "object", "required": ["logged_out"],
                                      "properties": {"logged_out": {"type": "boolean", "const": True}},
                                      "additionalProperties": False}),
             **errors(*AUTH_ERRORS)})},
        "/api/me": {"get": operation(
            "me", "auth", "Who am I",
            "The account behind the staff token, and what its role may do.",
            {"200": ok("The caller", ref("Me")), **errors(*AUTH_ERRORS)})},
        "/api/hearings": {
            "post": operation(
                "createHearing", "hearings", "Create a hearing",
                "Needs `create_hearing` (judge, admin). A judge presides over the hearings they create; an "
                "admin must name the presiding judge in `judge`. The hearing starts `scheduled`.",
                {"201": ok("Created", ref("Hearing")),
                 **errors(*BODY_ERRORS, *AUTH_ERRORS, "forbidden",
                          messages={"forbidden": "a clerk may not create hearing"})},
                request=body("HearingCreate")),
            "get": operation(
                "listHearings", "hearings", "List hearings",
                "Every hearing of the court, newest first. Needs `view_hearing` (every staff role).",
                {"200": ok("The hearings", ref("HearingList")), **errors(*AUTH_ERRORS)},
                params=[{"name": "status", "in": "query", "required": False,
                         "description": "Only hearings in this status (any other value matches nothing)",
                         "schema": ref("HearingStatus")}]),
        },
        "/api/hearings/{hearing_id}": {"get": operation(
            "getHearing", "hearings", "Get a hearing", "Needs `view_hearing` (every staff role).",
            {"200": ok("The hearing", ref("Hearing")),
             **errors(*AUTH_ERRORS, "not_found")},
            params=[HEARING_ID])},
        "/api/hearings/{hearing_id}/open": hearing_action(
            "open", "Open the hearing",
            "scheduled → open: starts the hearing clock and the composite. Opening an open hearing, or one "
            "in recess, changes nothing.", ("hearing_closed",)),
        "/api/hearings/{hearing_id}/lock": hearing_action(
            "lock", "Lock the hearing",
            "Nobody new may enter the lobby (people already waiting stay). Allowed while scheduled.",
            ("hearing_closed",)),
        "/api/hearings/{hearing_id}/unlock": hearing_action(
            "unlock", "Unlock the hearing", "Lets people enter the lobby again.", ("hearing_closed",)),
        "/api/hearings/{hearing_id}/recess": hearing_action(
            "recess", "Call a recess",
            "open → recess: the composite shows a recess banner and the audio mix is silenced.",
            ("hearing_closed", "hearing_not_open")),
        "/api/hearings/{hearing_id}/resume": hearing_action(
            "resume", "Resume after a recess", "recess → open.", ("hearing_closed", "hearing_not_open")),
        "/api/hearings/{hearing_id}/close": hearing_action(
            "close", "Close the hearing",
            "→ closed, for good: every invite and session token of the hearing is revoked, everyone still "
            "invited, waiting or admitted is marked `left`, and every signaling connection is closed (4411). "
            "Closing a closed hearing changes nothing.", ()),
        "/api/hearings/{hearing_id}/invites": {"post": operation(
            "invite", "invitations", "Invite a party",
            "Creates a participant and a join link for them. Needs `invite` (judge: the presiding judge "
            "only; clerk; admin). The link holds an invite token, valid for `auth.invite_ttl_hours` (72 by "
            "default), which brings its holder into the lobby only; the court admits them from there. The "
            "token and the QR codes are returned once, here, and are not stored by the server in readable "
            "form: deliver them to the person.",
            {"201": ok("Invited", ref("Invitation")),
             **errors(*BODY_ERRORS, *AUTH_ERRORS, "forbidden", "not_presiding_judge", "not_found",
                      "hearing_closed", messages={"forbidden": "a courtroom may not invite",
                                                  "bad_request": "name is required"})},
            request=body("InvitationRequest"), params=[HEARING_ID])},
        "/api/hearings/{hearing_id}/lobby": {"get": operation(
            "lobby", "lobby", "Who is waiting in the lobby",
            "People in state `waiting`, first arrival first, with what the identity check needs. Needs "
            "`admit` (judge: the presiding judge only; clerk; admin). Someone who lost their connection "
            "while waiting stays listed until admitted, rejected or removed; the signaling `lobby` message "
            "also says who is online.",
            {"200": ok("The lobby", ref("LobbyList")),
             **errors(*AUTH_ERRORS, "forbidden", "not_presiding_judge", "not_found",
                      messages={"forbidden": "a courtroom may not admit"})},
            params=[HEARING_ID])},
        "/api/hearings/{hearing_id}/participants": {"get": operation(
            "participants", "participants", "The roster",
            "By default the people in the hearing (`admitted` or `disconnected`). With `all=1` (or "
            "`all=true`) everyone ever invited to or joined the hearing, in any state, in invitation order. "
            "Needs `view_hearing` (every staff role).",
            {"200": ok("The participants (court view)", ref("ParticipantList")),
             **errors(*AUTH_ERRORS, "not_found")},
            params=[HEARING_ID, {"name": "all", "in": "query", "required": False,
                                 "description": "`1` or `true`: every participant, in any state",
                                 "schema": {"type": "string", "enum": ["1", "true"]}}])},
        "/api/hearings/{hearing_id}/participants/{participant_id}/admit": participant_action(
            "admit", "Admit from the lobby",
            "waiting → admitted. Spends the invitation (atomically: of two concurrent admits one wins, the "
            "other gets `invite_used`) and issues a session token, which reaches the participant in the "
            "signaling `admitted` message, not in this response. The hearing must be open or in recess.",
            "admit", ("hearing_closed", "hearing_not_open", "not_in_lobby", "invite_used")),
        "/api/hearings/{hearing_id}/participants/{participant_id}/reject": participant_action(
            "reject", "Turn away from the lobby",
            "waiting (or still invited) → rejected. Revokes the person's tokens; their signaling connection "
            "gets `rejected` and is closed (4403). They cannot come back with the same link.",
            "admit", ("not_in_lobby",), reason=True),
        "/api/hearings/{hearing_id}/participants/{participant_id}/mute": participant_action(
            "mute", "Mute (by the court)",
            "The participant's microphone is taken out of the mix and they cannot unmute themselves. They "
            "get a signaling `muted` message. The hearing must be open or in recess.",
            "moderate", ("hearing_closed", "hearing_not_open", "not_in_hearing")),
        "/api/hearings/{hearing_id}/participants/{participant_id}/unmute": participant_action(
            "unmute", "Lift the court's mute",
            "Lifts the court's mute (a participant who also muted themselves stays muted). The hearing must "
            "be open or in recess.",
            "moderate", ("hearing_closed", "hearing_not_open", "not_in_hearing")),
        "/api/hearings/{hearing_id}/participants/{participant_id}/remove": participant_action(
            "remove", "Remove from the hearing",
            "Any state → removed, for good: revokes the person's tokens; their signaling connection gets "
            "`removed` and is closed (4410). Removing someone already removed or rejected changes nothing.",
            "moderate", ("cannot_remove_self",), reason=True),
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Courtroom hearing server",
            "version": __version__,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": [
            {"name": "system", "description": "Health and this document"},
            {"name": "auth", "description": "Staff log-in and tokens"},
            {"name": "hearings", "description": "Create, list and run hearings"},
            {"name": "invitations", "description": "Join links for the parties"},
            {"name": "lobby", "description": "The waiting room"},
            {"name": "participants", "description": "The roster, admission and moderation"},
        ],
        "security": [{"bearerAuth": []}],
        "paths": paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A staff token from POST /api/login (kind `staff`, HS256).",
            }},
            "schemas": schemas(),
        },
    }
