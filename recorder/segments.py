"""Fragmented-MP4 segments of the hearing: the live composite's own H.264 packets plus an AAC full mix.

Thread-confined: one SegmentWriter lives in one worker thread (muxing, AAC encoding and fsync are blocking).
A segment starts on a keyframe and is closed on the first keyframe after `segment_seconds`, so every
segment plays on its own. Inside a segment, fragments of at most one second are flushed as they are made:
a killed process leaves a file that plays up to its last fragment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np

from .files import touch_private

VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_RATE = 48000
AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE)
# Segments kept open for their late sound (see SegmentWriter._waiting): with 4 s segments, up to 12 s of lag.
MAX_WAITING = 3
MUX_OPTIONS = {
    # empty_moov: the header is written up front; frag_*: fragments on keyframes and at least every second.
    # frag_discont + no timestamp shifting: every segment keeps the hearing clock's own timestamps (the
    # mov muxer otherwise restarts each track at zero, which would slide sound against picture).
    "movflags": "frag_keyframe+empty_moov+default_base_moof+frag_discont",
    "avoid_negative_ts": "disabled",
    "frag_duration": "1000000",
    "flush_packets": "1",
}


@dataclass(frozen=True)
class WrittenSegment:
    index: int
    path: Path
    start: float  # seconds on the hearing clock
    end: float
    size: int

    @property
    def duration(self) -> float:
        return self.end - self.start


def segment_name(index: int) -> str:
    return f"segment-{index:06d}.mp4"


def split_parameter_sets(data: bytes) -> bytes:
    """SPS and PPS NAL units (Annex B) from the front of an H.264 keyframe, for the MP4 header."""
    out = bytearray()
    position = 0
    starts = []
    while True:
        found = data.find(b"\x00\x00\x01", position)
        if found < 0:
            break
        starts.append(found + 3)
        position = found + 3
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        nal = data[start:end].rstrip(b"\x00")
        if nal and nal[0] & 0x1F in (7, 8):
            out += b"\x00\x00\x00\x01" + nal
    return bytes(out)


@dataclass
class _OpenSegment:
    index: int
    path: Path
    container: av.container.OutputContainer
    video: av.video.stream.VideoStream
    audio: av.audio.stream.AudioStream
    start: int  # 90 kHz ticks on the hearing clock
    end: int = 0  # end of the last frame written
    boundary: int | None = None  # set when the next segment has begun at this instant


class SegmentWriter:
    def __init__(self, folder: Path, width: int, height: int, fps: int, segment_seconds: float,
                 audio_bitrate: int, first_index: int, on_closed: Callable[[WrittenSegment], None]) -> None:
        self.folder = folder
        self.width, self.height, self.fps = width, height, fps
        self.segment_ticks = int(segment_seconds * 90000)
        self.index = first_index
        self.on_closed = on_closed
        self.audio_bitrate = audio_bitrate
        self._aac = self._new_aac_encoder()
        self._resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE)
        self._current: _OpenSegment | None = None
        # Segments whose pictures are complete stay open, oldest first, until the sound up to their last
        # instant has come: the AAC encoder runs ~1024 samples behind, the mixer's sound may lag its picture,
        # and no segment may hold sound from outside its span. At most MAX_WAITING of them: past that the
        # sound never caught up (the mixer stalled) and the oldest is closed as it is.
        self._waiting: list[_OpenSegment] = []
        self._sound_since_begin = False  # any sound since the last segment began (is the sound flowing?)
        self._last_video_pts = -1
        self._next_sample: int | None = None
        self._early_audio: list[av.Packet] = []

    def _new_aac_encoder(self) -> av.AudioCodecContext:
        aac = av.CodecContext.create("aac", "w")
        aac.sample_rate = AUDIO_RATE
        aac.layout = "mono"
        aac.format = "fltp"
        aac.bit_rate = self.audio_bitrate
        aac.time_base = AUDIO_TIME_BASE
        aac.open()
        return aac

    # -- input --------------------------------------------------------------------------------------

    def write_video(self, packet: av.Packet) -> None:
        pts = int(packet.pts or 0)
        if pts <= self._last_video_pts:
            return  # never two frames at one instant: the muxer would refuse the second
        current = self._current
        if packet.is_keyframe and (current is None or pts - current.start >= self.segment_ticks):
            self._begin_segment(packet)
            current = self._current
        if current is None:
            return  # waiting for the first keyframe: nothing before it can be decoded
        packet.stream = current.video
        packet.time_base = VIDEO_TIME_BASE
        packet.dts = pts
        current.container.mux(packet)
        current.end = pts + 90000 // self.fps
        self._last_video_pts = pts

    def write_audio(self, samples: np.ndarray, position: int) -> None:
        """`position` is the first sample's place on the hearing clock (48 kHz)."""
        if self._next_sample is None:
            self._next_sample = position
        if position > self._next_sample:
            # A gap on the clock (a stalled loop): silence, so nothing after it shifts.
            self._encode(np.zeros(position - self._next_sample, dtype=np.int16), self._next_sample)
        elif position < self._next_sample:
            samples = samples[self._next_sample - position:]
            position = self._next_sample
        if len(samples):
            self._encode(samples, position)

    def _encode(self, samples: np.ndarray, position: int) -> None:
        frame = av.AudioFrame.from_ndarray(samples.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = position
        frame.time_base = AUDIO_TIME_BASE
        self._next_sample = position + len(samples)
        for converted in self._resampler.resample(frame):
            for packet in self._aac.encode(converted):
                self._route_audio(packet)

    def _route_audio(self, packet: av.Packet) -> None:
        if packet.pts is None:
            return
        at = packet.pts * 90000 // AUDIO_RATE
        self._sound_since_begin = True
        while self._waiting and at >= (self._waiting[0].boundary or 0):
            self._finish(self._waiting.pop(0))  # its sound is complete
        for segment in self._waiting:
            if at < (segment.boundary or 0):
                # Its own span's sound; or, for the oldest, sound from before its picture (held for it).
                self._mux_audio(segment, packet)
                return
        current = self._current
        if current is not None and at >= current.start:
            self._mux_audio(current, packet)
        elif current is None or not self._waiting:
            # Sound from before the next (or first) picture: hold it briefly, it may belong to a
            # segment that begins on the keyframe about to arrive.
            self._early_audio.append(packet)
            del self._early_audio[:-60]

    def _mux_audio(self, segment: _OpenSegment, packet: av.Packet) -> None:
        packet.stream = segment.audio
        packet.time_base = AUDIO_TIME_BASE
        segment.container.mux(packet)

    # -- segments -----------------------------------------------------------------------------------

    def _begin_segment(self, keyframe: av.Packet) -> None:
        # Lagging sound is waited for; sound that stopped is not (the mixer stalled): then, as when too many
        # wait, the waiting segments are closed as they are, so what is recorded reaches the store.
        while self._waiting and (len(self._waiting) >= MAX_WAITING or not self._sound_since_begin):
            self._finish(self._waiting.pop(0))
        self._sound_since_begin = False
        path = self.folder / segment_name(self.index)
        container = av.open(str(touch_private(path)), "w", format="mp4", options=dict(MUX_OPTIONS))
        video = container.add_stream("h264", rate=self.fps)
        video.width, video.height = self.width, self.height
        video.pix_fmt = "yuv420p"
        video.time_base = VIDEO_TIME_BASE
        # PyAV would open an H.264 *encoder* (libx264) for this stream at the first write, and the header
        # would carry that encoder's parameter sets (High profile, no colours) instead of the stream's: opened
        # now, then given the keyframe's own SPS/PPS, the header describes the packets written.
        video.codec_context.open()
        video.codec_context.extradata = split_parameter_sets(bytes(keyframe)) or None
        audio = container.add_stream("aac", rate=AUDIO_RATE)
        audio.layout = "mono"
        audio.time_base = AUDIO_TIME_BASE
        audio.codec_context.extradata = self._aac.extradata
        start = int(keyframe.pts or 0)
        if self._current is not None:
            self._current.boundary = start
            self._waiting.append(self._current)
        self._current = _OpenSegment(self.index, path, container, video, audio, start)
        self.index += 1
        early, self._early_audio = self._early_audio, []
        for packet in early:
            if packet.pts is not None and packet.pts * 90000 // AUDIO_RATE >= start:
                self._mux_audio(self._current, packet)

    def _finish(self, segment: _OpenSegment) -> None:
        segment.container.close()
        # The segment is on disk, not just in the page cache, before anyone is told it exists.
        with open(segment.path, "rb+") as handle:
            os.fsync(handle.fileno())
        fsync_dir(self.folder)
        end = segment.boundary if segment.boundary is not None else segment.end
        self.on_closed(WrittenSegment(segment.index, segment.path, segment.start / 90000, end / 90000,
                                      segment.path.stat().st_size))

    def close(self) -> None:
        """Flush the audio encoder and close what is open, oldest first."""
        for packet in self._aac.encode(None):
            self._route_audio(packet)
        for segment in [*self._waiting, self._current]:
            if segment is not None:
                self._finish(segment)
        self._waiting, self._current = [], None

    def pause(self) -> None:
        """Close everything now; recording resumes with a new segment on the next keyframe."""
        self.close()
        self._aac = self._new_aac_encoder()
        self._next_sample = None
        self._early_audio.clear()


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
