"""The pipe between the front and a media worker: typed messages (msgspec), MessagePack on the wire.

The front sends Requests (an operation of MediaHandle on one hearing) and gets one Reply each, in order;
the worker sends Events on its own (what MediaListener says, a finished recording, its load).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec

from ..errors import ApiError
from ..events import CourtEvent
from ..media.peer import OfferError
from ..models import Hearing, Participant, from_dict, to_dict


class Request(msgspec.Struct, tag="request"):
    id: int
    hearing_id: str
    op: str
    args: dict[str, Any] = {}


class Failure(msgspec.Struct):
    kind: str  # "api" (an ApiError), "offer" (an OfferError) or "fault" (anything else: logged by the worker)
    message: str
    status: int = 500
    code: str = "internal_error"


class Reply(msgspec.Struct, tag="reply"):
    id: int
    result: Any = None
    failure: Failure | None = None


class Event(msgspec.Struct, tag="event"):
    # cameras_changed, preview_ended, senders_changed, media_changed, link_changed, speakers_changed,
    # recording_final, load
    kind: str
    hearing_id: str = ""
    args: dict[str, Any] = {}


Message = Request | Reply | Event
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Message)


def encode(message: Message) -> bytes:
    return _encoder.encode(message)


def decode(data: bytes) -> Message:
    return _decoder.decode(data)


def hearing_out(hearing: Hearing) -> dict[str, Any]:
    return to_dict(hearing)


def hearing_in(data: dict[str, Any]) -> Hearing:
    return from_dict(Hearing, data)


def people_out(people: list[Participant]) -> list[dict[str, Any]]:
    return [to_dict(p) for p in people]


def people_in(data: list[dict[str, Any]]) -> list[Participant]:
    return [from_dict(Participant, p) for p in data]


def event_out(event: CourtEvent) -> dict[str, Any]:
    return dataclasses.asdict(event)


def event_in(data: dict[str, Any]) -> CourtEvent:
    return CourtEvent(**data)


def failure_of(exc: BaseException) -> Failure:
    if isinstance(exc, ApiError):
        return Failure("api", exc.message, exc.status, exc.code)
    if isinstance(exc, OfferError):
        return Failure("offer", str(exc))
    return Failure("fault", f"{exc.__class__.__name__}: {exc}")


def raise_failure(failure: Failure) -> None:
    if failure.kind == "api":
        raise ApiError(failure.status, failure.code, failure.message)
    if failure.kind == "offer":
        raise OfferError(failure.message)
    raise MediaWorkerError(failure.message)


class MediaWorkerError(Exception):
    """The media worker failed the call (its log has the details) or is gone."""
