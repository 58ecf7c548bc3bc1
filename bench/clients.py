"""Load-generating participants for the live benchmarks: aiortc clients that cost the machine little.

The benchmarks run the server and all of its clients on one 2-core machine, so the clients must not eat the
CPU the server is measured on:

- Video is pre-encoded once per sender (H.264 constrained baseline, 640×360 @ 15 fps, GOP 2 s, SPS/PPS on
  every IDR) and cached under bench/.cache/; the client's track returns av.Packet objects, which aiortc packs
  without encoding (as the server does with its composite). The loop is 30 s long.
- Every picture carries a bar code (sender number + frame counter + checksum), so a receiver reading the
  composite can tell which sender frame it is looking at: glass-to-glass latency, sender → server → composite
  → receiver, on one monotonic clock.
- Audio is a pre-encoded Opus loop of the sender's own tone.
- Received audio is counted, not decoded; received video is decoded (the composite) unless the client is
  "light", in which case whole frames are counted as aiortc's jitter buffer hands them to the decoder thread.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import pickle
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from common import CACHE

from tests.helpers import Participant

SEND_W, SEND_H, SEND_FPS = 640, 360, 15
LOOP_FRAMES = 450  # 30 s
SEND_BITRATE = 600_000
TONES = [500, 800, 1100, 1400, 1700, 2000]
COLORS = [(200, 80, 40), (40, 160, 60), (40, 60, 200), (160, 40, 160), (30, 150, 170), (120, 120, 30)]
VIDEO_TB = fractions.Fraction(1, 90000)
AUDIO_TB = fractions.Fraction(1, 48000)

# -- the bar code ---------------------------------------------------------------------------------------

CELLS, CELL, CODE_X, CODE_Y = 20, 28, 20, 10  # 20 cells of 28×28 px at the top of the 640×360 picture


def _bits(sender: int, counter: int) -> list[int]:
    sid = sender + 1  # never 0: an all-black row is "no code"
    checksum = (sid + (counter >> 8) + ((counter >> 4) & 15) + (counter & 15)) & 15
    value = (sid << 16) | ((counter & 0xFFF) << 4) | checksum
    return [(value >> (CELLS - 1 - i)) & 1 for i in range(CELLS)]


def draw_code(image: np.ndarray, sender: int, counter: int) -> None:
    for i, bit in enumerate(_bits(sender, counter)):
        x = CODE_X + i * CELL
        image[CODE_Y : CODE_Y + CELL, x : x + CELL] = 255 if bit else 0


def read_code(values: np.ndarray) -> tuple[int, int] | None:
    """(sender, counter) from the 20 cell luminances, or None when the checksum does not hold."""
    bits = [1 if v > 128 else 0 for v in values]
    value = 0
    for bit in bits:
        value = (value << 1) | bit
    sid, counter, checksum = value >> 16, (value >> 4) & 0xFFF, value & 15
    if sid == 0 or checksum != (sid + (counter >> 8) + ((counter >> 4) & 15) + (counter & 15)) & 15:
        return None
    return sid - 1, counter


class CompositeReader:
    """Reads every tile's bar code from a composite frame (the Y plane), using the compositor's own layout."""

    def __init__(self) -> None:
        self._points: dict[tuple[int, int, int], list[tuple[np.ndarray, np.ndarray]]] = {}

    def _layout(self, width: int, height: int, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
        from hearing_server.media.compositor import BAR, grid

        scale = height / 720
        bar = int(BAR * scale)
        pad = max(2, int(3 * scale))
        out = []
        for x, y, w, h in grid(count, width, height, bar):
            iw, ih = w - 2 * pad, h - 2 * pad
            fit = min(iw / SEND_W, ih / SEND_H)
            nw, nh = max(1, int(SEND_W * fit)), max(1, int(SEND_H * fit))
            ox, oy = x + pad + (iw - nw) // 2, y + pad + (ih - nh) // 2
            xs = np.array([ox + int((CODE_X + (i + 0.5) * CELL) * nw / SEND_W) for i in range(CELLS)])
            ys = np.full(CELLS, oy + int((CODE_Y + CELL / 2) * nh / SEND_H))
            out.append((xs, ys))
        return out

    def read(self, frame: av.VideoFrame, count: int) -> list[tuple[int, int]]:
        key = (frame.width, frame.height, count)
        if key not in self._points:
            self._points[key] = self._layout(*key)
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        found = []
        for xs, ys in self._points[key]:
            # 3×3 around each cell centre
            values = (
                luma[ys, xs].astype(np.int32)
                + luma[ys - 1, xs]
                + luma[ys + 1, xs]
                + luma[ys, xs - 1]
                + luma[ys, xs + 1]
            ) / 5
            code = read_code(values)
            if code is not None:
                found.append(code)
        return found


# -- pre-encoded media ----------------------------------------------------------------------------------


def _picture(sender: int, n: int) -> np.ndarray:
    image = np.empty((SEND_H, SEND_W, 3), np.uint8)
    base = np.array(COLORS[sender % len(COLORS)], np.float32)
    ramp = np.linspace(0.5, 1.0, SEND_W, dtype=np.float32)[None, :, None]
    image[:] = (base[None, None, :] * ramp).astype(np.uint8)
    # a moving box and a moving checkerboard patch: something for the encoder to do
    x = (n * 8) % (SEND_W - 80)
    image[150:230, x : x + 80] = 255
    y = 60 + (n * 3) % (SEND_H - 140)
    tiles = ((np.add.outer(np.arange(64) // 8, np.arange(128) // 8) + n // 2) % 2 * 200).astype(np.uint8)
    image[y : y + 64, 480:608] = tiles[:, :, None]
    # camera-like sensor noise, so that the stream costs about what a real camera's does to decode
    noise = np.random.default_rng(sender * 100_003 + n).normal(0, 4, (SEND_H, SEND_W, 1))
    image[:] = np.clip(image + noise, 0, 255).astype(np.uint8)
    draw_code(image, sender, n)
    return image


@dataclass
class SenderMedia:
    video: list[tuple[bytes, bool]]  # one H.264 access unit per frame, keyframe flag
    audio: list[bytes]  # Opus packets of 20 ms


def _encode_sender(sender: int) -> SenderMedia:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = SEND_W, SEND_H, "yuv420p"
    ctx.time_base = VIDEO_TB
    ctx.framerate = fractions.Fraction(SEND_FPS, 1)
    ctx.bit_rate = SEND_BITRATE
    ctx.gop_size = 2 * SEND_FPS
    ctx.max_b_frames = 0
    ctx.thread_count = 1
    ctx.options = {
        "preset": "veryfast",
        "tune": "zerolatency",
        "profile": "baseline",
        "level": "3.1",
        "x264-params": f"keyint={2 * SEND_FPS}:min-keyint={2 * SEND_FPS}:scenecut=0:repeat-headers=1",
    }
    video = []
    for n in range(LOOP_FRAMES):
        frame = av.VideoFrame.from_ndarray(_picture(sender, n), format="bgr24").reformat(format="yuv420p")
        frame.pts = n * (90000 // SEND_FPS)
        frame.time_base = VIDEO_TB
        for packet in ctx.encode(frame):
            video.append((bytes(packet), bool(packet.is_keyframe)))
    for packet in ctx.encode(None):
        video.append((bytes(packet), bool(packet.is_keyframe)))
    assert len(video) == LOOP_FRAMES and video[0][1], (len(video), video[0][1])

    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate = 48000
    opus.layout = "stereo"
    opus.format = "s16"
    opus.bit_rate = 32000
    opus.time_base = AUDIO_TB
    tone = TONES[sender % len(TONES)]
    packets = []
    for block in range(100):  # 2 s; the second second (steady state) is the loop
        t = (np.arange(960) + block * 960) / 48000
        mono = (0.25 * 32767 * np.sin(2 * np.pi * tone * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = block * 960
        frame.time_base = AUDIO_TB
        for packet in opus.encode(frame):
            packets.append(bytes(packet))
    return SenderMedia(video, packets[-50:])


_MEDIA: dict[int, SenderMedia] = {}


def sender_media(sender: int) -> SenderMedia:
    """Pre-encoded media of sender number `sender`, made once and cached on disk."""
    if sender in _MEDIA:
        return _MEDIA[sender]
    path = CACHE / "live-media" / f"sender{sender}-{SEND_W}x{SEND_H}-{SEND_FPS}fps-{LOOP_FRAMES}-v3.pkl"
    if path.exists():
        media = pickle.loads(path.read_bytes())
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        media = _encode_sender(sender)
        tmp = path.with_suffix(".partial")
        tmp.write_bytes(pickle.dumps(media))
        tmp.replace(path)
    _MEDIA[sender] = media
    return media


class PacketVideoTrack(MediaStreamTrack):
    """The pre-encoded pictures, paced at 15 fps; remembers when each counter value went out."""

    kind = "video"

    def __init__(self, sender: int) -> None:
        super().__init__()
        self.sender = sender
        self.media = sender_media(sender)
        self.sent = 0
        self.sent_at = [0.0] * LOOP_FRAMES
        self._start: float | None = None

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.sent / SEND_FPS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        index = self.sent % LOOP_FRAMES
        data, _ = self.media.video[index]
        packet = av.Packet(data)
        packet.pts = packet.dts = self.sent * (90000 // SEND_FPS)
        packet.time_base = VIDEO_TB
        self.sent_at[index] = time.monotonic()
        self.sent += 1
        return packet


class PacketAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, sender: int) -> None:
        super().__init__()
        self.media = sender_media(sender)
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.sent * 0.02 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self.media.audio[self.sent % len(self.media.audio)])
        packet.pts = packet.dts = self.sent * 960
        packet.time_base = AUDIO_TB
        self.sent += 1
        return packet


# -- receiving without decoding -------------------------------------------------------------------------

COUNTED = object()  # what a count-only receiver hands the track for each whole frame
_COUNT_ONLY: set[int] = set()  # id() of the RemoteStreamTrack queues whose frames are counted, not decoded


def _install_count_only_worker() -> None:
    import aiortc.rtcrtpreceiver as receiver

    if getattr(receiver.decoder_worker, "_bench", False):
        return
    original = receiver.decoder_worker

    def worker(
        loop: asyncio.AbstractEventLoop, input_q: Any, output_q: asyncio.Queue, decode_error: Any
    ) -> None:
        if id(output_q) not in _COUNT_ONLY:
            return original(loop, input_q, output_q, decode_error)
        while True:
            task = input_q.get()
            if task is None:
                asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
                return
            asyncio.run_coroutine_threadsafe(output_q.put(COUNTED), loop)

    worker._bench = True  # type: ignore[attr-defined]
    receiver.decoder_worker = worker


_install_count_only_worker()


# -- the participant ------------------------------------------------------------------------------------


@dataclass
class ClientStats:
    offer_at: float = 0.0
    first_frame_at: float = 0.0
    frames: int = 0  # composite frames received (decoded, or counted for a light client)
    audio_frames: int = 0
    decode_failures: int = 0
    pings: dict[str, float] = field(default_factory=dict)  # ref -> sent at
    pongs: dict[str, float] = field(default_factory=dict)  # ref -> received at
    latencies: list[float] = field(default_factory=list)  # seconds, sender frame sent -> composite decoded
    measuring: bool = False

    def rtts(self) -> list[float]:
        return [self.pongs[r] - t for r, t in self.pings.items() if r in self.pongs]


class BenchParticipant(Participant):
    """tests.helpers.Participant (same hello/offer/answer exchange) with pre-encoded packet tracks, and
    statistics instead of kept frames."""

    def __init__(
        self,
        base: str,
        token: str,
        sender: int,
        hearing_id: str = "",
        name: str = "",
        light: bool = False,
        tiles: int = 4,
        peers: dict[int, PacketVideoTrack] | None = None,
        reader: CompositeReader | None = None,
    ) -> None:
        super().__init__(base, token, hearing_id=hearing_id, name=name)
        self.sender = sender
        self.light = light
        self.tiles = tiles
        self.peers = peers if peers is not None else {}  # sender number -> that sender's track (same hearing)
        self.reader = reader
        self.stats = ClientStats()
        self.video_out: PacketVideoTrack | None = None
        self.audio_out: PacketAudioTrack | None = None
        self._ping_ref = 0

    async def _read(self) -> None:
        assert self.ws is not None
        async for frame in self.ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                message = json.loads(frame.data)
                if message.get("type") == "pong" and message.get("ref") in self.stats.pings:
                    self.stats.pongs[message["ref"]] = time.monotonic()
                    continue  # keep the message list short
                async with self._new_message:
                    self.messages.append(message)
                    self._new_message.notify_all()
        self.closed_code = self.ws.close_code
        async with self._new_message:
            self._new_message.notify_all()

    async def ping(self) -> None:
        self._ping_ref += 1
        ref = f"b{self._ping_ref}"
        self.stats.pings[ref] = time.monotonic()
        await self.send({"type": "ping", "ref": ref})

    async def start_media(self) -> None:
        self.pc = RTCPeerConnection()
        self.audio_out = PacketAudioTrack(self.sender)
        self.video_out = PacketVideoTrack(self.sender)
        self.peers[self.sender] = self.video_out
        self.pc.addTransceiver(self.audio_out, direction="sendrecv")
        video = self.pc.addTransceiver(self.video_out, direction="sendrecv")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        video.setCodecPreferences([c for c in codecs if c.mimeType.lower() in ("video/h264", "video/rtx")])

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" or self.light:
                _COUNT_ONLY.add(id(track._queue))  # before the receiver starts its decoder thread
            self._tasks.append(asyncio.create_task(self._consume(track)))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        count = len(self.messages)
        self.stats.offer_at = time.monotonic()
        await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp})
        answer = await self.expect("answer", "error", after=count)
        assert answer["type"] == "answer", answer
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        negotiated = [t._codecs[0].mimeType.lower() for t in self.pc.getTransceivers() if t._codecs]
        assert negotiated == ["audio/opus", "video/h264"], negotiated  # packets must match the codec

    async def _consume(self, track: MediaStreamTrack) -> None:
        stats = self.stats
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                _COUNT_ONLY.discard(id(track._queue))
                return
            if track.kind == "audio":
                stats.audio_frames += 1
                continue
            now = time.monotonic()
            if not stats.first_frame_at:
                stats.first_frame_at = now
            stats.frames += 1
            if stats.measuring and self.reader is not None and frame is not COUNTED:
                for sender, counter in self.reader.read(frame, self.tiles):
                    peer = self.peers.get(sender)
                    if peer is None or counter >= LOOP_FRAMES:
                        stats.decode_failures += 1
                        continue
                    sent = peer.sent_at[counter]
                    if sent and 0 <= now - sent < LOOP_FRAMES / SEND_FPS / 2:
                        stats.latencies.append(now - sent)

    @property
    def participant_id(self) -> str:
        return self.of_type("welcome")[0]["participant"]["id"]

    async def close(self) -> None:
        try:
            await asyncio.wait_for(super().close(), 15)
        except (asyncio.TimeoutError, Exception):
            pass
