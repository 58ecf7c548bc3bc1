"""The tracks the server sends: the shared composite, a mix-minus, and a lobby entrant's preview."""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .audio_mixer import BLOCK, RATE

TIME_BASE = Fraction(1, RATE)


def _put_latest(queue: asyncio.Queue, item: object) -> None:
    # A viewer that falls behind loses the oldest item, never stalls the mixer or the other viewers.
    while queue.full():
        queue.get_nowait()
    queue.put_nowait(item)


class CompositeVideoTrack(MediaStreamTrack):
    """Delivers the hearing's already-encoded H.264 packets (aiortc packs them without re-encoding), or,
    for a receiver that refused H.264, the composite frames for aiortc to encode in VP8."""

    kind = "video"

    def __init__(self, participant_id: str, packets: bool = True) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.packets = packets
        self._queue: asyncio.Queue[av.Packet | av.VideoFrame | None] = asyncio.Queue(maxsize=30)
        self._waiting_for_keyframe = True

    def deliver(self, packets: list[av.Packet], frame: av.VideoFrame) -> None:
        if self.readyState != "live":
            return
        if not self.packets:
            _put_latest(self._queue, frame)
            return
        for packet in packets:
            # A decoder cannot start mid-GOP; hold back until the IDR the mixer was asked for.
            if self._waiting_for_keyframe:
                if not packet.is_keyframe:
                    continue
                self._waiting_for_keyframe = False
            _put_latest(self._queue, packet)

    def stop(self) -> None:
        super().stop()
        self._queue.put_nowait(None) if not self._queue.full() else None

    async def recv(self) -> av.Packet | av.VideoFrame:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        if item is None:
            raise MediaStreamError
        return item


class MixMinusAudioTrack(MediaStreamTrack):
    """Everyone in the hearing but yourself, in 20 ms blocks paced by the mixer's clock.

    The mixer's audio thread encodes each block once (Opus, mono: speech) and aiortc only packs the packet.
    Left to aiortc, every listener's sender would hop to a thread pool for each 20 ms frame and encode
    stereo at 96 kbit/s: four thread hand-offs per block per hearing, all fighting for the GIL.
    """

    kind = "audio"

    def __init__(self, participant_id: str, bitrate: int = 32000) -> None:
        super().__init__()
        self.participant_id = participant_id
        # False when the receiver negotiated another codec than Opus: it then gets frames for aiortc to encode.
        self.opus = True
        self._bitrate = bitrate
        self._encoder: av.AudioCodecContext | None = None
        self.failures = 0  # blocks that could not be encoded (the audio thread's count, for the log)
        self._queue: asyncio.Queue[av.AudioFrame | av.Packet | None] = asyncio.Queue(maxsize=10)
        self._pts = 0

    def encode(self, samples: np.ndarray, position: int | None = None) -> list[av.AudioFrame | av.Packet]:
        """One 20 ms block of mono s16 at 48 kHz → what the sender gets. Runs in the mixer's audio thread.

        `position` is the block's place on the hearing clock, in samples: when the mixer had to skip blocks
        the RTP timestamps jump with it, so a receiver's jitter buffer sees a gap, not a delay."""
        if position is not None:
            self._pts = position
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        pts, self._pts = self._pts, self._pts + BLOCK
        if not self.opus:
            return [frame]
        if self._encoder is None:
            self._encoder = _opus_encoder(self._bitrate)
        try:
            packets: list[av.AudioFrame | av.Packet] = list(self._encoder.encode(frame))
        except Exception:
            self._encoder = None  # start afresh on the next block rather than fail on every one
            raise
        for packet in packets:
            assert isinstance(packet, av.Packet)
            # libopus counts from minus its look-ahead; the RTP timestamp must follow the mixer's clock.
            packet.pts, packet.time_base = pts, TIME_BASE
            pts += BLOCK
        return packets

    def deliver(self, items: list[av.AudioFrame | av.Packet]) -> None:
        if self.readyState != "live":
            return
        for item in items:
            _put_latest(self._queue, item)

    def stop(self) -> None:
        super().stop()
        if not self._queue.full():
            self._queue.put_nowait(None)

    async def recv(self) -> av.AudioFrame | av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        if item is None:
            raise MediaStreamError
        return item


def _opus_encoder(bitrate: int) -> av.AudioCodecContext:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.bit_rate = bitrate
    encoder.format = "s16"
    encoder.layout = "mono"
    encoder.sample_rate = RATE
    encoder.time_base = TIME_BASE
    # In-band FEC as browsers send it: a phone on a lossy mobile network loses less speech.
    encoder.options = {"application": "voip", "frame_duration": "20", "fec": "1", "packet_loss": "5"}
    return encoder


class IncomingVideo:
    """The latest picture from one of a participant's cameras, plus any live previews of it."""

    def __init__(self, key: str, label: str = "") -> None:
        self.key = key
        self.label = label  # a courtroom camera's name ("Judge's bench"); empty for a person's own camera
        self.latest: av.VideoFrame | None = None
        self.received_at = 0.0
        self.frames = 0
        self._previews: set[PreviewTrack] = set()

    def push(self, frame: av.VideoFrame) -> None:
        self.latest = frame
        self.received_at = time.monotonic()
        self.frames += 1
        for preview in list(self._previews):
            preview.offer(frame)

    def fresh(self, max_age: float = 2.0) -> av.VideoFrame | None:
        if self.latest is not None and time.monotonic() - self.received_at <= max_age:
            return self.latest
        return None

    def preview(self) -> "PreviewTrack":
        track = PreviewTrack(self)
        self._previews.add(track)
        return track

    def drop_preview(self, track: "PreviewTrack") -> None:
        self._previews.discard(track)


class PreviewTrack(MediaStreamTrack):
    """A lobby entrant's own camera, relayed to the court for the identity check (encoded per viewer)."""

    kind = "video"

    def __init__(self, source: IncomingVideo) -> None:
        super().__init__()
        self._source = source
        self._queue: asyncio.Queue[av.VideoFrame | None] = asyncio.Queue(maxsize=2)

    def offer(self, frame: av.VideoFrame) -> None:
        if self.readyState == "live":
            _put_latest(self._queue, frame)

    def stop(self) -> None:
        super().stop()
        self._source.drop_preview(self)
        if not self._queue.full():
            self._queue.put_nowait(None)

    async def recv(self) -> av.VideoFrame:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if frame is None:
            raise MediaStreamError
        return frame
