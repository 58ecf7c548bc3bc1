"""The live mixer seen through the recorder's narrow MediaTap (recorder.interfaces): the record takes the
composite's encoded packets and the mixed sound on the hearing clock, and asks who is heard."""

from __future__ import annotations

from recorder.interfaces import AudioSink, VideoSink
from recorder.recording import POSITION

from .audio_mixer import BLOCK, RATE
from .mixer import HearingMixer


class MixerTap:
    def __init__(self, mixer: HearingMixer) -> None:
        self._mixer = mixer

    @property
    def audio_rate(self) -> int:
        return RATE

    @property
    def audio_block(self) -> int:
        return BLOCK

    def media_offset(self) -> float:
        return self._mixer.media_offset()

    def attach(self, on_video: VideoSink, on_audio: AudioSink) -> None:
        if on_video not in self._mixer.video_listeners:
            self._mixer.video_listeners.append(on_video)
        if on_audio not in self._mixer.audio_listeners:
            self._mixer.audio_listeners.append(on_audio)
        self._mixer.recording = True  # the "recording" mark on the composite
        self._mixer.request_first_keyframe()  # a segment starts on a keyframe

    def detach(self, on_video: VideoSink, on_audio: AudioSink) -> None:
        self._mixer.recording = False
        if on_video in self._mixer.video_listeners:
            self._mixer.video_listeners.remove(on_video)
        if on_audio in self._mixer.audio_listeners:
            self._mixer.audio_listeners.remove(on_audio)

    def speaker(self, source: str) -> str | None:
        """Who a source's sound belongs to ("participant#position" for a courtroom microphone), or None
        when it is not heard now (muted, unknown, or the hearing in recess)."""
        audio = self._mixer.audio
        found = audio.sources.get(source)
        if found is None or found.muted or audio.silenced:
            return None
        return found.participant_id + (POSITION + found.label if found.label else "")
