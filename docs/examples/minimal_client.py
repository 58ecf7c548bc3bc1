"""The smallest complete client of a hearing: join with a join link's token, wait in the lobby, send one
offer, receive the hearing's composite picture and mix-minus sound. Python with aiohttp and aiortc (the
server's own packages); any WebRTC stack follows the same steps (docs/integration.md).

    python minimal_client.py --server http://127.0.0.1:8080 --token <the token of a join link> --seconds 20

It sends a test pattern and a tone, prints each signaling message it receives, and every second the frames
and sound it has received. Exit code 0 once it has been admitted and received pictures and sound.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import sys

import aiohttp
import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AUDIO_PTIME, MediaStreamError, MediaStreamTrack


class Tone(MediaStreamTrack):
    kind = "audio"

    def __init__(self, frequency: float = 440.0) -> None:
        super().__init__()
        self.frequency, self.sample = frequency, 0

    async def recv(self) -> av.AudioFrame:
        await asyncio.sleep(AUDIO_PTIME)  # a real microphone paces itself; 20 ms a frame here
        count = 960
        t = (np.arange(count) + self.sample) / 48000
        frame = av.AudioFrame.from_ndarray((0.2 * 32767 * np.sin(2 * np.pi * self.frequency * t))
                                           .astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, self.sample, fractions.Fraction(1, 48000)
        self.sample += count
        return frame


class Pattern(MediaStreamTrack):
    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(1 / 15)
        image = np.zeros((360, 640, 3), np.uint8)
        image[:, :, 1] = 160
        image[:, (self.count * 8) % 640:][:, :16] = 255  # a moving bar
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = self.count * 6000, fractions.Fraction(1, 90000)
        self.count += 1
        return frame


async def main(server: str, token: str, seconds: float) -> int:
    received = {"video": 0, "audio": 0}
    admitted = asyncio.Event()
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(server.replace("http", "ws", 1).rstrip("/") + "/api/signal") as ws:
        # 1. hello: the join link's token. The answer is welcome (state "lobby" until the court admits).
        await ws.send_json({"type": "hello", "token": token})
        welcome = await ws.receive_json()
        print("<-", json.dumps(welcome)[:200])
        if welcome["type"] != "welcome":
            return 2

        # 2. One peer connection, one audio and one video m-line, both sendrecv; all candidates gathered.
        pc = RTCPeerConnection()  # use welcome["ice_servers"] as its iceServers when the court has any
        pc.addTrack(Tone())
        pc.addTrack(Pattern())

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            async def count() -> None:
                while True:
                    try:
                        await track.recv()
                    except MediaStreamError:
                        return
                    received[track.kind] += 1
            asyncio.ensure_future(count())

        await pc.setLocalDescription(await pc.createOffer())  # aiortc returns once gathering is complete
        await ws.send_json({"type": "offer", "sdp": pc.localDescription.sdp})

        async def listen() -> None:
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                print("<-", json.dumps(message)[:200])
                if message["type"] == "answer":  # 3. the server's answer, candidates included
                    await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
                elif message["type"] == "admitted":  # 4. the court let us in: the hearing's media flows
                    admitted.set()
                elif message["type"] == "media" and message["state"] == "failed":
                    print("media failed:", message["reason"], file=sys.stderr)  # a real client offers again

        listener = asyncio.ensure_future(listen())
        for _ in range(int(seconds)):
            await asyncio.sleep(1.0)
            print(f"connection {pc.connectionState}, admitted {admitted.is_set()}, "
                  f"video frames {received['video']}, audio frames {received['audio']}", flush=True)
        await ws.send_json({"type": "leave"})  # 5. leave: bye, then the server closes the WebSocket
        await asyncio.wait_for(listener, 5.0)
        await pc.close()
    return 0 if admitted.is_set() and received["video"] and received["audio"] else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="the hearing server's URL, e.g. https://court.example")
    parser.add_argument("--token", required=True, help="the token of a join link (after #token=)")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.server, args.token, args.seconds)))
