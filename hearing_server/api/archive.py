"""The clerk's archive: find, play, verify, download and hand out recordings.

Every way in is audited when it is granted: a recording's page (view), a play or download link, a verify, a
share and its revocation, and what a share-link holder opens. The byte-range requests a player makes on a
link it was granted are not logged one by one. Repeats and floods are coalesced by the audit log itself
(recorder/audit.py).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web

from recorder.catalog import Query
from recorder.download_name import content_disposition, download_name
from recorder.keys import public_pem
from recorder.manifest import Manifest
from recorder.package import package, recording_folder
from recorder.recorder import Recorder
from recorder.storage import LocalStorage, StorageError
from recorder.verify import verify_folder

from ..appkeys import COURT, RECORDER, SETTINGS
from ..court import clean_text
from ..errors import ApiError, not_found
from ..roles import Permission, Role
from ..tokens import Claims, TokenKind
from .requests import bearer, json_body, staff

routes = web.RouteTableDef()

PURPOSES = ("play", "download", "package")
MIN_SHARE_HOURS = 0.02  # 72 s
SHARED_PREFIX = "shared:"  # media tokens made from a share link carry the share's id as their subject
SHARE_REGISTER = frozenset({"share", "share_revoked"})  # the audit entries that are the register of shares


def _summary(manifest: Manifest) -> dict[str, Any]:
    return {
        "hearing_id": manifest.hearing_id, "case_number": manifest.case_number, "title": manifest.title,
        "court": manifest.court, "courtroom": manifest.courtroom, "judge": manifest.judge,
        "judge_name": manifest.judge_name, "opened_at": manifest.opened_at, "closed_at": manifest.closed_at,
        "status": manifest.status, "duration": manifest.duration, "segments": len(manifest.segments),
        "gaps": len(manifest.gaps),
    }


def _detail(manifest: Manifest, integrity: dict[str, Any]) -> dict[str, Any]:
    return {
        **_summary(manifest),
        "participants": manifest.participants,
        "gaps": [g.__dict__ for g in manifest.gaps],
        "pauses": manifest.pauses,
        "files": [f.__dict__ for f in manifest.files],
        "signature": {k: v for k, v in manifest.signature.items() if k != "value"},
        "integrity": integrity,
    }


def _date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be a date like 2026-11-28") from None


async def _recording(request: web.Request, claims: Claims) -> Manifest:
    hid = request.match_info["hearing_id"]
    # Permission first: someone who may not see recordings must not learn which ones exist.
    if claims.kind is TokenKind.STAFF:
        request.app[COURT].require(claims, Permission.VIEW_RECORDINGS)
    elif claims.hearing != hid:
        raise ApiError(403, "forbidden", "this link is for another recording")
    await _catalog(request)
    manifest = request.app[RECORDER].catalog.get(hid)
    if manifest is None:
        raise not_found("recording")
    return manifest


def _link_seconds(request: web.Request, manifest: Manifest) -> int:
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
    if share_id and (share_id in request.app[RECORDER].revoked_shares
                     or await request.app[COURT].store.is_revoked(share_id)):
        raise ApiError(401, "token_revoked", "the share this link came from has been revoked")
    if not share_id:
        # A link a member of staff made lives no longer than their log-in and their account.
        court = request.app[COURT]
        if claims.parent and await court.store.is_revoked(claims.parent):
            raise ApiError(401, "token_revoked", "the log-in this link was made with has ended")
        account = court.users.get(claims.subject) if court.users is not None else None
        if court.users is not None and (account is None or account.disabled):
            raise ApiError(401, "account_changed", "the account this link was made by was removed")
    return claims


async def _audit(request: web.Request, claims: Claims, action: str, hearing_id: str, **details: Any) -> None:
    actor = claims.subject if claims.kind is TokenKind.STAFF else f"{claims.kind.value}:{claims.name}"
    await request.app[RECORDER].audit.record(action, hearing_id, actor, claims.role.value,
                                             request.remote or "", token=claims.jti, **details)


async def _share_claims(request: web.Request) -> Claims:
    claims = await request.app[COURT].authenticate(bearer(request), (TokenKind.SHARE,))
    if claims.jti in request.app[RECORDER].revoked_shares:
        raise ApiError(401, "token_revoked", "this token has been revoked")
    return claims


async def _catalog(request: web.Request) -> None:
    """The archive index, loaded again if the store could not be reached when the server started."""
    catalog = request.app[RECORDER].catalog
    if not catalog.loaded:
        await catalog.load()
        if not catalog.loaded:
            raise _store_unavailable()


# -- staff ----------------------------------------------------------------------------------------------


@routes.get("/api/recordings")
async def search(request: web.Request) -> web.Response:
    claims = await staff(request)
    request.app[COURT].require(claims, Permission.VIEW_RECORDINGS)
    q = request.query
    query = Query(case_number=clean_text(q.get("case_number", ""), "case_number"),
                  court=clean_text(q.get("court", ""), "court"),
                  judge=clean_text(q.get("judge", ""), "judge"),
                  date_from=_date(q.get("from", ""), "from"), date_to=_date(q.get("to", ""), "to"))
    await _catalog(request)
    found = request.app[RECORDER].catalog.search(query)
    await _audit(request, claims, "search", "", **{k: v for k, v in q.items()
                                                   if k in ("case_number", "court", "judge", "from", "to")},
                 found=len(found))
    return web.json_response({"recordings": [_summary(m) for m in found]})


@routes.get("/api/recordings/{hearing_id}")
async def recording(request: web.Request) -> web.Response:
    claims = await staff(request)
    manifest = await _recording(request, claims)
    await _audit(request, claims, "view", manifest.hearing_id)
    return web.json_response(_detail(manifest, request.app[RECORDER].integrity(manifest.hearing_id)))


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


async def _transcript(request: web.Request, manifest: Manifest) -> web.Response:
    raw = await _stored(request, f"{manifest.hearing_id}/transcript.json")
    return web.Response(body=raw, content_type="application/json")


@routes.post("/api/recordings/{hearing_id}/links")
async def media_link(request: web.Request) -> web.Response:
    claims = await staff(request)
    manifest = await _recording(request, claims)
    return await _media_link(request, claims, manifest, "")


async def _media_link(request: web.Request, claims: Claims, manifest: Manifest, prefix: str) -> web.Response:
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
    manifest = recorder.catalog.get(hid)
    if manifest is None:
        raise not_found("recording")
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
    manifest = recorder.catalog.get(hid)
    if manifest is None:
        raise not_found("recording")
    with tempfile.TemporaryDirectory(prefix="package-") as tmp:
        folder = await _copied(request, hid, Path(tmp))
        if not (folder / "manifest.json").exists():
            raise not_found("recording file")
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
    if request.app[RECORDER].catalog.get(hid) is None:
        raise not_found("recording")
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
    result = recorder.set_integrity(hid, checks)
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
    await _audit(request, claims, "share", manifest.hearing_id, recipient=recipient, share_id=granted.jti,
                 expires_at=granted.expires_at)
    return web.json_response({"url": f"{base}/shared#token={token}", "recipient": recipient,
                              "share_id": granted.jti, "expires_at": granted.expires_at}, status=201)


@routes.get("/api/recordings/{hearing_id}/shares")
async def shares(request: web.Request) -> web.Response:
    """The share links handed out for this recording, from the audit log (the register of shares)."""
    claims = await staff(request)
    request.app[COURT].require(claims, Permission.SHARE_RECORDINGS)
    manifest = await _recording(request, claims)
    entries = await request.app[RECORDER].audit.entries(manifest.hearing_id, limit=1_000_000, actions=SHARE_REGISTER)
    await _audit(request, claims, "shares_list", manifest.hearing_id)
    revoked = {e.get("details", {}).get("share_id"): e for e in entries if e["action"] == "share_revoked"}
    now = time.time()
    out = []
    for entry in entries:  # newest first
        if entry["action"] != "share":
            continue
        details = entry.get("details", {})
        gone = revoked.get(details.get("share_id"))
        expires = details.get("expires_at", 0)
        out.append({"share_id": details.get("share_id", ""), "recipient": details.get("recipient", ""),
                    "made_by": entry["actor"], "made_at": entry["at"], "expires_at": int(expires),
                    "status": "revoked" if gone else ("expired" if expires <= now else "active"),
                    "revoked_at": gone["at"] if gone else None})
    return web.json_response({"shares": out})


@routes.delete("/api/recordings/{hearing_id}/shares/{share_id}")
async def revoke_share(request: web.Request) -> web.Response:
    claims = await staff(request)
    manifest = await _recording(request, claims)
    request.app[COURT].require(claims, Permission.SHARE_RECORDINGS)
    share_id = clean_text(request.match_info["share_id"], "share_id")
    # Only a share of this recording, made here: the audit log is the register of shares handed out.
    shares = [e for e in await request.app[RECORDER].audit.entries(manifest.hearing_id, limit=1_000_000,
                                                                   actions=SHARE_REGISTER)
              if e["action"] == "share" and e.get("details", {}).get("share_id") == share_id]
    if not shares:
        raise not_found("share")
    await request.app[COURT].store.revoke(share_id, shares[0]["details"].get("expires_at", time.time()) + 60)
    request.app[RECORDER].revoked_shares.add(share_id)
    await _audit(request, claims, "share_revoked", manifest.hearing_id, share_id=share_id)
    return web.json_response({"revoked": share_id})


@routes.get("/api/audit")
async def audit(request: web.Request) -> web.Response:
    claims = await staff(request)
    request.app[COURT].require(claims, Permission.VIEW_AUDIT)
    hearing_id = clean_text(request.query.get("hearing_id", ""), "hearing_id")
    return web.json_response({"entries": await request.app[RECORDER].audit.entries(hearing_id)})


# -- a party holding a share link -----------------------------------------------------------------------


@routes.get("/api/shared")
async def shared(request: web.Request) -> web.Response:
    claims = await _share_claims(request)
    manifest = request.app[RECORDER].catalog.get(claims.hearing)
    if manifest is None:
        raise not_found("recording")
    await _audit(request, claims, "shared_view", manifest.hearing_id)
    detail = _summary(manifest)
    detail["participants"] = [{"name": p["name"], "role": p["role"]} for p in manifest.participants]
    detail["shared_with"] = claims.name
    detail["link_expires_at"] = int(claims.expires_at)
    return web.json_response(detail)


@routes.get("/api/shared/transcript")
async def shared_transcript(request: web.Request) -> web.Response:
    claims = await _share_claims(request)
    manifest = request.app[RECORDER].catalog.get(claims.hearing)
    if manifest is None:
        raise not_found("recording")
    response = await _transcript(request, manifest)
    await _audit(request, claims, "shared_transcript", manifest.hearing_id)
    return response


@routes.post("/api/shared/links")
async def shared_link(request: web.Request) -> web.Response:
    claims = await _share_claims(request)
    manifest = request.app[RECORDER].catalog.get(claims.hearing)
    if manifest is None:
        raise not_found("recording")
    return await _media_link(request, claims, manifest, "shared_")


