"""The clerk's archive: find, play, verify, download and hand out recordings.

Every way in is audited when it is granted: a recording's page (view), a play or download link, a verify, a
share and its revocation, and what a share-link holder opens. The byte-range requests a player makes on a
link it was granted are not logged one by one. Repeats and floods are coalesced by the audit log itself
(recorder/audit.py). The catalog, the audit log and the register of shares are in the archive's database
(recorder/db/), shared by every node.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web

from recorder.audit import ACTIONS as AUDIT_ACTIONS
from recorder.catalog import PAGE_LIMIT, Query, Recording
from recorder.download_name import content_disposition, download_name
from recorder.keys import public_pem
from recorder.manifest import Manifest
from recorder.package import package, recording_folder
from recorder.recorder import Archive, Recorder
from recorder.storage import LocalStorage, StorageError
from recorder.transcript import utc_iso
from recorder.verify import verify_folder

from ..appkeys import COURT, RECORDER, SETTINGS
from ..court import clean_text
from ..errors import ApiError, not_found
from ..roles import Permission, Role
from ..tokens import Claims, TokenKind
from .requests import bearer, json_body, staff

routes = web.RouteTableDef()

PURPOSES = ("play", "download", "package")
SEARCH_FIELDS = ("case_number", "match", "court", "courtroom", "judge", "participant", "text", "from", "to",
                 "deleted", "cursor")
MIN_SHARE_HOURS = 0.02  # 72 s
SHARED_PREFIX = "shared:"  # media tokens made from a share link carry the share's id as their subject
AUDIT_PAGE = 500
HOLD_REASON_LIMIT = 500


def _archive(request: web.Request) -> Archive:
    archive = request.app[RECORDER].archive
    assert archive is not None  # the front always has one
    return archive


def _iso(epoch: float | None) -> str | None:
    return utc_iso(epoch) if epoch is not None else None


def _public(rec: Recording) -> dict[str, Any]:
    """What a share-link holder sees of a recording."""
    return {
        "hearing_id": rec.hearing_id, "case_number": rec.case_number, "title": rec.title, "court": rec.court,
        "courtroom": rec.courtroom, "judge": rec.judge, "judge_name": rec.judge_name, "opened_at": rec.opened_at,
        "closed_at": rec.closed_at, "status": rec.status, "duration": rec.duration, "segments": rec.segments,
        "gaps": rec.gaps,
    }


def _summary(rec: Recording) -> dict[str, Any]:
    summary: dict[str, Any] = {
        **_public(rec), "case_category": rec.case_category, "size_bytes": rec.size_bytes,
        "integrity": rec.integrity["status"], "legal_hold": rec.legal_hold,
        "retain_until": _iso(rec.retain_until), "deleted_at": _iso(rec.deleted_at),
    }
    if rec.hits:
        summary["hits"] = rec.hits
    return summary


def _detail(rec: Recording) -> dict[str, Any]:
    integrity = dict(rec.integrity)
    return {
        **_summary(rec),
        "participants": rec.participants,
        "gaps": rec.detail.get("gaps", []),
        "pauses": rec.detail.get("pauses", []),
        "files": rec.detail.get("files", []),
        "signature": rec.detail.get("signature", {}),
        "manifest_sha256": rec.manifest_sha256,
        "integrity": integrity,
        "hold": {"reason": rec.hold_reason, "by": rec.hold_by, "at": _iso(rec.hold_at)} if rec.legal_hold else None,
        "deleted_reason": rec.deleted_reason or None,
    }


def _date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be a date like 2026-11-28") from None


async def _recording(request: web.Request, claims: Claims, include_deleted: bool = False) -> Recording:
    hid = request.match_info["hearing_id"]
    # Permission first: someone who may not see recordings must not learn which ones exist.
    if claims.kind is TokenKind.STAFF:
        request.app[COURT].require(claims, Permission.VIEW_RECORDINGS)
    elif claims.hearing != hid:
        raise ApiError(403, "forbidden", "this link is for another recording")
    return await _catalogued(request, hid, include_deleted)


async def _catalogued(request: web.Request, hearing_id: str, include_deleted: bool = False) -> Recording:
    found = await _archive(request).catalog.get(hearing_id, include_deleted) if len(hearing_id) < 100 else None
    if found is None:
        raise not_found("recording")
    return found


def _link_seconds(request: web.Request, manifest: Recording) -> int:
    """A download link lasts `download_link_seconds`; a play link as long as someone may take to watch the
    whole recording (a player re-requests byte ranges on the same URL while seeking)."""
    seconds = request.app[SETTINGS].storage.download_link_seconds
    return int(max(seconds, 2 * (manifest.duration or 0) + 3600))


async def _media_claims(request: web.Request) -> Claims:
    """A media token, for this recording, from a share that has not been revoked since."""
    claims = await request.app[COURT].authenticate(request.query.get("token", ""), (TokenKind.MEDIA,))
    if claims.hearing != request.match_info["hearing_id"]:
        raise ApiError(403, "forbidden", "this link is for another recording")
    share_id = claims.subject[len(SHARED_PREFIX):] if claims.subject.startswith(SHARED_PREFIX) else ""
    if share_id and await request.app[COURT].is_revoked(share_id):
        raise ApiError(401, "token_revoked", "the share this link came from has been revoked")
    if not share_id:
        # A link a member of staff made lives no longer than their log-in and their account.
        court = request.app[COURT]
        if claims.parent and await court.is_revoked(claims.parent):
            raise ApiError(401, "token_revoked", "the log-in this link was made with has ended")
        account = court.users.get(claims.subject) if court.users is not None else None
        if court.users is not None and (account is None or account.disabled):
            raise ApiError(401, "account_changed", "the account this link was made by was removed")
    return claims


async def _audit(request: web.Request, claims: Claims, action: str, hearing_id: str, **details: Any) -> None:
    actor = claims.subject if claims.kind is TokenKind.STAFF else f"{claims.kind.value}:{claims.name}"
    await _archive(request).audit.record(action, hearing_id, actor, claims.role.value,
                                         request.remote or "", token=claims.jti, **details)


def _actor(claims: Claims) -> str:
    return claims.subject if claims.kind is TokenKind.STAFF else f"{claims.kind.value}:{claims.name}"


async def _share_claims(request: web.Request) -> Claims:
    # authenticate() asks the archive's register of revoked tokens, which every node shares.
    return await request.app[COURT].authenticate(bearer(request), (TokenKind.SHARE,))


def _limit(value: str, default: int, most: int) -> int:
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise ApiError(400, "bad_request", f"limit must be a whole number from 1 to {most}", field="limit")
    return int(value)


# -- staff ----------------------------------------------------------------------------------------------


@routes.get("/api/recordings")
async def search(request: web.Request) -> web.Response:
    claims = await staff(request)
    request.app[COURT].require(claims, Permission.VIEW_RECORDINGS)
    q = request.query
    match = q.get("match", "contains")
    if match not in ("contains", "prefix"):
        raise ApiError(400, "bad_request", "match must be 'contains' or 'prefix'", field="match")
    query = Query(case_number=clean_text(q.get("case_number", ""), "case_number"), case_prefix=match == "prefix",
                  court=clean_text(q.get("court", ""), "court"),
                  courtroom=clean_text(q.get("courtroom", ""), "courtroom"),
                  judge=clean_text(q.get("judge", ""), "judge"),
                  participant=clean_text(q.get("participant", ""), "participant"),
                  text=clean_text(q.get("text", ""), "text"),
                  date_from=_date(q.get("from", ""), "from"), date_to=_date(q.get("to", ""), "to"),
                  include_deleted=q.get("deleted", "") in ("1", "true", "yes"))
    limit = _limit(q.get("limit", ""), 50, PAGE_LIMIT)
    cursor = q.get("cursor", "")
    try:
        page = await _archive(request).catalog.search(query, limit, cursor if len(cursor) < 400 else "?")
    except ValueError:
        raise ApiError(400, "bad_request", "cursor is not one this server gave (start again without it)",
                       field="cursor") from None
    await _audit(request, claims, "search", "", **{k: v for k, v in q.items() if k in SEARCH_FIELDS},
                 found=page.total)
    return web.json_response({"recordings": [_summary(r) for r in page.recordings], "total": page.total,
                              "total_capped": page.total_capped, "next_cursor": page.next_cursor})


@routes.get("/api/recordings/{hearing_id}")
async def recording(request: web.Request) -> web.Response:
    claims = await staff(request)
    manifest = await _recording(request, claims, include_deleted=True)  # a deleted one shows its tombstone
    await _audit(request, claims, "view", manifest.hearing_id)
    return web.json_response(_detail(manifest))


@routes.get("/api/recordings/{hearing_id}/transcript")
async def transcript(request: web.Request) -> web.Response:
    claims = await staff(request)
    manifest = await _recording(request, claims)
    response = await _transcript(request, manifest)
    await _audit(request, claims, "transcript", manifest.hearing_id)
    return response


@routes.get("/api/recordings/{hearing_id}/manifest")
async def manifest_file(request: web.Request) -> web.Response:
    """The signed manifest as stored: what `hearing-server verify` checks a copy of the record against."""
    claims = await staff(request)
    manifest = await _recording(request, claims)
    raw = await _stored(request, f"{manifest.hearing_id}/manifest.json")
    await _audit(request, claims, "manifest", manifest.hearing_id)
    return web.Response(body=raw, content_type="application/json")


async def _stored(request: web.Request, key: str) -> bytes:
    """One file of a recording from the store; a store that does not answer is a 503, not a 500."""
    try:
        return await request.app[RECORDER].storage.read(key)
    except StorageError:
        raise _store_unavailable() from None


async def _copied(request: web.Request, hearing_id: str, into: Path) -> Path:
    """The recording's files in a local folder (the store's own, or a copy in `into`), or a 503."""
    try:
        return await recording_folder(request.app[RECORDER].storage, hearing_id, into)
    except StorageError:
        raise _store_unavailable() from None


def _store_unavailable() -> ApiError:
    return ApiError(503, "store_unavailable", "the recording store cannot be reached right now")


async def _transcript(request: web.Request, manifest: Recording) -> web.Response:
    raw = await _stored(request, f"{manifest.hearing_id}/transcript.json")
    return web.Response(body=raw, content_type="application/json")


@routes.post("/api/recordings/{hearing_id}/links")
async def media_link(request: web.Request) -> web.Response:
    claims = await staff(request)
    manifest = await _recording(request, claims)
    return await _media_link(request, claims, manifest, "")


async def _media_link(request: web.Request, claims: Claims, manifest: Recording, prefix: str) -> web.Response:
    body = await json_body(request, optional=True)
    purpose = body.get("purpose", "play")
    if purpose not in PURPOSES:
        raise ApiError(400, "bad_request", "purpose must be 'play' or 'download'")
    recorder: Recorder = request.app[RECORDER]
    hid = manifest.hearing_id
    filename = download_name(manifest.case_number or hid, ".mp4", hid)
    seconds = request.app[SETTINGS].storage.download_link_seconds if purpose != "play" else \
        _link_seconds(request, manifest)
    subject = claims.subject
    if claims.kind is TokenKind.SHARE:
        subject = f"{SHARED_PREFIX}{claims.jti}"
        seconds = max(1, min(seconds, int(claims.expires_at - time.time())))  # never past the share itself
    expires = int(time.time()) + seconds
    parent = claims.jti if claims.kind is TokenKind.STAFF else ""
    url = None if purpose == "package" or purpose == "play" and isinstance(recorder.storage, LocalStorage) \
        else await recorder.storage.download_url(f"{hid}/hearing.mp4",
                                                 filename if purpose == "download" else "", seconds)
    if url is None:
        token, _ = request.app[COURT].tokens.issue(TokenKind.MEDIA, subject, claims.role, hid,
                                                   seconds, name=claims.name, purpose=purpose, parent=parent)
        url = f"/api/recordings/{hid}/{'package' if purpose == 'package' else 'media'}?token={token}"
    await _audit(request, claims, prefix + purpose, hid)
    vtt_token, _ = request.app[COURT].tokens.issue(TokenKind.MEDIA, subject, claims.role, hid,
                                                   seconds, name=claims.name, purpose="play", parent=parent)
    return web.json_response({"url": url, "expires_at": expires, "purpose": purpose,
                              "captions_url": f"/api/recordings/{hid}/captions.vtt?token={vtt_token}"})


@routes.get("/api/recordings/{hearing_id}/media")
async def media(request: web.Request) -> web.StreamResponse:
    """The MP4 itself, with Range support so a browser can seek; the token comes from /links."""
    claims = await _media_claims(request)
    hid = claims.hearing
    recorder: Recorder = request.app[RECORDER]
    manifest = await _catalogued(request, hid)
    if claims.purpose == "package":
        raise ApiError(403, "forbidden", "this link is for the evidence package (GET .../package)")
    headers = {"Cache-Control": "private, no-store"}
    if claims.purpose == "download":
        headers["Content-Disposition"] = content_disposition(download_name(manifest.case_number or hid, ".mp4",
                                                                           hid))
    if isinstance(recorder.storage, LocalStorage):
        path = recorder.storage.path(f"{hid}/hearing.mp4")
        if not path.exists():
            raise not_found("recording file")
        return web.FileResponse(path, headers={**headers, "Content-Type": "video/mp4"})
    url = await recorder.storage.download_url(f"{hid}/hearing.mp4", "", _link_seconds(request, manifest))
    if url is None:
        raise not_found("recording file")
    raise web.HTTPFound(url)


@routes.get("/api/recordings/{hearing_id}/package")
async def evidence_package(request: web.Request) -> web.StreamResponse:
    """The whole verifiable record as one zip (recorder/package.py); the token comes from /links with
    purpose "package"."""
    claims = await _media_claims(request)
    if claims.purpose != "package":
        raise ApiError(403, "forbidden", "this link is not for the evidence package")
    hid = claims.hearing
    recorder: Recorder = request.app[RECORDER]
    await _catalogued(request, hid)
    with tempfile.TemporaryDirectory(prefix="package-") as tmp:
        folder = await _copied(request, hid, Path(tmp))
        if not (folder / "manifest.json").exists():
            raise not_found("recording file")
        try:
            manifest = Manifest.from_dict(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
        except (ValueError, TypeError, KeyError):
            raise ApiError(409, "manifest_unreadable", "the stored manifest cannot be read; verify the "
                                                       "recording") from None
        zipped = await asyncio.to_thread(package, folder, manifest, public_pem(recorder.key),
                                         recorder.public_key)
        response = web.StreamResponse(headers={
            "Content-Type": "application/zip", "Cache-Control": "private, no-store",
            "Content-Disposition": content_disposition(download_name(manifest.case_number or hid,
                                                                     "-evidence.zip", hid))})
        response.content_length = len(zipped)
        await response.prepare(request)
        chunks = iter(zipped)
        # Reading the members is file I/O: each chunk is made in a thread, sent from the loop.
        while chunk := await asyncio.to_thread(next, chunks, b""):
            await response.write(chunk)
        await response.write_eof()
        return response


@routes.get("/api/recordings/{hearing_id}/captions.vtt")
async def captions(request: web.Request) -> web.Response:
    claims = await _media_claims(request)
    hid = claims.hearing
    await _catalogued(request, hid)
    raw = await _stored(request, f"{hid}/transcript.vtt")
    return web.Response(body=raw, content_type="text/vtt", charset="utf-8")


@routes.post("/api/recordings/{hearing_id}/verify")
async def verify(request: web.Request) -> web.Response:
    claims = await staff(request)
    manifest = await _recording(request, claims)
    recorder: Recorder = request.app[RECORDER]
    hid = manifest.hearing_id
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        folder = await _copied(request, hid, Path(tmp))
        checks = await asyncio.to_thread(verify_folder, folder, recorder.public_key)
    failures = [c.line() for c in checks if not c.ok]
    result = {"status": "failed" if failures else "verified", "checked_at": time.time(), "checks": len(checks),
              "failures": failures}
    await _archive(request).catalog.set_integrity(hid, result, _actor(claims))
    await _audit(request, claims, "verify", hid, result=result["status"], checks=result["checks"],
                 failures=result["failures"])
    return web.json_response({**result, "checks": [{"ok": c.ok, "what": c.what, "detail": c.detail}
                                                   for c in checks]})


@routes.post("/api/recordings/{hearing_id}/shares")
async def share(request: web.Request) -> web.Response:
    claims = await staff(request)
    manifest = await _recording(request, claims)
    request.app[COURT].require(claims, Permission.SHARE_RECORDINGS)
    body = await json_body(request)
    recipient = clean_text(body.get("recipient", ""), "recipient", required=True)
    default_hours = request.app[SETTINGS].storage.share_link_hours
    hours = body.get("hours", default_hours)
    # At least a minute: a link that expires while it is being handed over is of no use to anyone.
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not MIN_SHARE_HOURS <= hours <= 24 * 90:
        raise ApiError(400, "bad_request", "hours must be a number from 0.02 (a minute) to 2160 (90 days)",
                       field="hours")
    token, granted = request.app[COURT].tokens.issue(TokenKind.SHARE, f"share_{manifest.hearing_id}",
                                                     Role.OBSERVER, manifest.hearing_id, hours * 3600,
                                                     name=recipient)
    base = request.app[SETTINGS].server.public_url.rstrip("/") or f"{request.scheme}://{request.host}"
    await _archive(request).shares.add(granted.jti, manifest.hearing_id, recipient, _actor(claims),
                                       granted.expires_at)
    await _audit(request, claims, "share", manifest.hearing_id, recipient=recipient, share_id=granted.jti,
                 expires_at=granted.expires_at)
    return web.json_response({"url": f"{base}/shared#token={token}", "recipient": recipient,
                              "share_id": granted.jti, "expires_at": granted.expires_at}, status=201)


@routes.get("/api/recordings/{hearing_id}/shares")
async def shares(request: web.Request) -> web.Response:
    """The share links handed out for this recording, from the register of shares."""
    claims = await staff(request)
    request.app[COURT].require(claims, Permission.SHARE_RECORDINGS)
    manifest = await _recording(request, claims)
    made = await _archive(request).shares.of_recording(manifest.hearing_id)
    await _audit(request, claims, "shares_list", manifest.hearing_id)
    now = time.time()
    return web.json_response({"shares": [
        {"share_id": s["share_id"], "recipient": s["recipient"], "made_by": s["made_by"],
         "made_at": utc_iso(s["made_at"]), "expires_at": int(s["expires_at"]),
         "status": "revoked" if s["revoked_at"] else ("expired" if s["expires_at"] <= now else "active"),
         "revoked_at": _iso(s["revoked_at"])} for s in made]})


@routes.delete("/api/recordings/{hearing_id}/shares/{share_id}")
async def revoke_share(request: web.Request) -> web.Response:
    claims = await staff(request)
    manifest = await _recording(request, claims)
    request.app[COURT].require(claims, Permission.SHARE_RECORDINGS)
    share_id = clean_text(request.match_info["share_id"], "share_id")
    archive = _archive(request)
    # Only a share of this recording, made here: the register of shares says which.
    made = await archive.shares.get(share_id)
    if made is None or made["hearing_id"] != manifest.hearing_id:
        raise not_found("share")
    await request.app[COURT].revoke(share_id, float(made["expires_at"]) + 60)
    if await archive.shares.revoke(share_id, _actor(claims)):
        await _audit(request, claims, "share_revoked", manifest.hearing_id, share_id=share_id)
    return web.json_response({"revoked": share_id})


@routes.post("/api/recordings/{hearing_id}/hold")
async def place_hold(request: web.Request) -> web.Response:
    """A legal hold: the recording is not deleted when its retention period ends, until the hold is lifted."""
    claims = await staff(request)
    manifest = await _recording(request, claims)
    request.app[COURT].require(claims, Permission.HOLD_RECORDINGS)
    body = await json_body(request)
    reason = clean_text(body.get("reason", ""), "reason", required=True)
    if len(reason) > HOLD_REASON_LIMIT:
        raise ApiError(400, "bad_request", f"reason: at most {HOLD_REASON_LIMIT} characters", field="reason")
    if not await _archive(request).catalog.hold(manifest.hearing_id, reason, _actor(claims)):
        raise not_found("recording")
    await _audit(request, claims, "hold", manifest.hearing_id, reason=reason)
    return web.json_response(_detail(await _catalogued(request, manifest.hearing_id)))


@routes.delete("/api/recordings/{hearing_id}/hold")
async def lift_hold(request: web.Request) -> web.Response:
    claims = await staff(request)
    manifest = await _recording(request, claims)
    request.app[COURT].require(claims, Permission.HOLD_RECORDINGS)
    if await _archive(request).catalog.release(manifest.hearing_id):
        await _audit(request, claims, "hold_released", manifest.hearing_id)
    return web.json_response(_detail(await _catalogued(request, manifest.hearing_id)))


@routes.get("/api/audit")
async def audit(request: web.Request) -> web.Response:
    claims = await staff(request)
    request.app[COURT].require(claims, Permission.VIEW_AUDIT)
    q = request.query
    hearing_id = clean_text(q.get("hearing_id", ""), "hearing_id")
    action = q.get("action", "")
    if action and action not in AUDIT_ACTIONS:
        raise ApiError(400, "bad_request", f"action must be one of: {', '.join(AUDIT_ACTIONS)}", field="action")
    before = q.get("before", "")
    if before and not before.isdigit():
        raise ApiError(400, "bad_request", "before must be an entry's seq (a whole number)", field="before")
    limit = _limit(q.get("limit", ""), AUDIT_PAGE, AUDIT_PAGE)
    # One more than the page: whether there are older entries, without an empty last request.
    entries = await _archive(request).audit.entries(hearing_id, limit + 1,
                                                    frozenset({action}) if action else None,
                                                    int(before) if before else None)
    page = entries[:limit]
    return web.json_response({"entries": page,
                              "next_before": page[-1]["seq"] if len(entries) > limit else None})


# -- a party holding a share link -----------------------------------------------------------------------


@routes.get("/api/shared")
async def shared(request: web.Request) -> web.Response:
    claims = await _share_claims(request)
    manifest = await _catalogued(request, claims.hearing)
    await _audit(request, claims, "shared_view", manifest.hearing_id)
    detail = _public(manifest)
    detail["participants"] = [{"name": p["name"], "role": p["role"]} for p in manifest.participants]
    detail["shared_with"] = claims.name
    detail["link_expires_at"] = int(claims.expires_at)
    return web.json_response(detail)


@routes.get("/api/shared/transcript")
async def shared_transcript(request: web.Request) -> web.Response:
    claims = await _share_claims(request)
    manifest = await _catalogued(request, claims.hearing)
    response = await _transcript(request, manifest)
    await _audit(request, claims, "shared_transcript", manifest.hearing_id)
    return response


@routes.post("/api/shared/links")
async def shared_link(request: web.Request) -> web.Response:
    claims = await _share_claims(request)
    manifest = await _catalogued(request, claims.hearing)
    return await _media_link(request, claims, manifest, "shared_")


