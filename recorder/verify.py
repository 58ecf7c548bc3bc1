"""Offline check of a court record: every segment's hash, the hash chain, the final files, the signature.

Works on a folder laid out as the store keeps a recording (manifest.json, segments/, hearing.mp4,
transcript.*), wherever it came from: the local store, a download, a USB stick.
"""

from __future__ import annotations

import json
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


def verify_folder(folder: Path, trusted_public_key: bytes | None = None) -> list[Check]:
    checks: list[Check] = []
    try:
        manifest = Manifest.from_dict(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return [Check(False, "manifest.json", f"unreadable ({exc})")]
    checks.append(Check(True, "manifest.json", f"hearing {manifest.hearing_id}, case {manifest.case_number}, "
                                               f"{len(manifest.segments)} segments, status {manifest.status}"))
    if not manifest.signature:
        checks.append(Check(False, "signature", "the manifest is not signed"))
    elif manifest.signature_valid(trusted_public_key):
        who = "the trusted court key" if trusted_public_key else f"key {manifest.signature.get('key_id')}"
        checks.append(Check(True, "signature", f"Ed25519, made by {who}"))
    else:
        reason = "not made by the trusted court key" if trusted_public_key and manifest.signature_valid() else \
            "does not match the manifest (altered after signing?)"
        checks.append(Check(False, "signature", reason))

    previous = genesis(manifest.hearing_id)
    for segment in manifest.segments:
        path = _find(folder, segment.file)
        what = f"segment {segment.index:06d} ({segment.file}, {segment.start:.2f}–{segment.end:.2f} s)"
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
        path = folder / item.name
        if not path.exists():
            checks.append(Check(False, item.name, "file missing"))
            continue
        sha, size = sha256_file(path)
        if sha != item.sha256 or size != item.size:
            checks.append(Check(False, item.name, f"content differs from the manifest (sha256 {sha[:16]}…)"))
        else:
            checks.append(Check(True, item.name, f"sha256 {sha[:16]}…"))
    return checks
