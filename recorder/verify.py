"""Offline check of a court record: every segment's hash, the hash chain, the final files, the signature.

Works on a folder laid out as the store keeps a recording (manifest.json, segments/, hearing.mp4,
transcript.*), wherever it came from: the local store, a download, a USB stick.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .manifest import Manifest, chain, genesis, sha256_file


@dataclass
class Check:
    ok: bool
    what: str
    detail: str = ""

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'} {self.what}" + (f": {self.detail}" if self.detail else "")


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / "segments" / name, folder / name):
        if candidate.exists():
            return candidate
    return folder / "segments" / name


def _unsafe(folder: Path, name: str) -> str:
    """Why a file name from the manifest may not be opened ("" if it may). A record can come from anyone (a
    party's copy, a USB stick): its names must stay inside its own folder and name plain files."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        return "not a plain file name: the manifest may only name files in the record's own folder"
    return ""


def _inside(folder: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve()) and path.is_file()
    except OSError:
        return False


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _malformed(manifest: Manifest) -> str:
    """What in a parsed manifest is not of the form a signed manifest has ("" if nothing): an edited
    manifest must fail as such, not stop the check with a traceback."""
    def number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    for segment in manifest.segments:
        if not (isinstance(segment.index, int) and not isinstance(segment.index, bool)
                and isinstance(segment.file, str) and number(segment.start) and number(segment.end)
                and isinstance(segment.size, int) and isinstance(segment.sha256, str)
                and _HEX64.fullmatch(segment.sha256) and isinstance(segment.chain, str)
                and _HEX64.fullmatch(segment.chain)):
            return f"segment entry {segment.index!r} is not of the manifest's form"
    for gap in manifest.gaps:
        if not (number(gap.start) and (gap.end is None or number(gap.end)) and isinstance(gap.reason, str)):
            return "a gap entry is not of the manifest's form"
    for item in manifest.files:
        if not (isinstance(item.name, str) and isinstance(item.size, int) and isinstance(item.sha256, str)
                and _HEX64.fullmatch(item.sha256)):
            return "a file entry is not of the manifest's form"
    if not isinstance(manifest.signature, dict) or not all(
            isinstance(v, str) for v in manifest.signature.values()):
        return "the signature is not of the manifest's form"
    if not all(isinstance(v, str) for v in (manifest.hearing_id, manifest.case_number, manifest.status)):
        return "the hearing's facts are not of the manifest's form"
    return ""


def key_id(public_key: bytes) -> str:
    """The id a court publishes for its signing key: worked out from the key, never taken from the manifest."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def verify_folder(folder: Path, trusted_public_key: bytes | None = None) -> list[Check]:
    checks: list[Check] = []
    try:
        manifest = Manifest.from_dict(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        return [Check(False, "manifest.json", f"unreadable ({exc})")]
    wrong = _malformed(manifest)
    if wrong:
        return [Check(False, "manifest.json", f"malformed ({wrong})")]
    checks.append(Check(True, "manifest.json", f"hearing {manifest.hearing_id}, case {manifest.case_number}, "
                                               f"{len(manifest.segments)} segments, status {manifest.status}"))
    if not manifest.signature:
        checks.append(Check(False, "signature", "the manifest is not signed"))
    elif manifest.signature_valid(trusted_public_key):
        public = base64.b64decode(manifest.signature["public_key"])
        stated = manifest.signature.get("key_id", "")
        if stated and stated != key_id(public):
            # key_id is not covered by the signature: a re-signed forgery could name the court's key
            checks.append(Check(False, "signature", f"the manifest names key {stated}, but it was signed by key "
                                                    f"{key_id(public)}"))
        else:
            who = "the trusted court key" if trusted_public_key else f"key {key_id(public)}"
            checks.append(Check(True, "signature", f"Ed25519, made by {who}"))
    else:
        reason = "not made by the trusted court key" if trusted_public_key and manifest.signature_valid() else \
            "does not match the manifest (altered after signing?)"
        checks.append(Check(False, "signature", reason))

    previous = genesis(manifest.hearing_id)
    for segment in manifest.segments:
        what = f"segment {segment.index:06d} ({segment.file!r}, {segment.start:.2f}–{segment.end:.2f} s)" \
            if _unsafe(folder, segment.file) else \
            f"segment {segment.index:06d} ({segment.file}, {segment.start:.2f}–{segment.end:.2f} s)"
        if _unsafe(folder, segment.file):
            checks.append(Check(False, what, _unsafe(folder, segment.file)))
            previous = segment.chain
            continue
        path = _find(folder, segment.file)
        if path.exists() and not _inside(folder, path):
            checks.append(Check(False, what, "not a plain file inside the record's folder"))
            previous = segment.chain
            continue
        if not path.exists():
            checks.append(Check(False, what, "file missing"))
            previous = segment.chain
            continue
        sha, size = sha256_file(path)
        expected_chain = chain(previous, segment.sha256)
        if sha != segment.sha256 or size != segment.size:
            checks.append(Check(False, what, f"content differs from the manifest: sha256 {sha[:16]}… "
                                             f"({size} bytes), manifest says {segment.sha256[:16]}… "
                                             f"({segment.size} bytes)"))
        elif expected_chain != segment.chain:
            checks.append(Check(False, what, "hash chain broken (a segment before it was removed, added or "
                                             "reordered)"))
        else:
            checks.append(Check(True, what, f"sha256 {sha[:16]}…, chain intact"))
        previous = segment.chain
    for gap in manifest.gaps:
        end = f"{gap.end:.2f}" if gap.end is not None else "end"
        checks.append(Check(True, f"gap {gap.start:.2f}–{end} s", f"recorded in the manifest: {gap.reason}"))
    for item in manifest.files:
        if _unsafe(folder, item.name):
            checks.append(Check(False, repr(item.name), _unsafe(folder, item.name)))
            continue
        path = folder / item.name
        if path.exists() and not _inside(folder, path):
            checks.append(Check(False, item.name, "not a plain file inside the record's folder"))
            continue
        if not path.exists():
            checks.append(Check(False, item.name, "file missing"))
            continue
        sha, size = sha256_file(path)
        if sha != item.sha256 or size != item.size:
            checks.append(Check(False, item.name, f"content differs from the manifest (sha256 {sha[:16]}…)"))
        else:
            checks.append(Check(True, item.name, f"sha256 {sha[:16]}…"))
    return checks
