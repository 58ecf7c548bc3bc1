"""The OpenAPI 3.1 description of the HTTP API, served at /api/openapi.json.

Written by hand from hearing_server/api/routes.py, hearing_server/api/archive.py and hearing_server/court.py;
tests/test_openapi.py fails
when a route is added or removed without this document following. The prose version is docs/api.md, and
the signaling WebSocket (not an OpenAPI operation) is docs/signaling.md.
"""

from __future__ import annotations

from typing import Any

from recorder.audit import ACTIONS as AUDIT_ACTIONS
from recorder.catalog import PAGE_LIMIT, TOTAL_CAP
from recorder.transcript import NOTE_KINDS

from .. import __version__
from ..config import StorageSettings
from ..court import FIELD_LIMIT
from ..models import HearingStatus, ParticipantState
from ..roles import PARTY_ROLES, STAFF_ROLES, Permission, Role
from .archive import PURPOSES

Json = dict[str, Any]

# Every machine-readable error code the HTTP API returns: HTTP status, a real message, and what it means.
ERROR_CODES: dict[str, tuple[int, str, str]] = {
    "bad_request": (400, "title is required",
                    "A field or query parameter is missing, has the wrong type or value, is longer than 200 "
                    "characters (2000 for a log note's text), or the body is not a JSON object."),
    "malformed_json": (400, "the body is not valid JSON", "The request body could not be parsed as JSON."),
    "unauthorized": (401, "send 'Authorization: Bearer <token>'",
                     "No `Authorization: Bearer <token>` header."),
    "invalid_token": (401, "the token is not valid: its signature does not match",
                      "The token is malformed, has a bad signature or incomplete claims."),
    "token_expired": (401, "the token has expired", "The token's `exp` has passed: log in again."),
    "wrong_token_kind": (401, "an invite token cannot be used here",
                         "A token of another kind was sent: an invite, session, share or media token where a "
                         "staff token is needed, a staff token where a share link's token is needed, and so "
                         "on."),
    "token_revoked": (401, "this token has been revoked",
                      "The token's id was revoked (logout, removal, a share link taken back)."),
    "account_changed": (401, "this account was removed or changed; log in again",
                        "The staff account behind the token was removed, disabled or given another role."),
    "invalid_credentials": (401, "wrong username or password",
                            "Unknown username, wrong password or disabled account (not told apart)."),
    "forbidden": (403, "a clerk may not control hearing", "The caller's role lacks the permission."),
    "not_presiding_judge": (403, "only the presiding judge may do this",
                            "A judge acted on a hearing presided over by another judge."),
    "wrong_courtroom": (403, "this courtroom PC belongs to another courtroom",
                        "A courtroom PC's token is bound to its courtroom: it sees and publishes into the "
                        "hearings held there and no others."),
    "not_found": (404, "hearing not found",
                  "No such hearing, no such participant in this hearing, or no such recording in the "
                  "archive."),
    "hearing_closed": (409, "the hearing is closed", "The hearing is closed; it cannot be changed any more."),
    "no_invitation": (409, "there is no invitation to renew for a removed participant",
                      "A new link is only for a party the court has not rejected or removed (staff join without one)."),
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
    "recording_disabled": (409, "recording is turned off on this server",
                           "Pause or resume of the recording on a server with `recording.enabled = false`."),
    "payload_too_large": (413, "Request Entity Too Large", "The request body is larger than 256 KiB."),
    "too_many_attempts": (429, "too many failed log-ins; try again in 42 s",
                          "Too many failed log-ins from this client address in the last minute (until the "
                          "oldest of them is a minute old, even the right password is refused), or too many "
                          "failed log-ins on this account from anywhere (after 5, each further try waits "
                          "twice as long as the last, up to 15 minutes). `details.retry_after` says how many "
                          "seconds to wait."),
    "server_full": (503, "this server cannot carry another hearing now: every media worker is full (hearings "
                         "or CPU)",
                    "Every media worker of the server already carries as many hearings as it may "
                    "(`media.hearings_per_worker`) or is CPU-bound, or is draining; the message names which. "
                    "Try again later or on another server."),
    "media_failed": (503, "the hearing's live media could not be started; the court administrator has the "
                          "details in the server log",
                     "The hearing's media (mixer, encoder, recording) failed to start on this server; the "
                     "hearing carries `media_error`. Nothing else on the server is affected."),
    "store_unavailable": (503, "the recording store cannot be reached right now",
                          "The recording store (local folder or S3) did not answer or does not hold the file "
                          "yet (a recording that just ended is still being uploaded); try again later."),
    "state_unavailable": (503, "the court's shared state is unreachable for a moment; try again in a few "
                               "seconds",
                          "The state store (Redis) did not answer, for example while it restarts. Live "
                          "hearings' media is not affected; retry the call in a few seconds."),
    "database_unavailable": (503, "the archive's database is unreachable for a moment; try again in a few "
                                  "seconds",
                             "The archive's database (PostgreSQL or the SQLite file) did not answer; the "
                             "answer carries `Retry-After: 5`. Live hearings are not affected; an access that "
                             "cannot be audited is not granted."),
    "manifest_unreadable": (409, "the stored manifest cannot be read; verify the recording",
                            "The recording's manifest.json in the store cannot be parsed: run a verify and "
                            "see docs/operations.md (reindex)."),
    "node_unreachable": (503, "the server that carries this hearing did not answer; try again in a few seconds",
                         "Several nodes: the call needs the node that carries the hearing's live room, and it "
                         "did not answer (it may have just stopped; another node adopts its hearings within "
                         "seconds)."),
}

STATUS_TEXT = {400: "Bad request", 401: "Not authenticated", 403: "Not allowed", 404: "Not found",
               409: "Conflict with the hearing's or participant's state", 413: "Body too large",
               429: "Too many attempts", 503: "Service unavailable"}

# Every authenticated call reads the state (revocations), so a state store that is away answers for each.
AUTH_ERRORS = ("unauthorized", "invalid_token", "token_expired", "wrong_token_kind", "token_revoked",
               "account_changed", "state_unavailable")
# A share link's token, sent as a bearer token: no account behind it.
SHARE_AUTH_ERRORS = ("unauthorized", "invalid_token", "token_expired", "wrong_token_kind", "token_revoked")
# A media token in the `token` query parameter: a missing one is `invalid_token`, not `unauthorized`.
MEDIA_TOKEN_ERRORS = ("invalid_token", "token_expired", "wrong_token_kind", "token_revoked")
BODY_ERRORS = ("bad_request", "malformed_json", "payload_too_large")
# The archive's calls read the store, or the catalog and write the audit log in the archive's database.
ARCHIVE_DOWN = ("store_unavailable", "database_unavailable")
NOTE_TEXT_LIMIT = 2000  # hearing_server/court.py add_note
STORAGE_DEFAULTS = StorageSettings()

DESCRIPTION = f"""\
HTTP API of the remote court hearing server: staff log in, create and run hearings, invite parties,
admit them from the lobby and moderate the hearing; clerks find, play, verify and hand out the recordings
in the archive.

**Authentication.** `POST /api/login` returns a staff token (a JWT signed with HS256). Send it as
`Authorization: Bearer <token>` on every other call, except:

- `/api/shared…` take the token of a share link (kind `share`, made by `POST
  /api/recordings/{{hearing_id}}/shares`) as the bearer token instead (security scheme `shareToken`);
- `GET /api/recordings/{{hearing_id}}/media` and `…/captions.vtt` take a short-lived media token (kind
  `media`) in the `token` query parameter, so that a `<video>` or `<track>` element or a plain download link
  can use them; the URLs come ready-made from `POST …/links`.

Invite tokens (in join links) and session tokens (handed to an admitted participant) are only accepted by
the signaling WebSocket, never by this API.

**Errors.** Every failure is JSON: `{{"error": {{"code": "...", "message": "...", "details": {{...}}}}}}`.
`code` is stable and machine-readable; `message` is for people; `details` is optional.

**Text fields** are checked once, where they arrive: a text must be valid Unicode (no lone UTF-16
surrogates such as a JSON `\\ud800` escape), hold no control characters (U+0000–U+001F and U+007F–U+009F
other than tab and line breaks), no bidirectional embedding, override or isolate characters
(U+202A–U+202E, U+2066–U+2069) and no Unicode noncharacters. It is normalised to NFC, trimmed, runs of
white space collapse to one space (a log note's text keeps its line breaks), and each is limited to
{FIELD_LIMIT} characters ({NOTE_TEXT_LIMIT} for a log note's text). A text that breaks a rule is `400
bad_request` with `details.field` (the field's name) and `details.problem` (what is wrong with it).

**Times.** Hearings and participants carry Unix time (seconds); the archive (recordings, transcripts, the
audit log) carries UTC ISO 8601 strings, as written in the signed record.

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


def query(name: str, description: str, schema: Json) -> Json:
    """An optional query parameter."""
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


WHOLE_NUMBER: Json = {"type": "string", "pattern": "^[0-9]+$", "description": "A whole number"}


def body(schema_name: str, required: bool = True, description: str = "") -> Json:
    request: Json = {"required": required, "content": json_content(ref(schema_name))}
    if description:
        request["description"] = description
    return request


def operation(op_id: str, tag: str, summary: str, description: str, responses: Json, *,
              request: Json | None = None, params: list[Json] | None = None, public: bool = False,
              security: list[Json] | None = None) -> Json:
    """`public`: no bearer token (the operation may still take a token elsewhere, in a parameter);
    `security`: another scheme than the staff token."""
    op: Json = {"operationId": op_id, "tags": [tag], "summary": summary, "description": description,
                "responses": responses}
    if params:
        op["parameters"] = params
    if request is not None:
        op["requestBody"] = request
    if public:
        op["security"] = []  # no bearer token
    elif security is not None:
        op["security"] = security
    return op


HEARING_ID: Json = {"name": "hearing_id", "in": "path", "required": True, "description": "The hearing's id.",
                    "schema": string("Hearing id", "h_qPa5UpwSaMTa")}
PARTICIPANT_ID: Json = {"name": "participant_id", "in": "path", "required": True,
                        "description": "The participant's id (within the hearing).",
                        "schema": string("Participant id", "p_uFiSzqT_GQxw")}
RECORDING_ID: Json = {"name": "hearing_id", "in": "path", "required": True,
                      "description": "The recorded hearing's id (a recording is named after its hearing).",
                      "schema": string("Hearing id", "h_qPa5UpwSaMTa")}
MEDIA_TOKEN: Json = {"name": "token", "in": "query", "required": True,
                     "description": "A media token (kind `media`, valid `storage.download_link_seconds`, "
                                    f"{STORAGE_DEFAULTS.download_link_seconds} s by default) for this "
                                    "recording, as put in the URL by `POST …/links` (or `POST "
                                    "/api/shared/links`). It replaces the bearer token: no `Authorization` "
                                    "header is needed.",
                     "schema": string("Media token (JWT)", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...")}
SHARE_SECURITY: list[Json] = [{"shareToken": []}]


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
        "hand_raised": boolean("Asks the court for the floor (signaling `hand`); lowered by them or the court"),
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
            "media_error": string("Why the hearing's live media could not be started (the server logs the "
                                  "details); empty when all is well", ""),
            "case_category": string("The case's category, which the court's retention periods go by "
                                    "(`archive.retention_by_category`); may be empty", "criminal"),
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
            "case_category": text("The case's category (e.g. `criminal`, `civil`, `administrative`): the "
                                  "recording is kept as long as `archive.retention_by_category` says for it",
                                  "civil"),
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
            "hand_raised": boolean("Asks the court for the floor"),
            "returning": string("Back in the waiting room after being admitted once, and why (see "
                                "LobbyEntrant.returning); empty otherwise"),
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
            "returning": string("Admitted once already and back in the waiting room, and why: `away_too_long` "
                                "(longer than the grace period), `left` (pressed Leave, then opened the link "
                                "again after the grace period), `court_checks_again` (court.rejoin_by_link = "
                                "\"lobby\"); empty for someone new", enum=["", "away_too_long", "left",
                                                                       "court_checks_again"]),
            "admitted_at": timestamp("When the court admitted a returning person before (null otherwise)"),
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
        "Court": obj({
            "language": string("The court's language (court.language): the picture's words, and the pages' "
                               "language when the browser asks for none of these", enum=["kk", "ru", "en"]),
            "languages": array(obj({"code": string("Language code", "kk"),
                                    "name": string("Its name in itself", "Қазақша")}),
                               "The languages the pages offer, in the switcher's order"),
            "time_zone": string("The court's time zone for local times: an IANA name, Etc/GMT±N for a "
                                "whole-hour offset, or ±HH:MM", "Asia/Almaty"),
        }),
        "Health": obj({
            "status": enum(["ok", "degraded"], "degraded when the state store does not answer"),
            "store": boolean("The state store (memory or Redis) answered a ping"),
        }),
        **recording_schemas(),
    }


def integer(description: str) -> Json:
    return {"type": "integer", "description": description}


def number(description: str, nullable: bool = False) -> Json:
    return {"type": ["number", "null"] if nullable else "number", "description": description}


def utc(description: str, example: str = "2026-11-28T09:00:03.120Z") -> Json:
    return string(description + " (UTC, ISO 8601; empty when unknown)", example)


def recording_schemas() -> Json:
    """The live recording's controls and notes, the archive, and what a share link shows."""
    catalogued: Json = {
        "hearing_id": string("The recorded hearing's id", "h_qPa5UpwSaMTa"),
        "case_number": string("Case number", "CV-2026-0142"),
        "title": string("Case title", "Haddad v. Northwind Ltd"),
        "court": string("Court name (may be empty)", "District Court"),
        "courtroom": string("Courtroom (may be empty)", "Courtroom 3"),
        "judge": string("Username of the presiding judge", "judge"),
        "judge_name": string("Display name of the presiding judge", "Judge Amira Haddad"),
        "opened_at": utc("When the hearing opened: offset 0 of the hearing clock and of hearing.mp4"),
        "closed_at": utc("When the recording ended", "2026-11-28T10:41:17.904Z"),
        "status": enum(["final", "interrupted", "deleted"],
                       "`final`: closed normally; `interrupted`: the server stopped and the recording was "
                       "finished from the spool at the next start (a gap at the end says so); `deleted`: its "
                       "retention period ended and its media was removed from the store (a tombstone: only "
                       "with `deleted=1` in a search, or by its id)"),
        "duration": number("Seconds from the start of the first segment to the end of the last"),
        "segments": integer("How many segments the recording is made of"),
    }
    archived: Json = {
        "case_category": string("The case's category (may be empty)", "criminal"),
        "size_bytes": integer("Bytes of its segments and final files in the store"),
        "integrity": enum(["unchecked", "verified", "failed"], "The result of its last verify (any node)"),
        "legal_hold": boolean("On legal hold: not deleted when its retention period ends"),
        "retain_until": {"type": ["string", "null"],
                         "description": "When its retention period ends (UTC, ISO 8601); null: kept for ever"},
        "deleted_at": {"type": ["string", "null"],
                       "description": "When retention deleted its media (UTC, ISO 8601); null while kept"},
    }
    span: Json = {
        "start": number("Seconds on the hearing clock (= time in hearing.mp4)"),
        "end": number("Seconds on the hearing clock; null: it lasted to the end of the recording",
                      nullable=True),
        "start_utc": utc("Start"),
        "end_utc": utc("End"),
    }
    transcript_hearing = obj({
        "id": string("Hearing id", "h_qPa5UpwSaMTa"),
        "case_number": string("Case number", "CV-2026-0142"),
        "title": string("Case title"),
        "case_category": string("The case's category (recordings made since it was kept)"),
        "court": string("Court name"),
        "courtroom": string("Courtroom"),
        "judge": string("Username of the presiding judge"),
        "judge_name": string("Display name of the presiding judge"),
        "opened_at": utc("When the hearing opened"),
        "opened_at_epoch": number("The same instant as Unix time (0 when unknown)"),
    }, required=["id", "case_number", "title", "court", "courtroom", "judge", "judge_name", "opened_at",
                 "opened_at_epoch"], description="The hearing as it was when the recording began.")
    return {
        "CourtroomCamera": obj({
            "key": string("The camera's key: `<participant id>:<name>` (or `:v<n>` when unnamed); it stays "
                          "the same when the courtroom PC reconnects", "p_4ZqTn0cVb1Ws:Judge's bench"),
            "label": string("The name on its tile (the courtroom PC's name for it, or "
                            "`<PC name> camera <n>`)", "Judge's bench"),
            "participant_id": string("The courtroom PC's participant id", "p_4ZqTn0cVb1Ws"),
            "shown": boolean("In the composite"),
            "online": boolean("Sent a picture in the last 2 seconds (false: unplugged, or the PC lost its "
                              "network; its tile says `camera offline`)"),
        }),
        "CameraList": obj({"cameras": array(ref("CourtroomCamera"), "In the order the PC offered them")}),
        "CameraChoice": obj({
            "camera": text("A `key` from GET …/cameras", "p_4ZqTn0cVb1Ws:Judge's bench", minLength=1),
            "shown": boolean("true: in the composite; false: out of it"),
        }),
        "NoteKind": enum(list(NOTE_KINDS), "What a log note records; `note` when not given"),
        "NoteRequest": obj({
            "text": text("The note", "Exhibit 4 (photograph of the site) shown to the witness", minLength=1,
                         maxLength=NOTE_TEXT_LIMIT),
            "kind": {**ref("NoteKind"), "description": "What it records (default `note`)"},
        }, required=["text"]),
        "Note": obj({
            "id": string("Note id", "n_Gf3k0aQm1xZc"),
            "text": string("The note, trimmed", "Exhibit 4 (photograph of the site) shown to the witness"),
            "kind": ref("NoteKind"),
            "author": string("Display name (or username) of the staff member who wrote it",
                             "Clerk Carmen Ortiz"),
            "at": timestamp("When it was logged; its place on the hearing clock follows from it",
                            nullable=False),
        }),
        "SearchHit": obj({
            "offset": number("Where on the hearing clock (seconds; = time in hearing.mp4)"),
            "kind": string("`event` (a court event) or the log note's kind", "exhibit"),
            "text": string("The line that matched", "Exhibit 7 (the contract) shown to the witness"),
        }),
        "RecordingSummary": obj({
            **catalogued, **archived,
            "gaps": integer("How many gaps the manifest records"),
            "hits": array(ref("SearchHit"), "With `text=`: up to 3 lines of its log notes and court events "
                                            "that matched, in hearing-clock order"),
        }, required=[*catalogued, *archived, "gaps"], description="One recording in the archive, as found by a "
                                                                  "search."),
        "RecordingList": obj({
            "recordings": array(ref("RecordingSummary"), "Most recently opened first; at most `limit`"),
            "total": integer(f"How many recordings match, counted up to {TOTAL_CAP:,}"),
            "total_capped": boolean(f"More than {TOTAL_CAP:,} match (`total` is then {TOTAL_CAP:,})"),
            "next_cursor": {"type": ["string", "null"],
                            "description": "Pass as `cursor` (with the same filters) for the next page; null "
                                           "on the last page"},
        }),
        "RecordingParticipant": obj({
            "id": string("Participant id", "p_uFiSzqT_GQxw"),
            "name": string("Name", "Ana Silva"),
            "role": string("Role in the hearing (a party role, or a staff role for staff who joined)",
                           "plaintiff"),
            "first_in": utc("When they were first admitted (or joined)"),
            "first_offset": number("The same instant on the hearing clock (seconds)"),
            "present": boolean("Their media connected at some point (admitted is not present); absent in "
                               "manifests made before 2026-12-03"),
            "present_from": utc("When their media first connected (only when present)"),
            "present_offset": number("The same instant on the hearing clock (only when present)"),
            "media_error": string("Why their media failed, when it never connected",
                                  "DTLS fingerprint mismatch: the certificate does not match the offer's "
                                  "a=fingerprint"),
        }, required=["id", "name", "role", "first_in", "first_offset"]),
        "RecordingGap": obj({
            **span,
            "reason": string("Why nothing was recorded",
                             "the server stopped; the hearing went on after a restart"),
        }, description="A stretch of the hearing with no media (the server stopped, or media went missing)."),
        "RecordingPause": obj({
            **span,
            "reason": enum(["paused", "recess"],
                           "`paused`: the judge paused the recording; `recess`: paused by a recess "
                           "(`recording.pause_during_recess`)"),
        }, description="A stretch during which the recording was paused on purpose."),
        "RecordingFile": obj({
            "name": string("File name in the recording's folder", "hearing.mp4"),
            "size": integer("Bytes"),
            "sha256": string("SHA-256 of the file, hex"),
        }),
        "RecordingSignature": obj({
            "algorithm": string("Signature algorithm", "Ed25519"),
            "public_key": string("The signing key's public half, base64 (raw 32 bytes)"),
            "key_id": string("First 16 hex digits of the SHA-256 of the public key", "3f9a0c2d81e4b7a6"),
        }, required=[], description="Who signed the manifest (the signature value itself is left out); "
                                    "empty for an unsigned manifest."),
        "Integrity": obj({
            "status": enum(["unchecked", "verified", "failed"],
                           "The result of the last `POST …/verify` (on any node; kept in the archive's "
                           "database); `unchecked` before the first"),
            "checked_at": timestamp("When it was checked", nullable=False),
            "checks": integer("How many checks were made"),
            "failures": array(string("A failed check, as one line"),
                              "The checks that failed (empty when verified)"),
        }, required=["status"]),
        "LegalHold": obj({
            "reason": string("Why it is held, as given", "appeal 2-1234/2026 pending"),
            "by": string("The account that placed it", "judge"),
            "at": utc("When it was placed"),
        }),
        "HoldRequest": obj({"reason": text("Why the recording must be kept (shown with it and audited)",
                                           "appeal 2-1234/2026 pending", minLength=1, maxLength=500)},
                           required=["reason"]),
        "Recording": obj({
            **catalogued, **{k: v for k, v in archived.items() if k != "integrity"},
            "participants": array(ref("RecordingParticipant"), "Everyone admitted, in order of arrival"),
            "gaps": array(ref("RecordingGap"), "In hearing-clock order"),
            "pauses": array(ref("RecordingPause"), "In hearing-clock order"),
            "files": array(ref("RecordingFile"), "The final files the manifest vouches for"),
            "signature": ref("RecordingSignature"),
            "manifest_sha256": string("SHA-256 of manifest.json as stored (kept after a deletion)"),
            "integrity": ref("Integrity"),
            "hold": {"oneOf": [ref("LegalHold"), {"type": "null"}],
                     "description": "The legal hold on it; null when there is none"},
            "deleted_reason": {"type": ["string", "null"],
                               "description": "Why its media was deleted (null while kept)"},
        }, description="A recording's page: the signed manifest's facts, without the per-segment hashes, "
                       "and what the court decided about it (integrity, hold, retention)."),
        "TranscriptEntry": obj({
            "kind": enum(["event", "speech", "note"], "A court event, a speaking turn, or a log note"),
            "at": utc("When it happened"),
            "offset": number("Seconds on the hearing clock (= time in hearing.mp4)"),
            "end": number("speech: where the turn ended on the hearing clock"),
            "event": string("event: what happened (opened, admitted, muted, recess, recording_paused, "
                            "closed, …)", "admitted"),
            "participant_id": string("event, speech: whom it concerns", "p_uFiSzqT_GQxw"),
            "name": string("event, speech: their name", "Ana Silva"),
            "role": string("event, speech: their role", "plaintiff"),
            "actor": string("event: username of the staff member who did it", "judge"),
            "details": {"type": "object", "additionalProperties": True,
                        "description": "event: extra facts (for example the reason for a removal)"},
            "note_kind": {**ref("NoteKind"), "description": "note: its kind"},
            "text": string("note: the text"),
            "author": string("note: who wrote it", "Clerk Carmen Ortiz"),
        }, required=["kind", "at", "offset"]),
        "Transcript": obj({
            "hearing": transcript_hearing,
            "format": string("Format name and version", "courtroom-transcript/1",
                             const="courtroom-transcript/1"),
            "note": string("How to read the offsets"),
            "entries": array(ref("TranscriptEntry"), "In hearing-clock order; events before speech at the "
                                                     "same instant"),
        }, description="The hearing's transcript (transcript.json of the record, as stored)."),
        "MediaLinkRequest": obj({
            "purpose": enum(list(PURPOSES), "`play` (default): for a `<video>` element, seekable; "
                                            "`download`: served as an attachment named after the case "
                                            "number; `package`: the evidence package, the whole verifiable "
                                            "record as one zip (`…/package?token=…`)"),
        }, required=[]),
        "MediaLink": obj({
            "url": string("Where the MP4 is: `/api/recordings/{hearing_id}/media?token=…` (relative, this "
                          "server), or a presigned URL of the S3 store; for `package`, always "
                          "`/api/recordings/{hearing_id}/package?token=…`",
                          "/api/recordings/h_qPa5UpwSaMTa/media?token=eyJhbGciOi..."),
            "expires_at": {"type": "integer", "description": "When the link stops working (Unix time)"},
            "purpose": enum(list(PURPOSES), "As asked"),
            "captions_url": string("The transcript as WebVTT captions for a `<track>` element: "
                                   "`/api/recordings/{hearing_id}/captions.vtt?token=…` (relative)",
                                   "/api/recordings/h_qPa5UpwSaMTa/captions.vtt?token=eyJhbGciOi..."),
        }),
        "VerifyCheck": obj({
            "ok": boolean("The check passed"),
            "what": string("What was checked", "segment 000001 (segment-000001.mp4, 0.00–4.00 s)"),
            "detail": string("What was found", "sha256 5d41402abc4b2a76…, chain intact"),
        }),
        "VerifyResult": obj({
            "status": enum(["verified", "failed"], "`verified` when every check passed"),
            "checked_at": timestamp("When", nullable=False),
            "checks": array(ref("VerifyCheck"), "The manifest, the signature (against this server's key), "
                                                "every segment's hash and place in the chain, the gaps, and "
                                                "every final file"),
            "failures": array(string("A failed check, as one line"), "The checks that failed"),
        }),
        "ShareRequest": obj({
            "recipient": text("Who the link is for (shown on the shared page and in the audit log)",
                              "Ana Silva (plaintiff)", minLength=1),
            "hours": {"type": "number", "minimum": 0.02, "maximum": 2160,
                      "default": STORAGE_DEFAULTS.share_link_hours,
                      "description": "How long the link works, in hours (at most 90 days; default "
                                     "`storage.share_link_hours`)"},
        }, required=["recipient"]),
        "Share": obj({
            "url": string("The share link: `<public_url>/shared#token=<share token>`; the token rides in the "
                          "fragment, which browsers never send to a server",
                          "https://court.example.org/shared#token=eyJhbGciOi..."),
            "recipient": string("Who it is for, as stored", "Ana Silva (plaintiff)"),
            "share_id": string("The link's id: revoke it with DELETE …/shares/{share_id}",
                               "Xq3v9KpL2mNw8RtY"),
            "expires_at": {"type": "integer", "description": "When the link stops working (Unix time)"},
        }),
        "ShareRevoked": obj({"revoked": string("The share id now refused", "Xq3v9KpL2mNw8RtY")}),
        "ShareList": obj({"shares": {"type": "array", "items": obj({
            "share_id": string("The link's id", "Xq3v9KpL2mNw8RtY"),
            "recipient": string("Who it is for", "Ana Silva (plaintiff)"),
            "made_by": string("The account that made it", "clerk"),
            "made_at": utc("When it was made"),
            "expires_at": {"type": "integer", "description": "When the link stops working (Unix time)"},
            "status": enum(["active", "expired", "revoked"], "Whether the link still opens the recording"),
            "revoked_at": {"type": ["string", "null"], "description": "When it was revoked (UTC, ISO 8601)"},
        })}}),
        "AuditEntry": obj({
            "seq": integer("Its place in the audit log (1, 2, 3, … across every node); page with `before`"),
            "at": utc("When"),
            "action": enum(list(AUDIT_ACTIONS),
                           "view, search, transcript, manifest, shares_list, play, download, package, "
                           "verify, share, share_revoked, hold, hold_released (staff); shared_view, "
                           "shared_transcript, shared_play, shared_download, shared_package (someone holding "
                           "a share link); retention_deleted, audit_pruned (the server's retention), "
                           "audit_exported (`hearing-server audit export`)"),
            "hearing_id": string("The recording", "h_qPa5UpwSaMTa"),
            "actor": string("Staff username, or `share:<recipient>` for a share link", "clerk"),
            "role": string("The actor's role (`observer` for a share link)", "clerk"),
            "client": string("Client address as the server saw it (a reverse proxy's own address behind "
                             "one)", "127.0.0.1"),
            "details": {"type": "object", "additionalProperties": True,
                        "description": "share: recipient, share_id, expires_at; share_revoked: share_id; "
                                       "verify: result; search: the query and how many were found"},
            "repeated": integer("The same access by the same token from the same address happened this many "
                                "more times within a minute after the line before (coalesced)"),
            "suppressed": integer("Reads by this token held back by the rate limit (30 lines, then one per "
                                  "10 s) since its line before"),
            "node": string("The node that wrote it (`node.node_id`)", "court-a-8088"),
            "hash": string("Its link in the hash chain: SHA-256 (hex) over the previous entry's hash and this "
                           "entry (docs/security.md); `hearing-server audit verify` recomputes them all"),
        }, required=["seq", "at", "action", "hearing_id", "actor", "role", "client", "node", "hash"]),
        "AuditLog": obj({
            "entries": array(ref("AuditEntry"), "Newest first, at most `limit`"),
            "next_before": {"type": ["integer", "null"],
                            "description": "Pass as `before` for the older entries; null when there are none"},
        }),
        "Manifest": {"type": "object", "additionalProperties": True,
                     "description": "The signed manifest as stored (manifest.json, format "
                                    "`courtroom-recording/1`): hearing, case, participants, every segment "
                                    "with its SHA-256 and hash chain value, gaps, pauses, final files, and "
                                    "the Ed25519 signature. docs/operations.md describes every field.",
                     "required": ["hearing_id", "case_number", "segments", "signature", "format"]},
        "DeviceToken": obj({
            "id": string("The token's id (its `jti`)", "Xq3v9KpL2mNw8RtY"),
            "username": string("The courtroom PC's account", "room3"),
            "courtroom": string("The courtroom it may publish into", "Courtroom 3"),
            "issued_at": timestamp("Issued", nullable=False),
            "expires_at": timestamp("Expires", nullable=False),
            "revoked_at": timestamp("Revoked (null while not)"),
            "status": enum(["active", "expired", "revoked"], "Whether the PC can still sign in with it"),
        }),
        "DeviceTokenList": obj({"device_tokens": array(ref("DeviceToken"), "Newest first")}),
        "SharedRecording": obj({
            **catalogued,
            "gaps": integer("How many gaps the manifest records"),
            "participants": array(obj({"name": string("Name", "Ana Silva"),
                                       "role": string("Role", "plaintiff")}),
                                  "Who took part (names and roles only)"),
            "shared_with": string("The recipient named when the link was made", "Ana Silva (plaintiff)"),
            "link_expires_at": timestamp("When the share link stops working", nullable=False),
        }, description="What a share link's holder sees of the recording."),
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
        action.split("-")[0] + "".join(w.capitalize() for w in action.split("-")[1:]) + "Participant",
        "participants", summary,
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


def media_response(description: str, media_type: str, headers: Json | None = None) -> Json:
    response: Json = {"description": description,
                      "content": {media_type: {"schema": {"type": "string", "contentMediaType": media_type}}}}
    if headers:
        response["headers"] = headers
    return response


def header(description: str, example: str | None = None) -> Json:
    return {"description": description, "schema": string(description, example)}


MP4_HEADERS: Json = {
    "Accept-Ranges": header("`bytes`: ranges are served", "bytes"),
    "Content-Disposition": header("Only for a `download` link: `attachment; filename=\"<case number>.mp4\"; "
                                  "filename*=UTF-8''<case number, percent-encoded>.mp4` (RFC 6266: the "
                                  "`filename` is an ASCII fallback)",
                                  "attachment; filename=\"CV-2026-0142.mp4\"; filename*=UTF-8''CV-2026-0142.mp4"),
    "Cache-Control": header("`private, no-store`", "private, no-store"),
}


def recording_paths() -> Json:
    """The live recording (log notes, pause and resume) and the archive, staff and share-link sides."""
    view = "Needs `view_recordings` (judge — every judge, not only the presiding one —, clerk, admin)."
    not_recording = {"not_found": "recording not found", "forbidden": "a courtroom may not view recordings"}
    return {
        "/api/hearings/{hearing_id}/notes": {"post": operation(
            "addNote", "recording", "Log a note",
            "A time-stamped note in the hearing's transcript (and so in its WebVTT captions), placed on the "
            "hearing clock at the moment it is received; every court connection that may log notes gets it "
            "live as a signaling `log-note` message. `kind` is one of "
            f"{', '.join(f'`{k}`' for k in NOTE_KINDS)} (default `note`); `text` is required, at most "
            f"{NOTE_TEXT_LIMIT} characters. The hearing must be open or in recess.\n\nNeeds `log_notes` "
            "(judge: the presiding judge only; clerk; admin).",
            {"201": ok("Logged", ref("Note")),
             **errors(*BODY_ERRORS, *AUTH_ERRORS, "forbidden", "not_presiding_judge", "not_found",
                      "hearing_closed", "hearing_not_open",
                      messages={"forbidden": "a courtroom may not log notes",
                                "bad_request": "text is required"})},
            request=body("NoteRequest"), params=[HEARING_ID])},
        "/api/hearings/{hearing_id}/recording/{action}": {"post": operation(
            "controlRecording", "recording", "Pause or resume the recording",
            "`pause`: the record stops taking media (the hearing itself goes on, live) and the manifest "
            "notes the pause; `resume`: it takes media again. The hearing's `recording_paused` says which, "
            "and every connection gets a signaling `hearing` message. Recording is on from the moment the "
            "hearing opens. Pausing a paused recording, or resuming a running one, changes nothing. The "
            "hearing must be open or in recess. Takes no body.\n\nNeeds `control_recording` (judge: the "
            "presiding judge only; admin).",
            {"200": ok("The hearing after the change", ref("Hearing")),
             **errors(*AUTH_ERRORS, "forbidden", "not_presiding_judge", "not_found", "hearing_closed",
                      "hearing_not_open", "recording_disabled",
                      messages={"forbidden": "a clerk may not control recording"})},
            params=[HEARING_ID, {"name": "action", "in": "path", "required": True,
                                 "description": "`pause` or `resume` (any other value: 404)",
                                 "schema": enum(["pause", "resume"], "What to do")}])},
        "/api/recordings": {"get": operation(
            "searchRecordings", "archive", "Search the archive",
            "Finished recordings (final or interrupted), most recently opened first, a page at a time, from "
            "the archive's catalog (a database shared by every node). Every filter is optional and they "
            "combine: `case_number` matches a part of the case number (or its start, with `match=prefix`), "
            "`court`, `courtroom`, `judge` (username or display name) and `participant` (anyone admitted) a "
            "part of the field, ignoring case in any script (`айгерім` finds `Айгерім`); `text` finds words in "
            "the log notes and the court events of the transcript (PostgreSQL: Russian stemming and plain "
            "words, `websearch_to_tsquery` syntax — `\"exhibit 7\"`, `or`, `-word`; SQLite: every word, the "
            "last as a prefix), and each recording found then carries its matching lines in `hits`; `from` and "
            "`to` bound the day (UTC) the hearing opened, both inclusive. `limit` rows per page (default 50, "
            f"at most {PAGE_LIMIT}); `next_cursor` leads to the next page. `total` is counted up to "
            f"{TOTAL_CAP:,}. Audited (`search`, with the query and `total`).\n\n{view}",
            {"200": ok("The recordings found", ref("RecordingList")),
             **errors("bad_request", *AUTH_ERRORS, "forbidden", *ARCHIVE_DOWN,
                      messages={"bad_request": "from must be a date like 2026-11-28",
                                "forbidden": not_recording["forbidden"]})},
            params=[
                query("case_number", "Part of the case number", text("Case number", "CV-2026")),
                query("match", "`contains` (default) or `prefix`: how `case_number` matches",
                      enum(["contains", "prefix"], "How the case number matches")),
                query("court", "Part of the court name", text("Court", "District")),
                query("courtroom", "Part of the courtroom", text("Courtroom", "Courtroom 3")),
                query("participant", "Part of the name of someone admitted to the hearing",
                      text("Participant", "Бекова")),
                query("text", "Words in the log notes and court events (full-text)", text("Words", "exhibit 7")),
                query("deleted", "`1`: include the tombstones of recordings deleted by retention",
                      enum(["1", "0"], "Include deleted")),
                query("limit", f"Rows per page, 1–{PAGE_LIMIT} (default 50)", WHOLE_NUMBER),
                query("cursor", "`next_cursor` of the page before (with the same filters)",
                      text("Cursor", "WzE3OTY2OTYwMDAuMCwgImhfcVBhNVVwd1NhTVRhIl0")),
                query("judge", "Part of the presiding judge's username or display name", text("Judge", "Haddad")),
                query("from", "Opened on or after this day (UTC)", string("Date", "2026-11-01", format="date")),
                query("to", "Opened on or before this day (UTC)", string("Date", "2026-11-30", format="date")),
            ])},
        "/api/recordings/{hearing_id}": {"get": operation(
            "getRecording", "archive", "A recording's page",
            "The manifest's facts — participants, gaps, pauses, the final files and their SHA-256, who "
            "signed it — the result of the last integrity check, the legal hold and the retention period. A "
            "recording deleted by retention answers with its tombstone (`status` `deleted`, `deleted_at`, "
            "`deleted_reason`, `manifest_sha256`); its media, transcript and links are then `404`. Audited "
            "(`view`).\n\n" + view,
            {"200": ok("The recording", ref("Recording")),
             **errors(*AUTH_ERRORS, "forbidden", "not_found", *ARCHIVE_DOWN, messages=not_recording)},
            params=[RECORDING_ID])},
        "/api/recordings/{hearing_id}/transcript": {"get": operation(
            "getRecordingTranscript", "archive", "A recording's transcript",
            "The transcript as stored with the record (transcript.json): court events, speaking turns and "
            "log notes, each with its UTC time and its offset on the hearing clock (= the time in "
            "hearing.mp4). Audited (`transcript`).\n\n" + view,
            {"200": ok("The transcript", ref("Transcript")),
             **errors(*AUTH_ERRORS, "forbidden", "not_found", *ARCHIVE_DOWN, messages=not_recording)},
            params=[RECORDING_ID])},
        "/api/recordings/{hearing_id}/links": {"post": operation(
            "createMediaLink", "archive", "A link to play or download the recording",
            "Makes a short-lived link to hearing.mp4, for `play` (a `<video>` element; seekable with HTTP "
            "Range requests) or `download` (an attachment named `<case number>.mp4`), and a link to the "
            "transcript as WebVTT captions. With the local store the links point at this server "
            "(`…/media?token=…`, `…/captions.vtt?token=…`); with S3 the media link is a presigned URL of the "
            "store itself. A `download` link is valid for `storage.download_link_seconds`; a `play` link for "
            "twice the recording's duration plus an hour, since a player keeps requesting byte ranges while "
            "someone watches and seeks. Links made from a share never outlive the share, and die when it is "
            "revoked (presigned S3 URLs excepted: the store cannot be told). Audited (`play` or "
            "`download`). Purpose `package` makes a link to the evidence package (`…/package?token=…`, "
            "audited `package`). Links made by staff die when the log-in they were made with ends (log-out) "
            "or the account is removed.\n\nThe body is optional; without it the purpose is `play`.\n\n"
            + view,
            {"200": ok("The links", ref("MediaLink")),
             **errors(*BODY_ERRORS, *AUTH_ERRORS, "forbidden", "not_found", *ARCHIVE_DOWN,
                      messages={**not_recording, "bad_request": "purpose must be 'play', 'download' or 'package'"})},
            request=body("MediaLinkRequest", required=False), params=[RECORDING_ID])},
        "/api/recordings/{hearing_id}/media": {"get": operation(
            "getRecordingMedia", "archive", "The recording's MP4",
            "hearing.mp4, for the holder of a media token (from `POST …/links` or `POST /api/shared/links`; "
            "the URL comes ready-made). No `Authorization` header: the token is the `token` query parameter, "
            "so a `<video>` element or a plain link can use it. HTTP `Range` requests are answered with "
            "`206 Partial Content`, so a player can seek; a range past the end gets `416`. A `download` "
            "token adds `Content-Disposition: attachment`. With the S3 store the answer is a `302` to a "
            "presigned URL of the store. The access was audited when the link was made.",
            {"200": media_response("The whole file", "video/mp4", MP4_HEADERS),
             "206": media_response("The requested byte range", "video/mp4", {
                 **MP4_HEADERS, "Content-Range": header("The range sent, and the file's size",
                                                        "bytes 0-1023/5242880")}),
             "302": {"description": "S3 store: the file is at the presigned URL in `Location`",
                     "headers": {"Location": header("Presigned URL of hearing.mp4 in the store")}},
             "416": {"description": "The `Range` lies outside the file (no body; `Content-Range: bytes "
                                    "*/<size>`)"},
             **errors(*MEDIA_TOKEN_ERRORS, "forbidden", "not_found",
                      messages={"invalid_token": "missing or malformed token",
                                "forbidden": "this link is for another recording",
                                "not_found": "recording not found"})},
            params=[RECORDING_ID, MEDIA_TOKEN], public=True)},
        "/api/recordings/{hearing_id}/manifest": {"get": operation(
            "getRecordingManifest", "archive", "The recording's signed manifest",
            "manifest.json as stored: the list of segments with their SHA-256 and hash chain, the gaps, "
            "the final files and the Ed25519 signature — what `hearing-server verify` checks a copy of the "
            "record against. Audited (`manifest`).\n\n" + view,
            {"200": ok("The manifest", ref("Manifest")),
             **errors(*AUTH_ERRORS, "forbidden", "not_found", *ARCHIVE_DOWN, messages=not_recording)},
            params=[RECORDING_ID])},
        "/api/recordings/{hearing_id}/package": {"get": operation(
            "getEvidencePackage", "archive", "The evidence package (zip)",
            "The whole verifiable record as one zip file, named `<case number>-evidence.zip`: "
            "manifest.json, segments/ (every segment of the hash chain), hearing.mp4, transcript.json, "
            "transcript.vtt, signing-key.pub (this server's Ed25519 public key) and README.txt (the key's "
            "SHA-256 fingerprint and how to check it). `hearing-server verify FILE.zip --public-key "
            "KEY.pub` checks it offline. Stored (not compressed), with `Content-Length`. Like the media, it "
            "takes a media token (purpose `package`, from `POST …/links` or `POST /api/shared/links`) in "
            "the `token` query parameter; a token of another purpose is `403`. The access was audited when "
            "the link was made.",
            {"200": media_response("The package", "application/zip", {
                "Content-Disposition": header("`attachment`, with `filename` (ASCII) and `filename*` "
                                              "(UTF-8, RFC 6266)",
                                              "attachment; filename=\"CV-2026-0142-evidence.zip\"; "
                                              "filename*=UTF-8''CV-2026-0142-evidence.zip")}),
             **errors(*MEDIA_TOKEN_ERRORS, "forbidden", "not_found", *ARCHIVE_DOWN,
                      messages={"invalid_token": "missing or malformed token",
                                "forbidden": "this link is not for the evidence package",
                                "not_found": "recording not found"})},
            params=[RECORDING_ID, MEDIA_TOKEN], public=True)},
        "/api/recordings/{hearing_id}/captions.vtt": {"get": operation(
            "getRecordingCaptions", "archive", "The transcript as WebVTT captions",
            "transcript.vtt, for a `<track kind=\"captions\">` beside the player: every transcript entry "
            "as a cue at its place on the hearing clock. Like the media, it takes a media token in the "
            "`token` query parameter instead of an `Authorization` header (the `captions_url` from "
            "`POST …/links` carries one); a token for another recording is `403`.",
            {"200": media_response("The captions", "text/vtt"),
             **errors(*MEDIA_TOKEN_ERRORS, "forbidden", "not_found", *ARCHIVE_DOWN,
                      messages={"invalid_token": "missing or malformed token",
                                "forbidden": "this link is for another recording",
                                "not_found": "recording not found"})},
            params=[RECORDING_ID, MEDIA_TOKEN], public=True)},
        "/api/recordings/{hearing_id}/verify": {"post": operation(
            "verifyRecording", "archive", "Check the recording's integrity",
            "Checks the record as the store holds it now, exactly as the offline `verify` tool does: the "
            "manifest's Ed25519 signature against this server's signing key, every segment's SHA-256 and "
            "its place in the hash chain, and the SHA-256 of every final file. The result becomes the "
            "recording's `integrity` (kept in the archive's database, seen by every node). Audited (`verify`, with "
            "the result). Takes no body.\n\n" + view,
            {"200": ok("The checks", ref("VerifyResult")),
             **errors(*AUTH_ERRORS, "forbidden", "not_found", *ARCHIVE_DOWN, messages=not_recording)},
            params=[RECORDING_ID])},
        "/api/recordings/{hearing_id}/shares": {"get": operation(
            "listShares", "archive", "The share links handed out",
            "Every share link made for this recording, newest first, with who made it, for whom, until when "
            "and whether it is still `active`, `expired` or `revoked` — so a link handed out earlier can be "
            "found and revoked. From the register of shares in the archive's database. The links themselves are "
            "not shown again. Audited (`shares_list`).\n\nNeeds `view_recordings` and `share_recordings` "
            "(judge, clerk, admin).",
            {"200": ok("The shares", ref("ShareList")),
             **errors(*AUTH_ERRORS, "forbidden", "not_found", *ARCHIVE_DOWN, messages=not_recording)},
            params=[RECORDING_ID]), "post": operation(
            "shareRecording", "archive", "Hand the recording to someone",
            "Makes a share link, `<public_url>/shared#token=<share token>`, for a party (a lawyer, a "
            "plaintiff…) who has no account: with it they can see the recording's facts, read the "
            "transcript, play and download the recording (`/api/shared…`) until it expires or is revoked. "
            "The link is returned once, here. Audited (`share`, with the recipient, the share id and the "
            "expiry).\n\nNeeds `view_recordings` and `share_recordings` (judge, clerk, admin).",
            {"201": ok("The share link", ref("Share")),
             **errors(*BODY_ERRORS, *AUTH_ERRORS, "forbidden", "not_found", *ARCHIVE_DOWN,
                      messages={**not_recording, "bad_request": "recipient is required"})},
            request=body("ShareRequest"), params=[RECORDING_ID])},
        "/api/recordings/{hearing_id}/shares/{share_id}": {"delete": operation(
            "revokeShare", "archive", "Revoke a share link",
            "The share link with this id (`share_id` from `POST …/shares`, also in the audit log) is "
            "refused from now on (`401 token_revoked`), and so are the play and download links made from "
            "it (a presigned S3 URL already handed out runs until it expires). Only a share made for this "
            "recording can be revoked through it: any other id is `404`. Audited (`share_revoked`)."
            "\n\nNeeds `view_recordings` and `share_recordings`.",
            {"200": ok("Revoked", ref("ShareRevoked")),
             **errors("bad_request", *AUTH_ERRORS, "forbidden",
                      "not_found", *ARCHIVE_DOWN, messages=not_recording)},
            params=[RECORDING_ID, {"name": "share_id", "in": "path", "required": True,
                                   "description": "The share link's id",
                                   "schema": string("Share id", "Xq3v9KpL2mNw8RtY")}])},
        "/api/audit": {"get": operation(
            "auditLog", "archive", "The archive's audit log",
            "Who searched, viewed, read, played, downloaded, packaged, verified or shared which recording, "
            "and who used a share link, placed or lifted a hold, or what retention deleted: newest first, "
            "`limit` entries (default and at most 500), older ones with `before=<next_before>`. One log for "
            "every node, in the archive's database: append-only (the database refuses changes) and "
            "hash-chained (each entry's `hash` covers the one before; `hearing-server audit verify` checks "
            "them all). The same access repeated within a minute is one entry (`repeated`); a token's reads "
            "are rate-limited (`suppressed`).\n\nNeeds `view_audit` (clerk, admin; not judges).",
            {"200": ok("The entries", ref("AuditLog")),
             **errors("bad_request", *AUTH_ERRORS, "forbidden", "database_unavailable",
                      messages={"forbidden": "a judge may not view audit",
                                "bad_request": "hearing_id is longer than 200 characters"})},
            params=[query("hearing_id", "Only the entries of this recording", text("Hearing id", "h_qPa5UpwSaMTa")),
                    query("action", "Only this action", enum(list(AUDIT_ACTIONS), "An audit action")),
                    query("before", "Entries older than this `seq` (the `next_before` of the page before)",
                          WHOLE_NUMBER),
                    query("limit", "Entries per page, 1–500 (default 500)", WHOLE_NUMBER)])},
        "/api/recordings/{hearing_id}/hold": {"post": operation(
            "placeHold", "archive", "Place a legal hold",
            "The recording is kept when its retention period ends, until the hold is lifted (an appeal, an "
            "inquiry). Placing a hold on a held recording replaces its reason. Audited (`hold`, with the "
            "reason).\n\nNeeds `view_recordings` and `hold_recordings` (judge, admin; not clerks).",
            {"200": ok("The recording with its hold", ref("Recording")),
             **errors(*BODY_ERRORS, *AUTH_ERRORS, "forbidden", "not_found", "database_unavailable",
                      messages={"forbidden": "a clerk may not hold recordings", "bad_request": "reason is required"})},
            request=body("HoldRequest"), params=[RECORDING_ID]), "delete": operation(
            "liftHold", "archive", "Lift a legal hold",
            "The recording is deleted at the end of its retention period again (at once, at the next check, "
            "if that has passed). Lifting a hold that is not there changes nothing. Audited "
            "(`hold_released`). Takes no body.\n\nNeeds `view_recordings` and `hold_recordings`.",
            {"200": ok("The recording", ref("Recording")),
             **errors(*AUTH_ERRORS, "forbidden", "not_found", "database_unavailable",
                      messages={"forbidden": "a clerk may not hold recordings"})},
            params=[RECORDING_ID])},
        "/api/shared": {"get": operation(
            "getSharedRecording", "shared", "The shared recording",
            "What the holder of a share link may see of the recording it is for. Send the link's token "
            "(after `#token=`) as `Authorization: Bearer <share token>`. Audited (`shared_view`).",
            {"200": ok("The recording", ref("SharedRecording")),
             **errors(*SHARE_AUTH_ERRORS, "not_found",
                      messages={"wrong_token_kind": "a staff token cannot be used here",
                                "not_found": "recording not found"})},
            security=SHARE_SECURITY)},
        "/api/shared/transcript": {"get": operation(
            "getSharedTranscript", "shared", "The shared recording's transcript",
            "The same transcript as `GET /api/recordings/{hearing_id}/transcript`, for the holder of a share "
            "link (its token as the bearer token). Audited (`shared_transcript`).",
            {"200": ok("The transcript", ref("Transcript")),
             **errors(*SHARE_AUTH_ERRORS, "not_found", "store_unavailable",
                      messages={"wrong_token_kind": "a staff token cannot be used here",
                                "not_found": "recording not found"})},
            security=SHARE_SECURITY)},
        "/api/shared/links": {"post": operation(
            "createSharedMediaLink", "shared", "A link to play or download the shared recording",
            "As `POST /api/recordings/{hearing_id}/links`, for the holder of a share link (its token as the "
            "bearer token): a short-lived media link for `play`, `download` or `package` (the evidence "
            "package), and the captions link. Audited (`shared_play`, `shared_download` or "
            "`shared_package`). The body is optional.",
            {"200": ok("The links", ref("MediaLink")),
             **errors(*BODY_ERRORS, *SHARE_AUTH_ERRORS, "not_found",
                      messages={"wrong_token_kind": "a staff token cannot be used here",
                                "not_found": "recording not found",
                                "bad_request": "purpose must be 'play', 'download' or 'package'"})},
            request=body("MediaLinkRequest", required=False), security=SHARE_SECURITY)},
    }


def paths() -> Json:
    return {
        "/api/health": {"get": operation(
            "health", "system", "Health check",
            "Whether the server and its state store answer. Needs no token.",
            {"200": ok("Healthy", ref("Health"), {"status": "ok", "store": True}),
             "503": ok("The state store does not answer", ref("Health"),
                       {"status": "degraded", "store": False})},
            public=True)},
        "/api/court": {"get": operation(
            "court", "system", "The court's language and clock",
            "What every page needs before it shows a word: the court's own language (`court.language`, also "
            "the language of the composite picture), the languages the pages offer, and the court's time zone "
            "for showing local times (`court.time_zone`, as a browser's Intl.DateTimeFormat takes it). Needs no "
            "token.",
            {"200": ok("The court", ref("Court"), {
                "language": "kk", "time_zone": "Asia/Almaty",
                "languages": [{"code": "kk", "name": "Қазақша"}, {"code": "ru", "name": "Русский"},
                              {"code": "en", "name": "English"}]})},
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
        "/api/device-tokens": {"get": operation(
            "listDeviceTokens", "auth", "The courtroom PCs' device tokens",
            "Every device token issued with `hearing-server device-token`, newest first, with the courtroom "
            "it is bound to and whether it is `active`, `expired` or `revoked` (the tokens themselves are "
            "never shown again).\n\nNeeds `manage_devices` (admin).",
            {"200": ok("The device tokens", ref("DeviceTokenList")),
             **errors(*AUTH_ERRORS, "forbidden", messages={"forbidden": "a judge may not manage devices"})})},
        "/api/device-tokens/{token_id}": {"delete": operation(
            "revokeDeviceToken", "auth", "Revoke one courtroom PC's device token",
            "The device token with this id is refused from now on (`401 token_revoked`) and a live "
            "connection that signed in with it is closed; the account and the other PCs carry on. Issue a "
            "new one with `hearing-server device-token`.\n\nNeeds `manage_devices` (admin).",
            {"200": ok("Revoked", ref("DeviceToken")),
             **errors(*AUTH_ERRORS, "forbidden", "not_found",
                      messages={"forbidden": "a judge may not manage devices",
                                "not_found": "device token not found"})},
            params=[{"name": "token_id", "in": "path", "required": True,
                     "description": "The device token's id (`id` in the list, printed when it was issued)",
                     "schema": string("Device token id", "Xq3v9KpL2mNw8RtY")}])},
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
                params=[query("status", "Only hearings in this status (any other value matches nothing)",
                              ref("HearingStatus"))]),
        },
        "/api/hearings/{hearing_id}": {"get": operation(
            "getHearing", "hearings", "Get a hearing", "Needs `view_hearing` (every staff role).",
            {"200": ok("The hearing", ref("Hearing")),
             **errors(*AUTH_ERRORS, "not_found")},
            params=[HEARING_ID])},
        "/api/hearings/{hearing_id}/open": hearing_action(
            "open", "Open the hearing",
            "scheduled → open: starts the hearing clock and the composite, on the least-loaded media "
            "worker. Opening an open hearing, or one in recess, changes nothing. A server whose every media "
            "worker is full (`media.hearings_per_worker`, or its CPU) refuses with `503 server_full`, naming "
            "the reason, and the hearing stays scheduled.", ("hearing_closed", "server_full")),
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
        "/api/hearings/{hearing_id}/participants/{participant_id}/link": {"post": operation(
            "newLink", "invitations", "A new join link for the same seat",
            "For showing or sending someone's link again (a lost SMS, a mistyped number): a new invite token "
            "for the same participant, with the same answer as an invitation. The old link stops working at "
            "once (revoked), so a link that went astray is useless to whoever has it. The person keeps their "
            "place: a party admitted before comes back by the new link as by the old one. Needs `invite`.",
            {"200": ok("A new link", ref("Invitation")),
             **errors(*AUTH_ERRORS, "forbidden", "not_presiding_judge", "not_found", "hearing_closed",
                      "no_invitation", messages={"forbidden": "a courtroom may not invite"})},
            params=[HEARING_ID, PARTICIPANT_ID])},
        "/api/hearings/{hearing_id}/lobby": {"get": operation(
            "lobby", "lobby", "Who is waiting in the lobby",
            "People in state `waiting`, first arrival first, with what the identity check needs. Needs "
            "`admit` (judge: the presiding judge only; clerk; admin). Someone who lost their connection "
            "while waiting stays listed until admitted, rejected or removed; the signaling `lobby` message "
            "also says who is online.",
            {"200": ok("The lobby", ref("LobbyList")),
             **errors(*AUTH_ERRORS, "forbidden", "not_presiding_judge", "not_found", "node_unreachable",
                      messages={"forbidden": "a courtroom may not admit"})},
            params=[HEARING_ID])},
        "/api/hearings/{hearing_id}/participants": {"get": operation(
            "participants", "participants", "The roster",
            "By default the people in the hearing (`admitted` or `disconnected`). With `all=1` (or "
            "`all=true`) everyone ever invited to or joined the hearing, in any state, in invitation order. "
            "Needs `view_hearing` (every staff role).",
            {"200": ok("The participants (court view)", ref("ParticipantList")),
             **errors(*AUTH_ERRORS, "not_found")},
            params=[HEARING_ID, query("all", "`1` or `true`: every participant, in any state",
                                      {"type": "string", "enum": ["1", "true"]})])},
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
        "/api/hearings/{hearing_id}/participants/{participant_id}/lower-hand": participant_action(
            "lower-hand", "Lower a raised hand",
            "The court saw the request for the floor: the hand goes down (`hand_lowered` in the transcript). "
            "Lifting the court's mute lowers it too. The hearing must be open or in recess.",
            "moderate", ("hearing_closed", "hearing_not_open")),
        "/api/hearings/{hearing_id}/participants/{participant_id}/remove": participant_action(
            "remove", "Remove from the hearing",
            "Any state → removed, for good: revokes the person's tokens; their signaling connection gets "
            "`removed` and is closed (4410). Removing someone already removed or rejected changes nothing.",
            "moderate", ("cannot_remove_self",), reason=True),
        "/api/hearings/{hearing_id}/cameras": {
            "get": operation(
                "listCameras", "hearings", "The courtroom's cameras",
                "The cameras the courtroom PC sends into the hearing (one per video track of its offer, "
                "named by it), whether each is in the composite, and whether it is sending pictures now. "
                "Empty when no courtroom PC is in the hearing, or the hearing is not live on this server "
                "(scheduled, closed). The same list reaches the presiding judge's console as the signaling "
                "`cameras` message. Needs `view_hearing` (every staff role). With several nodes, any node "
                "answers: the one that carries the hearing's live room is asked.",
                {"200": ok("The cameras", ref("CameraList")),
                 **errors(*AUTH_ERRORS, "not_found", "node_unreachable")},
                params=[HEARING_ID]),
            "post": operation(
                "chooseCamera", "hearings", "Put a courtroom camera in or out of the picture",
                "Shows (`shown: true`) or hides a courtroom camera in the composite — and so in what "
                "everyone sees and in the record; the transcript notes `camera_shown` or `camera_hidden`. "
                "Showing a shown camera (or hiding a hidden one) changes nothing.\n\nNeeds "
                "`control_hearing` (judge: the presiding judge only; admin).",
                {"200": ok("The camera after the change", ref("CourtroomCamera")),
                 **errors(*BODY_ERRORS, *AUTH_ERRORS, "forbidden", "not_presiding_judge", "not_found",
                          "node_unreachable", messages={"forbidden": "a clerk may not control hearing",
                                    "bad_request": "shown must be true or false",
                                    "not_found": "no such courtroom camera in this hearing"})},
                request=body("CameraChoice"), params=[HEARING_ID]),
        },
        **recording_paths(),
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
            {"name": "recording", "description": "The live recording: log notes, pause and resume"},
            {"name": "archive", "description": "Finished recordings: search, play, download, verify, share; "
                                               "the audit log"},
            {"name": "shared", "description": "A recording handed to someone with a share link"},
        ],
        "security": [{"bearerAuth": []}],
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "A staff token from POST /api/login (kind `staff`, HS256).",
                },
                "shareToken": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "The token of a share link (kind `share`, HS256): the part after "
                                   "`#token=` in the `url` from POST /api/recordings/{hearing_id}/shares.",
                },
            },
            "schemas": schemas(),
        },
    }
