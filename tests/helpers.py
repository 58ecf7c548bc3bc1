"""Test clients: the HTTP API, and a participant made of aiortc (a phone without the browser)."""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import time
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

PASSWORD = "correct horse battery"


class ApiClient:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession()
        self.tokens: dict[str, str] = {}

    async def close(self) -> None:
        await self.http.close()

    async def login(self, username: str, password: str = PASSWORD) -> str:
        status, body = await self.call("POST", "/api/login", {"username": username, "password": password})
        assert status == 200, body
        self.tokens[username] = body["token"]
        return body["token"]

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None,
                   raw: bytes | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if raw is not None:
            kwargs["data"] = raw
        elif body is not None:
            kwargs["json"] = body
        async with self.http.request(method, self.base + path, **kwargs) as response:
            text = await response.text()
            assert response.content_type == "application/json", (response.status, text[:200])
            return response.status, json.loads(text)

    async def ok(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        status, data = await self.call(method, path, body, token)
        assert 200 <= status < 300, (status, data)
        return data

    async def new_hearing(self, token: str, case_number: str = "CV-2026-0142", open_it: bool = True) -> dict:
        hearing = await self.ok("POST", "/api/hearings", {
            "case_number": case_number, "title": "Haddad v. Northwind Ltd", "court": "District Court",
            "courtroom": "Courtroom 3", "scheduled_start": "2026-11-28T09:00:00Z"}, token)
        if open_it:
            hearing = await self.ok("POST", f"/api/hearings/{hearing['id']}/open", None, token)
        return hearing

    async def invite(self, token: str, hearing_id: str, name: str, role: str = "plaintiff") -> dict:
        return await self.ok("POST", f"/api/hearings/{hearing_id}/invites", {"name": name, "role": role}, token)


# -- media sources -------------------------------------------------------------------------------------


class ToneTrack(MediaStreamTrack):
    """A steady sine tone, paced in real time like a microphone."""

    kind = "audio"

    def __init__(self, frequency: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._samples = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        rate, count = 48000, 960
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._samples / rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(count) + self._samples) / rate
        samples = (self.amplitude * 32767 * np.sin(2 * math.pi * self.frequency * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, rate)
        self._samples += count
        return frame


class PatternTrack(MediaStreamTrack):
    """A moving test picture in one colour, paced at `fps` like a camera."""

    kind = "video"

    def __init__(self, color: tuple[int, int, int] = (0, 120, 255), width: int = 640, height: int = 360,
                 fps: int = 15) -> None:
        super().__init__()
        self.color = color
        self.width, self.height, self.fps = width, height, fps
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._count / self.fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        image = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        image[:] = self.color
        x = (self._count * 8) % (self.width - 60)
        image[140:220, x:x + 60] = 255
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self._count * (90000 // self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._count += 1
        return frame


class DetailTrack(PatternTrack):
    """A camera with fine detail that moves: the composite then needs its whole bit rate (a plain test
    pattern compresses to a trickle that even a weak link carries)."""

    def __init__(self) -> None:
        super().__init__()
        self._texture = np.random.default_rng(7).integers(0, 256, (self.height, self.width * 2, 3), np.uint8)

    async def recv(self) -> av.VideoFrame:
        frame = await super().recv()
        shift = (self._count * 6) % self.width
        image = np.ascontiguousarray(self._texture[:, shift:shift + self.width])
        detailed = av.VideoFrame.from_ndarray(image, format="bgr24")
        detailed.pts, detailed.time_base = frame.pts, frame.time_base
        return detailed


# -- a participant ------------------------------------------------------------------------------------


class Participant:
    """Joins through signaling exactly like the join page does, with aiortc in place of a browser."""

    def __init__(self, base: str, token: str, hearing_id: str = "", name: str = "",
                 tone: float | None = None, color: tuple[int, int, int] = (0, 120, 255),
                 video: bool = True, audio_track: MediaStreamTrack | None = None,
                 video_track: MediaStreamTrack | None = None) -> None:
        self.url = base.replace("http://", "ws://") + "/api/signal"
        self.token = token
        self.hearing_id = hearing_id
        self.name = name
        self.tone = tone
        self.color = color
        self.send_video = video
        self.audio_track = audio_track
        self.video_track = video_track
        self.http = aiohttp.ClientSession()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.pc: RTCPeerConnection | None = None
        self.messages: list[dict] = []
        self._new_message = asyncio.Condition()
        self.video_frames = 0
        self.last_frame: av.VideoFrame | None = None
        self.audio = np.zeros(0, dtype=np.int16)
        self.audio_frames = 0
        self.closed_code: int | None = None
        self._tasks: list[asyncio.Task] = []

    async def connect(self) -> dict:
        self.ws = await self.http.ws_connect(self.url)
        self._tasks.append(asyncio.create_task(self._read()))
        hello = {"type": "hello", "token": self.token}
        if self.hearing_id:
            hello["hearing_id"] = self.hearing_id
        if self.name:
            hello["name"] = self.name
        await self.send(hello)
        return await self.expect("welcome", "error")

    async def send(self, message: dict) -> None:
        assert self.ws is not None
        await self.ws.send_json(message)

    async def send_raw(self, data: str | bytes) -> None:
        assert self.ws is not None
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)

    async def _read(self) -> None:
        assert self.ws is not None
        async for frame in self.ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                async with self._new_message:
                    self.messages.append(json.loads(frame.data))
                    self._new_message.notify_all()
        self.closed_code = self.ws.close_code
        async with self._new_message:
            self._new_message.notify_all()

    async def expect(self, *kinds: str, timeout: float = 15.0, after: int = 0) -> dict:
        """The first message of one of `kinds` at or after index `after`."""
        deadline = time.monotonic() + timeout
        async with self._new_message:
            while True:
                for message in self.messages[after:]:
                    if message.get("type") in kinds:
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.closed_code is not None):
                    raise AssertionError(f"no {kinds} message; got {[m.get('type') for m in self.messages]}")
                try:
                    await asyncio.wait_for(self._new_message.wait(), remaining)
                except asyncio.TimeoutError:
                    pass

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m.get("type") == kind]

    async def start_media(self) -> None:
        self.pc = RTCPeerConnection()
        audio = self.audio_track or (ToneTrack(self.tone) if self.tone is not None else None)
        if audio is not None:
            self.pc.addTrack(audio)
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        video = self.video_track or (PatternTrack(self.color) if self.send_video else None)
        if video is not None:
            self.pc.addTrack(video)
        else:
            self.pc.addTransceiver("video", direction="recvonly")

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.create_task(self._consume(track)))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        count = len(self.messages)
        await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp})
        answer = await self.expect("answer", "error", after=count)
        assert answer["type"] == "answer", answer
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                self.video_frames += 1
                self.last_frame = frame
            else:
                samples = frame.to_ndarray().reshape(-1)
                channels = len(frame.layout.channels)
                mono = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
                self.audio = np.concatenate([self.audio[-48000 * 6:], mono])
                self.audio_frames += 1

    async def wait_frames(self, count: int, timeout: float = 20.0) -> None:
        start = self.video_frames
        deadline = time.monotonic() + timeout
        while self.video_frames - start < count:
            assert time.monotonic() < deadline, f"only {self.video_frames - start} video frames in {timeout}s"
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.close()


def tone_strength(samples: np.ndarray, frequency: float, rate: int = 48000) -> float:
    """Magnitude of the spectrum around `frequency`, relative to the strongest bin (0..1)."""
    window = samples.astype(np.float64) * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(window))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    band = (freqs > frequency - 15) & (freqs < frequency + 15)
    return float(spectrum[band].max() / (spectrum.max() + 1e-9))
