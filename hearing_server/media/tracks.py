"""The tracks the server sends: the shared composite, a mix-minus, and a lobby entrant's preview."""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Iterable, Sequence

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .audio_mixer import BLOCK
from .layers import LOW, MAIN, STILL, LayerChooser
from .mix_minus import OpusStream, block_frame
from .receiving import PictureGuard


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
        # Which layer of the composite this receiver gets (see hearing_server.media.layers); the chooser
        # reads its link's RTCP. None: always the main layer.
        self.chooser: LayerChooser | None = None
        self.layer = MAIN
        self._next_layer: str | None = None  # chosen, waiting for that layer's keyframe
        self.on_layer: Callable[[str], None] | None = None
        # Called as the first packet of a new layer goes to the sender (what was sent before is stale: see
        # hearing_server.media.retransmit).
        self.on_moving: Callable[[], None] | None = None
        self._first_of_layer: av.Packet | None = None

    @property
    def wants_low(self) -> bool:
        """The low layer must be encoded for this receiver (it is on it, or moving to it)."""
        return self.packets and (self.layer != MAIN or self._next_layer in (LOW, STILL))

    @property
    def needs_low_keyframe(self) -> bool:
        return self.packets and self._next_layer in (LOW, STILL) and self.layer == MAIN

    @property
    def needs_first_keyframe(self) -> bool:
        """An H.264 receiver that has had no keyframe yet: the only kind whose request forces one of the
        shared encoder (see hearing_server.media.keyframes). A VP8 receiver's keyframes are its own encoder's."""
        return self.packets and self._waiting_for_keyframe

    def deliver(self, packets: list[av.Packet], frame: av.VideoFrame, low: list[av.Packet] | None = None) -> None:
        """One composite: the main layer's packets, its frame, and the low layer's packets when it is made."""
        if self.readyState != "live":
            return
        if not self.packets:
            _put_latest(self._queue, frame)
            return
        if self.chooser is not None and not self._waiting_for_keyframe:
            chosen = self.chooser.choose()
            self._next_layer = chosen if chosen != self.layer else None
        moved = False
        if self._next_layer is not None:
            # Moves happen at a keyframe of the layer moved to: the receiver's decoder starts afresh there.
            arriving = packets if self._next_layer == MAIN else low or []
            if any(packet.is_keyframe for packet in arriving):
                self.layer, self._next_layer = self._next_layer, None
                moved = True
                if self.on_layer is not None:
                    self.on_layer(self.layer)
        if self.layer == MAIN:
            chosen_packets = packets
        elif self.layer == LOW:
            chosen_packets = low or []
        else:  # still: only the low layer's keyframes, a new picture every keyframe interval
            chosen_packets = [packet for packet in low or [] if packet.is_keyframe]
        for packet in chosen_packets:
            # A decoder cannot start mid-GOP; hold back until the IDR the mixer was asked for.
            if self._waiting_for_keyframe:
                if not packet.is_keyframe:
                    continue
                self._waiting_for_keyframe = False
            if moved:
                self._first_of_layer, moved = packet, False
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
        if item is self._first_of_layer:
            self._first_of_layer = None
            if self.on_moving is not None:
                self.on_moving()
        return item


class MixMinusAudioTrack(MediaStreamTrack):
    """Everyone in the hearing but yourself, in 20 ms blocks paced by the mixer's clock.

    The mixer's audio thread encodes each block (Opus, mono: speech) and aiortc only packs the packet: this
    listener's own encode while they speak, else the packets of the one encode of the full mix that every
    quiet listener shares (see hearing_server.media.mix_minus). Left to aiortc, every listener's sender would
    hop to a thread pool for each 20 ms frame and encode stereo at 96 kbit/s: four thread hand-offs per
    block per hearing, all fighting for the GIL.
    """

    kind = "audio"

    def __init__(self, participant_id: str, bitrate: int = 32000) -> None:
        super().__init__()
        self.participant_id = participant_id
        # False when the receiver negotiated another codec than Opus: it then gets frames for aiortc to encode.
        self.opus = True
        self._stream = OpusStream(bitrate)
        self.failures = 0  # blocks that could not be encoded (the audio thread's count, for the log)
        self._queue: asyncio.Queue[av.AudioFrame | av.Packet | None] = asyncio.Queue(maxsize=10)
        self._pts = 0

    def encode(self, samples: np.ndarray, position: int | None = None,
               lead_in: Iterable[np.ndarray] = ()) -> list[av.AudioFrame | av.Packet]:
        """One 20 ms block of mono s16 at 48 kHz → what the sender gets. Runs in the mixer's audio thread.

        `position` is the block's place on the hearing clock, in samples: when the mixer had to skip blocks
        the RTP timestamps jump with it, so a receiver's jitter buffer sees a gap, not a delay. `lead_in`:
        what the listener heard just before, should the encoder have to start afresh (see OpusStream)."""
        if position is not None:
            self._pts = position
        pts, self._pts = self._pts, self._pts + BLOCK
        if not self.opus:
            return [block_frame(samples, pts)]
        return list(self._stream.encode(samples, pts, lead_in))

    def deliver(self, items: Sequence[av.AudioFrame | av.Packet]) -> None:
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


class IncomingVideo:
    """The latest picture from one of a participant's cameras, plus any live previews of it."""

    # How long a damaged camera's last good picture stays on its tile (marked), waiting for a keyframe.
    HOLD_SECONDS = 10.0

    def __init__(self, key: str, label: str = "", guard: PictureGuard | None = None) -> None:
        self.key = key
        self.label = label  # a courtroom camera's name ("Judge's bench"); empty for a person's own camera
        self.guard = guard
        self.latest: av.VideoFrame | None = None
        self.received_at = 0.0
        self.frames = 0
        self._previews: set[PreviewTrack] = set()

    def push(self, frame: av.VideoFrame) -> None:
        self.latest = frame
        self.received_at = time.monotonic()
        self.frames += 1
        self._offer_previews(frame)

    def arrive(self, frame: av.VideoFrame, loop: asyncio.AbstractEventLoop) -> None:
        """push() from the camera's decoder thread (see hearing_server.media.receiving): the mixer only ever
        reads the latest reference, so it is stored at once; a lobby preview's queue is the loop's."""
        self.latest = frame
        self.received_at = time.monotonic()
        self.frames += 1
        if self._previews:
            loop.call_soon_threadsafe(self._offer_previews, frame)

    def _offer_previews(self, frame: av.VideoFrame) -> None:
        for preview in list(self._previews):
            preview.offer(frame)

    @property
    def damaged(self) -> bool:
        """Packets were lost: the tile keeps the last good picture, marked, until the next keyframe."""
        return self.guard is not None and self.guard.damaged

    def fresh(self, max_age: float = 2.0) -> av.VideoFrame | None:
        if self.damaged:
            max_age = max(max_age, self.HOLD_SECONDS)
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
