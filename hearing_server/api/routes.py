"""HTTP routes: log in, hearings, invitations, lobby and roster. Written up in docs/api.md."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import segno
from aiohttp import web

from signaling.text import text_problem

from ..appkeys import COURT, ROOMS, SETTINGS, STORE, THROTTLE, USERS
from ..court import Invitation, clean_text
from ..errors import ApiError
from ..i18n import LANGUAGES, intl_time_zone, text
from ..models import Hearing, Participant, to_dict
from ..roles import PERMISSIONS, Permission, Role
from .openapi import openapi_document
from .requests import json_body, staff

routes = web.RouteTableDef()

def hearing_json(hearing: Hearing) -> dict[str, Any]:
    return to_dict(hearing)


def join_url(request: web.Request, token: str) -> str:
    base = request.app[SETTINGS].server.public_url.rstrip("/") or f"{request.scheme}://{request.host}"
    # The token rides in the fragment: browsers never send it to a server, so it stays out of access logs.
    return f"{base}/join#token={token}"


@routes.get("/api/health")
async def health(request: web.Request) -> web.Response:
    store_ok = await request.app[STORE].ping()
    return web.json_response({"status": "ok" if store_ok else "degraded", "store": store_ok},
                             status=200 if store_ok else 503)


@routes.get("/api/court")
async def court_info(request: web.Request) -> web.Response:
    """What every page needs before it shows a word: the court's language and clock (no token needed)."""
    court = request.app[SETTINGS].court
    return web.json_response({
        "language": court.language,
        "languages": [{"code": code, "name": text(code, "language.name")} for code in LANGUAGES],
        "time_zone": intl_time_zone(court.time_zone),
    }, headers={"Cache-Control": "no-cache"})


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


@routes.post("/api/login")
async def login(request: web.Request) -> web.Response:
    body = await json_body(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise ApiError(400, "bad_request", "username and password are required strings")
    username = clean_text(username, "username", limit=64)
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from JSON's \ud83d: no account's password, and no 500
        raise ApiError(400, "bad_request", "password must be valid Unicode text", field="password") from None
    throttle, client = request.app[THROTTLE], request.remote or "?"
    wait = throttle.attempt(client, username)
    if wait > 0:
        raise ApiError(429, "too_many_attempts", f"too many failed log-ins; try again in {math.ceil(wait)} s",
                       retry_after=math.ceil(wait))
    # Argon2 is deliberately slow: verify off the event loop.
    user = await asyncio.get_running_loop().run_in_executor(None, request.app[USERS].authenticate, username,
                                                            password)
    if user is None:
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    throttle.succeeded(client, username)
    token, claims = request.app[COURT].issue_staff_token(user.username, Role(user.role), user.display_name,
                                                         user.courtroom)
    return web.json_response({
        "token": token,
        "expires_at": claims.expires_at,
        "user": {"username": user.username, "display_name": user.display_name, "role": user.role},
        "permissions": sorted(p.value for p in PERMISSIONS.get(Role(user.role), frozenset())),
    })


@routes.post("/api/logout")
async def logout(request: web.Request) -> web.Response:
    claims = await staff(request)
    await request.app[COURT].logout(claims)
    return web.json_response({"logged_out": True})


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    claims = await staff(request)
    return web.json_response({"username": claims.subject, "display_name": claims.name, "role": claims.role.value,
                              "permissions": sorted(p.value for p in PERMISSIONS.get(claims.role, frozenset()))})


@routes.post("/api/hearings")
async def create_hearing(request: web.Request) -> web.Response:
    claims = await staff(request)
    hearing = await request.app[COURT].create_hearing(claims, await json_body(request))
    return web.json_response(hearing_json(hearing), status=201)


@routes.get("/api/hearings")
async def list_hearings(request: web.Request) -> web.Response:
    claims = await staff(request)
    court = request.app[COURT]
    court.require(claims, Permission.VIEW_HEARING)
    status = request.query.get("status")
    hearings = [h for h in await court.store.list_hearings() if not status or h.status.value == status]
    if claims.role is Role.COURTROOM:
        hearings = [h for h in hearings if court.in_courtroom(claims, h)]
    return web.json_response({"hearings": [hearing_json(h) for h in hearings]})


@routes.get("/api/hearings/{hearing_id}")
async def get_hearing(request: web.Request) -> web.Response:
    claims = await staff(request)
    court = request.app[COURT]
    hearing = await court.hearing(request.match_info["hearing_id"])
    court.require(claims, Permission.VIEW_HEARING, hearing)
    return web.json_response(hearing_json(hearing))


def _hearing_action(path: str, action: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        claims = await staff(request)
        court = request.app[COURT]
        hid = request.match_info["hearing_id"]
        if action == "open":
            court.require(claims, Permission.CONTROL_HEARING, await court.hearing(hid))
            await request.app[ROOMS].check_capacity(hid)  # a full server says so before the hearing opens
            hearing = await court.open(claims, hid)
        elif action == "close":
            hearing = await court.close(claims, hid)
        elif action in ("lock", "unlock"):
            hearing = await court.set_locked(claims, hid, action == "lock")
        else:
            hearing = await court.set_recess(claims, hid, action == "recess")
        return web.json_response(hearing_json(hearing))

    handler.__name__ = f"{action}_hearing"
    routes.post(f"/api/hearings/{{hearing_id}}/{path}")(handler)


for _action in ("open", "lock", "unlock", "recess", "resume", "close"):
    _hearing_action(_action, _action)


@routes.post("/api/hearings/{hearing_id}/recording/{action:pause|resume}")
async def recording_control(request: web.Request) -> web.Response:
    claims = await staff(request)
    hearing = await request.app[COURT].set_recording(claims, request.match_info["hearing_id"],
                                                     request.match_info["action"] == "pause")
    return web.json_response(hearing_json(hearing))


@routes.post("/api/hearings/{hearing_id}/notes")
async def add_note(request: web.Request) -> web.Response:
    claims = await staff(request)
    note = await request.app[COURT].add_note(claims, request.match_info["hearing_id"], await json_body(request))
    return web.json_response(note, status=201)


@routes.get("/api/hearings/{hearing_id}/cameras")
async def cameras(request: web.Request) -> web.Response:
    claims = await staff(request)
    court = request.app[COURT]
    hearing = await court.hearing(request.match_info["hearing_id"])
    court.require(claims, Permission.VIEW_HEARING, hearing)
    if (relayed := await request.app[ROOMS].forward(request, hearing.id)) is not None:
        return relayed  # another node carries the hearing
    room = request.app[ROOMS].rooms.get(hearing.id)
    return web.json_response({"cameras": await room.camera_list() if room else []})


@routes.post("/api/hearings/{hearing_id}/cameras")
async def choose_camera(request: web.Request) -> web.Response:
    """The judge picks which of the courtroom's cameras are in the composite (and so in the record)."""
    claims = await staff(request)
    court = request.app[COURT]
    hearing = await court.hearing(request.match_info["hearing_id"])
    court.require(claims, Permission.CONTROL_HEARING, hearing)
    body = await json_body(request)
    key, shown = body.get("camera"), body.get("shown")
    if not isinstance(key, str) or not key or len(key) > 200 or text_problem(key) is not None:
        raise ApiError(400, "bad_request", "camera must be a camera key from GET .../cameras", field="camera")
    if not isinstance(shown, bool):
        raise ApiError(400, "bad_request", "shown must be true or false")
    if (relayed := await request.app[ROOMS].forward(request, hearing.id)) is not None:
        return relayed
    room = request.app[ROOMS].rooms.get(hearing.id)
    if room is None:
        raise ApiError(404, "not_found", "no such courtroom camera in this hearing")
    return web.json_response(await room.show_camera(key, shown, claims.subject))


@routes.post("/api/hearings/{hearing_id}/invites")
async def invite(request: web.Request) -> web.Response:
    claims = await staff(request)
    invitation = await request.app[COURT].invite(claims, request.match_info["hearing_id"],
                                                 await json_body(request))
    return _invitation_answer(request, invitation, 201)


@routes.post("/api/hearings/{hearing_id}/participants/{participant_id}/link")
async def new_link(request: web.Request) -> web.Response:
    claims = await staff(request)
    invitation = await request.app[COURT].new_link(claims, request.match_info["hearing_id"],
                                                   request.match_info["participant_id"])
    return _invitation_answer(request, invitation, 200)


def _invitation_answer(request: web.Request, invitation: Invitation, status: int) -> web.Response:
    person = invitation.participant
    url = join_url(request, invitation.token)
    qr = segno.make(url, error="m")
    return web.json_response({
        "participant": person.for_court(),
        "token": invitation.token,
        "join_url": url,
        "expires_at": person.invite_expires_at,
        # The QR code holds a live join token, so it is handed over once, here, and not served again.
        "qr_svg": qr.svg_data_uri(scale=4, border=4),
        "qr_png": qr.png_data_uri(scale=6, border=4),
    }, status=status)


@routes.get("/api/hearings/{hearing_id}/lobby")
async def lobby(request: web.Request) -> web.Response:
    claims = await staff(request)
    hid = request.match_info["hearing_id"]
    people = await request.app[COURT].lobby(claims, hid)
    if (relayed := await request.app[ROOMS].forward(request, hid)) is not None:
        return relayed  # the carrier knows who is online
    room = request.app[ROOMS].rooms.get(hid)
    online = set(room.connections) if room else set()
    return web.json_response({"entrants": [_entrant(p, p.id in online) for p in people]})


def _entrant(person: Participant, online: bool) -> dict[str, Any]:
    return dict(person.public(), stated_name=person.stated_name, waiting_since=person.lobby_at,
                phone=person.phone, email=person.email, online=online, returning=person.returning,
                admitted_at=person.admitted_at if person.returning else None)


@routes.get("/api/hearings/{hearing_id}/participants")
async def roster(request: web.Request) -> web.Response:
    claims = await staff(request)
    court = request.app[COURT]
    hearing = await court.hearing(request.match_info["hearing_id"])
    court.require(claims, Permission.VIEW_HEARING, hearing)
    everyone = request.query.get("all") in ("1", "true")
    people = await court.store.list_participants(hearing.id) if everyone else await court.roster(hearing.id)
    # Contact details are for the staff who invite and admit people, not for every court account.
    private = court.may(claims, Permission.ADMIT, hearing)
    return web.json_response({"participants": [p.for_court() if private else dict(p.for_court(), phone="", email="")
                                               for p in people]})


def _participant_action(action: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        claims = await staff(request)
        court = request.app[COURT]
        hid, pid = request.match_info["hearing_id"], request.match_info["participant_id"]
        body = await json_body(request, optional=True)
        reason = body.get("reason", "")
        if action == "admit":
            person, _ = await court.admit(claims, hid, pid)
        elif action == "reject":
            person = await court.reject(claims, hid, pid, reason)
        elif action in ("mute", "unmute"):
            person = await court.mute(claims, hid, pid, action == "mute")
        elif action == "lower-hand":
            person = await court.lower_hand(claims, hid, pid)
        else:
            person = await court.remove(claims, hid, pid, reason)
        return web.json_response(person.for_court())

    handler.__name__ = f"{action.replace('-', '_')}_participant"
    routes.post(f"/api/hearings/{{hearing_id}}/participants/{{participant_id}}/{action}")(handler)


for _action in ("admit", "reject", "mute", "unmute", "lower-hand", "remove"):
    _participant_action(_action)


@routes.get("/api/device-tokens")
async def device_tokens(request: web.Request) -> web.Response:
    """The courtroom PCs' device tokens ever issued (hearing-server device-token), with their status."""
    claims = await staff(request)
    court = request.app[COURT]
    court.require(claims, Permission.MANAGE_DEVICES)
    register = court.devices
    return web.json_response({"device_tokens": [t.public() for t in register.list()] if register else []})


@routes.delete("/api/device-tokens/{token_id}")
async def revoke_device_token(request: web.Request) -> web.Response:
    """End one courtroom PC's device token at once (a stolen or retired PC); its account and the other PCs
    carry on."""
    claims = await staff(request)
    court = request.app[COURT]
    court.require(claims, Permission.MANAGE_DEVICES)
    token_id = request.match_info["token_id"]
    token = court.devices.revoke(token_id) if court.devices is not None and len(token_id) < 100 else None
    if token is None:
        raise ApiError(404, "not_found", "device token not found")
    await request.app[ROOMS].end_sessions_of(token.id, "the device token was revoked")
    return web.json_response(token.public())
