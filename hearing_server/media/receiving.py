"""Decoded camera pictures and microphone sound handed to the hearing in the decoder's own thread.

aiortc decodes each incoming track in a thread of its own and sends every decoded frame back to the event
loop (`asyncio.run_coroutine_threadsafe(queue.put(frame))`: a wake-up of the loop, a new Task, a queue put
and the consumer's get), only for the hearing to store the picture or buffer the sound. For a four-party
hearing that is ~260 round trips a second through the loop. A track registered here skips them: its
frames go straight from the decoder thread to the handler, which must be thread-safe
(IncomingVideo.arrive, AudioSource.push_frame). The end of the track still goes through the loop, so a
consumer's `drain()` ends as before; so does any frame decoded before the track was registered.

aiortc starts the decoder thread with its module-level `decoder_worker`; `install()` puts a wrapper there
that runs aiortc's own worker for every track that is not registered (a client in the same process).

The other direction, the loop handing each reassembled frame to the decoder thread, goes through a
`queue.Queue` (a Python Condition per put); `use_simple_queue()` gives a receiver the C `SimpleQueue`
instead, which does the same for ~30 us less per frame (measured: 260 puts/s to 8 waiting threads).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import weakref
from typing import Any, Callable

import av
from aiortc import RTCRtpReceiver, rtcrtpreceiver
from aiortc.codecs import get_decoder
from aiortc.mediastreams import MediaStreamTrack

log = logging.getLogger(__name__)

FrameHandler = Callable[[Any], None]

# A camera whose packets were lost is held at its last good picture until its next keyframe: a predicted
# frame decoded without its reference is smear, and the record must not show it. The loss is what the
# receiver itself reports: aiortc asks the sender for a keyframe (PLI) when its jitter buffer drops an
# incomplete frame or a frame fails to decode.
H264_IDR = 5


class PictureGuard:
    """Whether a camera's decoded pictures can be shown: not from a loss until the next keyframe."""

    def __init__(self) -> None:
        self.damaged = False  # the decoder thread's; read by the mixer for the tile's mark
        self.losses = 0
        self.held = 0  # frames decoded but not shown

    def loss(self) -> None:
        """In the decoder thread, in order with the frames: those queued before the loss are shown."""
        self.losses += 1
        self.damaged = True

    def passes(self, codec_name: str, data: bytes) -> bool:
        """In the decoder thread, for each encoded frame before it is decoded."""
        if self.damaged and is_keyframe(codec_name, data):
            self.damaged = False
        return not self.damaged


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """An encoded frame as aiortc's depacketizers hand it to the decoder: H.264 in Annex B (an IDR slice
    among its NAL units), VP8 (the frame tag's inverse key-frame bit)."""
    name = codec_name.lower()
    if name == "vp8":
        return bool(data) and not data[0] & 0x01
    if name == "h264":
        start = 0
        while True:
            start = data.find(b"\x00\x00\x01", start)
            if start < 0 or start + 3 >= len(data):
                return False
            if data[start + 3] & 0x1F == H264_IDR:
                return True
            start += 3
    return True  # a codec we cannot read: never hold it back


_guards: weakref.WeakKeyDictionary[asyncio.Queue, PictureGuard] = weakref.WeakKeyDictionary()

# Put in a receiver's decoder queue where it lost packets, so the decoder thread learns of the loss in order
# with the frames: a keyframe queued before the loss must not end the hold of frames after it.
LOSS = ("loss", None)


def guard_pictures(track: MediaStreamTrack, receiver: RTCRtpReceiver) -> PictureGuard | None:
    """Hold `track`'s pictures from each loss its receiver reports until the next keyframe (with
    handle_in_decoder_thread; None: not an aiortc remote track)."""
    frames = getattr(track, "_queue", None)
    if not isinstance(frames, asyncio.Queue):
        return None
    guard = PictureGuard()
    send_pli = receiver._send_rtcp_pli
    attribute = "_RTCRtpReceiver__decoder_queue"  # as use_simple_queue; checked in tests/test_picture_guard.py

    async def pli_and_hold(media_ssrc: int) -> None:
        decoder_queue = getattr(receiver, attribute, None)
        # Only our decoder worker (a track registered with handle_in_decoder_thread) reads the mark.
        if frames in _handlers and decoder_queue is not None:
            decoder_queue.put(LOSS)
        await send_pli(media_ssrc)

    receiver._send_rtcp_pli = pli_and_hold  # type: ignore[method-assign]
    _guards[frames] = guard
    return guard

# The track's frame queue (aiortc's RemoteStreamTrack._queue, what the decoder thread is given) -> handler.
_handlers: weakref.WeakKeyDictionary[asyncio.Queue, FrameHandler] = weakref.WeakKeyDictionary()
_aiortc_worker = rtcrtpreceiver.decoder_worker


def install() -> None:
    """Route registered tracks' frames past the event loop (idempotent; receivers started later use it)."""
    if rtcrtpreceiver.decoder_worker is not _decoder_worker:
        rtcrtpreceiver.decoder_worker = _decoder_worker  # type: ignore[assignment]


def handle_in_decoder_thread(track: MediaStreamTrack, handler: FrameHandler) -> bool:
    """Give `track`'s decoded frames to `handler` in the decoder thread from now on. False: this track has
    no such queue (not an aiortc remote track), so its frames still come through `recv()`."""
    frames = getattr(track, "_queue", None)
    if not isinstance(frames, asyncio.Queue):
        return False
    install()
    _handlers[frames] = handler
    return True


def use_simple_queue(receiver: RTCRtpReceiver) -> None:
    """Before the receiver starts (its "track" event): its loop→decoder queue becomes a SimpleQueue. aiortc
    only ever calls put() and get() on it."""
    attribute = "_RTCRtpReceiver__decoder_queue"  # aiortc's private name: left alone should it change
    started = getattr(receiver, "_RTCRtpReceiver__started", True)
    if isinstance(getattr(receiver, attribute, None), queue.Queue) and not started:
        setattr(receiver, attribute, queue.SimpleQueue())


def _decoder_worker(loop: asyncio.AbstractEventLoop, input_q: queue.Queue | queue.SimpleQueue,
                    output_q: asyncio.Queue, decode_error: threading.Event) -> None:
    if output_q not in _handlers:
        # A track nobody registered before its receiver started (an in-process client): aiortc's own way.
        return _aiortc_worker(loop, input_q, output_q, decode_error)  # type: ignore[arg-type]
    codec_name = None
    decoder = None
    while True:
        task = input_q.get()
        if task is None:
            asyncio.run_coroutine_threadsafe(output_q.put(None), loop)  # the track ended: drain() returns
            break
        if task is LOSS:
            guard = _guards.get(output_q)
            if guard is not None:
                guard.loss()
            continue
        codec, encoded_frame = task
        if codec.name != codec_name:
            decoder = get_decoder(codec)
            codec_name = codec.name
        assert decoder is not None
        guard = _guards.get(output_q)
        shown = guard is None or guard.passes(codec.name, encoded_frame.data)
        try:
            frames = decoder.decode(encoded_frame)
        except av.FFmpegError as exc:
            # As aiortc: keep the decoder (a reset would fail every frame until the next keyframe); the
            # receiver sees the flag and asks the sender for a keyframe.
            log.warning("failed to decode %s frame: %s", codec.name, exc)
            decode_error.set()
            continue
        if not shown:
            # Decoded all the same: the decoder's state must follow the stream to the keyframe.
            assert guard is not None
            guard.held += len(frames)
            continue
        handler = _handlers.get(output_q)
        for frame in frames:
            if handler is None:
                asyncio.run_coroutine_threadsafe(output_q.put(frame), loop)
                continue
            try:
                handler(frame)
            except Exception:
                log.exception("dropping a decoded %s frame that could not be handled", codec.name)
