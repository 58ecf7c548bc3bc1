"""The evidence package: a whole court record as one zip that `hearing-server verify` checks offline.

It holds exactly what the store keeps for the hearing (manifest.json, segments/, hearing.mp4,
transcript.json, transcript.vtt), so the hash chain can be walked segment by segment, plus the server's
public key and a README naming the key's fingerprint, which the recipient compares with the one the court
publishes. The zip is stored, not compressed (video does not compress) and streamed with its length known
before the first byte, so a browser shows real progress on a recording of hours.
"""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

from zipstream import ZIP_STORED, ZipStream

from .keys import fingerprint
from .manifest import Manifest
from .storage import LocalStorage, Storage

PUBLIC_KEY_NAME = "signing-key.pub"
README_NAME = "README.txt"
MAX_MEMBERS = 100_000  # a package is a few thousand segments at most; more is not one of ours


async def recording_folder(storage: Storage, hearing_id: str, into: Path) -> Path:
    """The recording's files in a local folder: the store's own for a local store, else a copy in `into`."""
    if isinstance(storage, LocalStorage):
        return storage.path(hearing_id)
    folder = (into / hearing_id).resolve()
    for key in await storage.list(f"{hearing_id}/"):
        target = (into / key).resolve()
        if not target.is_relative_to(folder):
            continue  # a key that would land outside the copy is not part of this recording
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            async for block in storage.stream(key):
                await asyncio.to_thread(handle.write, block)
    return folder


def readme(manifest: Manifest, public_raw: bytes) -> str:
    return (
        f"Court record of hearing {manifest.hearing_id}, case {manifest.case_number}\n"
        f"{manifest.title}\n{manifest.court} {manifest.courtroom}\n"
        f"Opened {manifest.opened_at}, closed {manifest.closed_at}, {len(manifest.segments)} segments, "
        f"{manifest.duration:.1f} s, status {manifest.status}.\n\n"
        "The manifest (manifest.json) lists every segment with its SHA-256 and a hash chain, and is signed\n"
        "with the court server's Ed25519 key. The key that signed it is in signing-key.pub; its fingerprint:\n\n"
        f"    {fingerprint(public_raw)}\n\n"
        "Compare it with the fingerprint the court publishes before you trust this record. To check it:\n\n"
        "    hearing-server verify THIS-FILE.zip --public-key THE-COURTS-PUBLISHED-KEY.pub\n\n"
        "(without --public-key the signature is only checked against the key inside the package).\n"
    )


def package(folder: Path, manifest: Manifest, public_pem: bytes, public_raw: bytes) -> ZipStream:
    """The zip, ready to stream (iterate it; len() is its size). Members are read when iterated."""
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        stream.add_path(str(path), path.relative_to(folder).as_posix())
    stream.add(public_pem, PUBLIC_KEY_NAME)
    stream.add(readme(manifest, public_raw).encode("utf-8"), README_NAME)
    return stream


def unpack(archive: Path, into: Path) -> Path:
    """Extract a downloaded package for verify; refuses members that would land outside `into`."""
    with zipfile.ZipFile(archive) as zipped:
        members = zipped.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValueError(f"{archive}: more than {MAX_MEMBERS} files; not an evidence package")
        root = into.resolve()
        for member in members:
            target = (into / member.filename).resolve()
            if not target.is_relative_to(root):
                raise ValueError(f"{archive}: member {member.filename!r} points outside the package")
        zipped.extractall(into)
    return into

