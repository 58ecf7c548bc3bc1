"""The signaling protocol's messages, as dataclasses, and the strict parser for what clients send.

Anything a client sends is checked here before it reaches the hearing: unknown types, missing or
mistyped fields and oversize values become a ProtocolError, which the session answers with an error
message and otherwise ignores.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .text import TextError, check_raw, clean_text

MAX_SDP = 60_000
MAX_TOKEN = 4096
MAX_TEXT = 200
MAX_REF = 64
MAX_SOURCES = 16  # named tracks in one offer: a courtroom has a handful of cameras and microphones
MAX_MID = 16
MAX_LABEL = 60


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


# -- client → server ---------------------------------------------------------------------------------


@dataclass
class ClientMessage:
    type: ClassVar[str]
    ref: str | None = field(default=None, kw_only=True)  # echoed in replies and errors


@dataclass
class Hello(ClientMessage):
    """First message on every connection: who I am. Staff name the hearing; invites and sessions carry it."""

    type: ClassVar[str] = "hello"
    token: str
    hearing_id: str = ""
    name: str = ""  # what a party types on the join page


@dataclass
class Offer(ClientMessage):
    type: ClassVar[str] = "offer"
    sdp: str
    # The courtroom PC names each of its tracks by the m-line's mid: {"0": "Judge's bench", ...}.
    sources: dict[str, str] = field(default_factory=dict)


@dataclass
class SelfMute(ClientMessage):
    type: ClassVar[str] = "mute"
    muted: bool


@dataclass
class Camera(ClientMessage):
    type: ClassVar[str] = "camera"
    on: bool


@dataclass
class Hand(ClientMessage):
    """A party raises (or lowers) their hand to ask the court for the floor."""

    type: ClassVar[str] = "hand"
    raised: bool


@dataclass
class Leave(ClientMessage):
    type: ClassVar[str] = "leave"


@dataclass
class Ping(ClientMessage):
    type: ClassVar[str] = "ping"


@dataclass
class PreviewOffer(ClientMessage):
    """Court staff ask to see a lobby entrant's camera (identity check)."""

    type: ClassVar[str] = "preview"
    participant_id: str
    sdp: str


@dataclass
class PreviewStop(ClientMessage):
    type: ClassVar[str] = "preview-stop"
    participant_id: str


CLIENT_MESSAGES: dict[str, type[ClientMessage]] = {
    cls.type: cls for cls in (Hello, Offer, SelfMute, Camera, Hand, Leave, Ping, PreviewOffer, PreviewStop)
}

_LIMITS = {"sdp": MAX_SDP, "token": MAX_TOKEN}


def parse(raw: str | bytes) -> ClientMessage:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        # ValueError: bad JSON, bad UTF-8, an integer past Python's digit limit; RecursionError: nesting.
        raise ProtocolError("malformed_json", "the message is not valid JSON (or nests too deeply)") from None
    if not isinstance(data, dict):
        raise ProtocolError("malformed_message", "a message must be a JSON object")
    ref = data.get("ref")
    if ref is not None and (not isinstance(ref, (str, int)) or isinstance(ref, bool) or len(str(ref)) > MAX_REF):
        raise ProtocolError("invalid_field", "ref must be a short string or number")
    ref = None if ref is None else _checked("message", "ref", str(ref), None, MAX_REF)
    kind = data.get("type")
    cls = CLIENT_MESSAGES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {str(kind)[:40]!r}", ref)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name == "ref":
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if f.name not in data:
            if required:
                raise ProtocolError("missing_field", f"{kind}: '{f.name}' is required", ref)
            continue
        value = data[f.name]
        kind = str(kind)
        if f.type == "dict[str, str]":
            values[f.name] = _names(kind, f.name, value, ref)
            continue
        expected = bool if f.type == "bool" else str
        if not isinstance(value, expected):
            raise ProtocolError("invalid_field", f"{kind}: '{f.name}' must be {expected.__name__}", ref)
        if isinstance(value, str):
            limit = _LIMITS.get(f.name, MAX_TEXT)
            if len(value) > limit:
                raise ProtocolError("field_too_long", f"{kind}: '{f.name}' is too long", ref)
            value = _checked(kind, f.name, value, ref, limit)
        values[f.name] = value
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)} - {"type"}
    if unknown:
        raise ProtocolError("unknown_field", f"{kind}: unexpected field(s) {sorted(unknown)[:5]}", ref)
    return cls(**values, ref=ref)


# Text people read (a name typed on the join page) is folded and normalised; machine text (tokens, ids,
# SDP) is passed on as it came, once it holds nothing that could break what reads it.
_HUMAN_TEXT = frozenset({"name"})


def _checked(kind: str, name: str, value: str, ref: str | None, limit: int) -> str:
    try:
        if name in _HUMAN_TEXT:
            return clean_text(value, name, limit=limit)
        return check_raw(value, name, limit)
    except TextError as exc:
        raise ProtocolError("invalid_field", f"{kind}: '{name}' {exc.problem}", ref) from None


def _names(kind: str, name: str, value: Any, ref: str | None) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_SOURCES:
        raise ProtocolError("invalid_field", f"{kind}: '{name}' must be an object of at most {MAX_SOURCES} names", ref)
    out = {}
    for key, label in value.items():
        if not isinstance(label, str) or not key or len(key) > MAX_MID:
            raise ProtocolError("invalid_field", f"{kind}: '{name}' maps short mids to names", ref)
        key = _checked(kind, f"{name} mid", key, ref, MAX_MID)
        try:
            # A label is drawn on a tile and written into the speaker timeline: the same check as a name.
            label = clean_text(label, f"{name}[{key}]", limit=MAX_LABEL)
        except TextError as exc:
            raise ProtocolError("field_too_long" if len(label) > MAX_LABEL else "invalid_field",
                                f"{kind}: '{exc.field}' {exc.problem}", ref) from None
        if not label:
            raise ProtocolError("invalid_field", f"{kind}: each name in '{name}' must be 1 to {MAX_LABEL} characters",
                                ref)
        out[key] = label
    return out


# -- server → client ---------------------------------------------------------------------------------


def message(kind: str, ref: str | None = None, **body: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, **body}
    if ref is not None:
        out["ref"] = ref
    return out


def error(code: str, text: str, ref: str | None = None) -> dict[str, Any]:
    return message("error", ref, code=code, message=text)
