"""What the recorder needs of the server that runs it, as protocols: the recorder imports nothing of the
server (hearing_server depends on recorder, never the other way), and whatever has these shapes will do —
the server's Settings, Hearing, CourtEvent, Store and the live mixer's tap."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

import av
import numpy as np

from .settings import ArchiveSettings, RecordingSettings, StorageSettings


class PictureSettings(Protocol):
    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def fps(self) -> int: ...


class RecorderSettings(Protocol):
    @property
    def recording(self) -> RecordingSettings: ...

    @property
    def storage(self) -> StorageSettings: ...

    @property
    def media(self) -> PictureSettings: ...

    @property
    def spool_path(self) -> Path: ...

    @property
    def recordings_path(self) -> Path: ...

    @property
    def signing_key_path(self) -> Path: ...

    @property
    def archive(self) -> ArchiveSettings: ...

    @property
    def audit_path(self) -> Path: ...  # the JSON-lines audit file of earlier versions, imported once


class HearingFacts(Protocol):
    """The hearing as the record names it."""

    @property
    def id(self) -> str: ...

    @property
    def case_number(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def case_category(self) -> str: ...

    @property
    def court(self) -> str: ...

    @property
    def courtroom(self) -> str: ...

    @property
    def judge(self) -> str: ...

    @property
    def judge_name(self) -> str: ...

    @property
    def opened_at(self) -> float | None: ...

    @property
    def is_live(self) -> bool: ...


class HearingLookup(Protocol):
    """At start-up: is the hearing of a folder left in the spool still going on (its room resumes it)?"""

    async def get_hearing(self, hearing_id: str) -> HearingFacts | None: ...


class EventFacts(Protocol):
    """A court event as the transcript writes it."""

    @property
    def kind(self) -> str: ...

    @property
    def participant_id(self) -> str: ...

    @property
    def actor(self) -> str: ...

    @property
    def data(self) -> Mapping[str, Any]: ...

    @property
    def at(self) -> float: ...


class AudioBlock(Protocol):
    """One block of the hearing's sound: the full mix, and each source's level (dBFS) in it."""

    @property
    def full(self) -> np.ndarray: ...

    @property
    def levels(self) -> Mapping[str, float]: ...


VideoSink = Callable[[list[av.Packet], int], None]  # the composite's encoded packets, and their pts
AudioSink = Callable[[AudioBlock, int], None]  # a block, and its position in samples on the hearing clock


class MediaTap(Protocol):
    """The live hearing's mixer as the recording sees it: the encoded composite and the mixed sound, on
    the hearing clock. Narrow on purpose: the record takes what everyone saw and heard, nothing else."""

    @property
    def audio_rate(self) -> int: ...

    @property
    def audio_block(self) -> int: ...  # samples per AudioBlock

    def media_offset(self) -> float: ...  # seconds on the hearing clock now

    def attach(self, on_video: VideoSink, on_audio: AudioSink) -> None: ...  # and ask for a keyframe

    def detach(self, on_video: VideoSink, on_audio: AudioSink) -> None: ...

    def speaker(self, source: str) -> str | None: ...  # whose sound a source is, None when it is not heard
