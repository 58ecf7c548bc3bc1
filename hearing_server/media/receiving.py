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
        codec, encoded_frame = task
        if codec.name != codec_name:
            decoder = get_decoder(codec)
            codec_name = codec.name
        assert decoder is not None
        try:
            frames = decoder.decode(encoded_frame)
        except av.FFmpegError as exc:
            # As aiortc: keep the decoder (a reset would fail every frame until the next keyframe); the
            # receiver sees the flag and asks the sender for a keyframe.
            log.warning("failed to decode %s frame: %s", codec.name, exc)
            decode_error.set()
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
