"""A camera's pictures from a loss to its next keyframe are decoded (the decoder must follow the stream) but
not shown: the tile keeps the last good picture, marked "poor connection", instead of smear."""

from __future__ import annotations

import asyncio
import queue
import threading

import numpy as np
from aiortc import RTCRtpCodecParameters
from aiortc.jitterbuffer import JitterFrame

from hearing_server.media import receiving
from hearing_server.media.compositor import Tile, VideoCompositor
from hearing_server.media.encoder import CompositeEncoder
from hearing_server.media.receiving import PictureGuard, is_keyframe
from hearing_server.media.tracks import IncomingVideo

H264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)


def encoded_frames(count: int, gop_seconds: float) -> list[tuple[bytes, bool]]:
    encoder = CompositeEncoder(320, 180, 15, 300_000, gop_seconds)
    out = []
    for index in range(count):
        image = np.full((180, 320, 3), (index * 9) % 255, np.uint8)
        packets, _ = encoder.encode(image, index * 6000, keyframe=index == 0)
        for packet in packets:
            out.append((bytes(packet), packet.is_keyframe))
    return out


def test_keyframes_are_told_from_the_bitstream():
    frames = encoded_frames(12, gop_seconds=0.4)  # a keyframe every 6th frame
    assert [is_keyframe("h264", data) for data, _ in frames] == [key for _, key in frames]
    assert [key for _, key in frames].count(True) == 2
    assert is_keyframe("vp8", bytes([0x10, 0, 0])) and not is_keyframe("vp8", bytes([0x11, 0, 0]))
    assert not is_keyframe("vp8", b"") and is_keyframe("opus", b"\x00")


async def test_pictures_from_a_loss_to_the_next_keyframe_are_held():
    frames = encoded_frames(18, gop_seconds=0.4)  # keyframes at 0, 6, 12
    loop = asyncio.get_running_loop()
    track_queue: asyncio.Queue = asyncio.Queue()
    shown: list[int] = []

    class Track:
        _queue = track_queue

    guard = PictureGuard()
    receiving._guards[track_queue] = guard
    receiving.handle_in_decoder_thread(Track(), lambda frame: shown.append(int(frame.to_ndarray()[0, 0])))
    frames_in: queue.SimpleQueue = queue.SimpleQueue()
    worker = threading.Thread(target=receiving._decoder_worker,
                              args=(loop, frames_in, track_queue, threading.Event()), daemon=True)
    worker.start()
    decoded_when = []
    for index, (data, _) in enumerate(frames):
        if index == 3:
            frames_in.put(receiving.LOSS)  # the receiver lost frame 3's packets and asked for a keyframe
            continue  # frame 3 never reaches the decoder
        frames_in.put((H264, JitterFrame(data=data, timestamp=index * 6000)))
        decoded_when.append(index)
    frames_in.put(None)
    await asyncio.wait_for(loop.run_in_executor(None, worker.join), 20.0)
    # Shown: 0, 1, 2, then nothing until the keyframe at 6; 4 and 5 (decoded without frame 3) held.
    assert len(shown) == len(decoded_when) - 2, (shown, decoded_when)
    assert guard.held == 2 and guard.losses == 1 and not guard.damaged


def test_a_damaged_camera_keeps_its_last_picture_on_its_tile_and_is_marked():
    guard = PictureGuard()
    camera = IncomingVideo("p:v0", guard=guard)
    frame = object()
    camera.latest, camera.received_at = frame, 0.0  # type: ignore[assignment]
    import time
    camera.received_at = time.monotonic() - 5.0  # five seconds without a new picture
    assert camera.fresh() is None  # a camera that just stopped: offline after 2 s
    guard.loss()  # (the decoder thread's call)
    assert camera.damaged and camera.fresh() is frame  # a damaged one: its last good picture, held
    camera.received_at = time.monotonic() - IncomingVideo.HOLD_SECONDS - 1
    assert camera.fresh() is None  # but not for ever

    compositor = VideoCompositor(640, 360)
    picture = np.full((180 * 3 // 2, 320), 128, np.uint8)  # grey I420
    from hearing_server.media.compositor import i420_planes
    planes = i420_planes(picture, 320, 180)
    plain = compositor.compose([Tile("k", "Wes Weak", "Witness", planes)], _caption()).copy()
    marked = compositor.compose([Tile("k", "Wes Weak", "Witness", planes, poor=True)], _caption()).copy()
    difference = np.abs(marked.astype(int) - plain.astype(int)) > 20
    rows, cols = np.nonzero(difference[:360])
    # the mark is in the tile's top-left corner, nowhere else
    assert difference.any() and rows.max() < 120 and cols.max() < 400, (rows.max(), cols.max())


def _caption():
    from hearing_server.media.compositor import Caption
    return Caption("CV-1", "2026-12-03 09:00:00 UTC", False)


async def test_the_loss_mark_goes_through_aiortcs_own_decoder_queue():
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("video").receiver
        # guard_pictures relies on these two of aiortc's private names: this fails loudly if they move
        assert isinstance(getattr(receiver, "_RTCRtpReceiver__decoder_queue"), queue.Queue)
        assert asyncio.iscoroutinefunction(receiver._send_rtcp_pli)
    finally:
        await pc.close()
