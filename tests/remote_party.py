"""A party in a process of its own — run inside a ShapedLink's namespace (tests/netns.py) — that joins like
the join page does (tests.helpers.Participant, aiortc) and reports what it receives, in JSON lines:

    {"event": "welcome", "participant_id": ...}
    {"event": "status", "connection": ..., "video_frames": n, "keyframes": n, "audio_frames": n,
     "longest_freeze": s, "admitted": bool}                      every 0.5 s
    {"event": "done"}

    python -m tests.remote_party --server http://10.201.0.1:PORT --token TOKEN --seconds 30

It stops after --seconds or when its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .helpers import DetailTrack, Participant
from .netns import ShapedLink

ROOT = Path(__file__).resolve().parent.parent


class RemoteParty:
    """tests/remote_party.py inside the link's namespace."""

    def __init__(self, link: ShapedLink, base: str, token: str, seconds: float) -> None:
        self.command = link.command(sys.executable, "-m", "tests.remote_party", "--server", base, "--token", token,
                                    "--seconds", str(seconds))
        self.events: list[dict[str, Any]] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.command, cwd=str(ROOT), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            self.events.append(json.loads(line))

    def last(self, kind: str) -> dict[str, Any]:
        return next((e for e in reversed(self.events) if e["event"] == kind), {})

    async def stop(self) -> str:
        assert self.process is not None and self.process.stdin is not None
        if self.process.returncode is None:
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 15.0)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        assert self.process.stderr is not None
        return (await self.process.stderr.read()).decode(errors="replace")[-3000:]


def say(**message: object) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class MeasuredParticipant(Participant):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.keyframes = 0
        self.longest_freeze = 0.0
        self.recent_freeze = 0.0  # the longest gap between pictures since the last status line
        self._last_frame_at = 0.0

    async def _consume(self, track: MediaStreamTrack) -> None:
        if track.kind != "video":
            return await super()._consume(track)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if self._last_frame_at:
                self.longest_freeze = max(self.longest_freeze, now - self._last_frame_at)
                self.recent_freeze = max(self.recent_freeze, now - self._last_frame_at)
            self._last_frame_at = now
            assert isinstance(frame, av.VideoFrame)
            self.video_frames += 1
            self.keyframes += int(bool(frame.key_frame))
            self.last_frame = frame


async def main(server: str, token: str, seconds: float, tone: float) -> None:
    # A camera with fine detail: it needs a real bit rate, as a phone's does.
    party = MeasuredParticipant(server, token, tone=tone, video_track=DetailTrack())
    try:
        welcome = await party.connect()
        say(event="welcome", participant_id=welcome.get("participant", {}).get("id", ""),
            state=welcome.get("state", welcome.get("code")))
        await party.start_media()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.readline() else None)
        deadline = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < deadline:
            # a freeze still going on counts up to now
            since = time.monotonic() - party._last_frame_at if party._last_frame_at else 0.0
            say(event="status", at=time.time(), connection=party.pc.connectionState if party.pc else "none",
                video_frames=party.video_frames, keyframes=party.keyframes, audio_frames=party.audio_frames,
                longest_freeze=round(party.longest_freeze, 2), recent_freeze=round(max(party.recent_freeze, since), 2),
                admitted=bool(party.of_type("admitted")))
            party.recent_freeze = 0.0
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
    finally:
        await party.close()
        say(event="done")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--tone", type=float, default=900.0)
    args = parser.parse_args()
    asyncio.run(main(args.server, args.token, args.seconds, args.tone))
