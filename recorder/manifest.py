"""The manifest: what a recording consists of, hash-chained segment by segment, signed when final.

chain_0 = sha256("courtroom-recording:" + hearing_id); chain_i = sha256(chain_{i-1} || sha256(segment_i)),
both as raw 32-byte digests, written in hex. Removing, reordering or altering any segment breaks every
chain value after it. The signature covers the canonical JSON of the whole manifest but its "signature".
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "courtroom-recording/1"
HASH_CHUNK = 1 << 20
ADDED_LATER = ("case_category",)


def genesis(hearing_id: str) -> str:
    return hashlib.sha256(f"courtroom-recording:{hearing_id}".encode()).hexdigest()


def chain(previous_hex: str, segment_sha256_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(previous_hex) + bytes.fromhex(segment_sha256_hex)).hexdigest()


def sha256_file(path: "object") -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:  # type: ignore[call-overload]
        while block := handle.read(HASH_CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


@dataclass
class SegmentEntry:
    index: int
    file: str
    start: float  # seconds on the hearing clock
    end: float
    size: int
    sha256: str
    chain: str
    note: str = ""  # e.g. "recovered after the server stopped"

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 6)


@dataclass
class Gap:
    start: float  # seconds on the hearing clock
    end: float | None
    reason: str
    start_utc: str = ""
    end_utc: str = ""


@dataclass
class ManifestFile:
    name: str
    size: int
    sha256: str


@dataclass
class Manifest:
    hearing_id: str
    case_number: str
    title: str = ""
    case_category: str = ""  # e.g. "criminal", "civil": what retention periods are set by
    court: str = ""
    courtroom: str = ""
    judge: str = ""
    judge_name: str = ""
    opened_at: str = ""  # UTC ISO 8601: offset 0 of the hearing clock
    closed_at: str = ""
    status: str = "recording"  # recording | final | interrupted
    participants: list[dict[str, Any]] = field(default_factory=list)
    segments: list[SegmentEntry] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    pauses: list[dict[str, Any]] = field(default_factory=list)
    files: list[ManifestFile] = field(default_factory=list)
    format: str = FORMAT
    signature: dict[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        if not self.segments:
            return 0.0
        return round(self.segments[-1].end - self.segments[0].start, 3)

    @property
    def last_chain(self) -> str:
        return self.segments[-1].chain if self.segments else genesis(self.hearing_id)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        for name in ADDED_LATER:  # absent when empty: a manifest signed before they existed reads back the same
            if not body.get(name):
                body.pop(name, None)
        return body

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Manifest":
        values = dict(data)
        values["segments"] = [SegmentEntry(**s) for s in data.get("segments", [])]
        values["gaps"] = [Gap(**g) for g in data.get("gaps", [])]
        values["files"] = [ManifestFile(**f) for f in data.get("files", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})

    def canonical(self) -> bytes:
        body = self.to_dict()
        body.pop("signature", None)
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def sign(self, key: Ed25519PrivateKey) -> None:
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.signature = {
            "algorithm": "Ed25519",
            "public_key": base64.b64encode(public).decode(),
            "key_id": hashlib.sha256(public).hexdigest()[:16],
            "value": base64.b64encode(key.sign(self.canonical())).decode(),
        }

    def signature_valid(self, trusted_public_key: bytes | None = None) -> bool:
        """True if the signature matches; with `trusted_public_key`, also that the court's key made it."""
        try:
            public = base64.b64decode(self.signature["public_key"])
            value = base64.b64decode(self.signature["value"])
        except (KeyError, ValueError, TypeError):
            return False
        if trusted_public_key is not None and public != trusted_public_key:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(value, self.canonical())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
