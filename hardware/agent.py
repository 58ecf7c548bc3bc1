"""The courtroom agent: the courtroom PC's cameras and microphones, published into the hearing.

It runs unattended next to the judge's console. It finds the hearing that is open in its courtroom (or the
one it was told to join), joins it with its courtroom-device token — the court, so no lobby — and sends
every configured camera and microphone in one peer connection, each named after its position so the
composite labels the tile and the transcript names the speaker. When the network drops it joins again by
itself (the server keeps the courtroom's place); when a device fails the track goes quiet and the server
shows the tile as offline while the device retries (hardware.sources). Nothing here stops for one fault.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from .config import AgentConfig, load_courtroom_config
from .sources import DeviceSet

log = logging.getLogger("hardware.agent")

LIVE = ("open", "recess")
PING_SECONDS = 5.0
# No pong for this long means the network is gone, even if TCP has not noticed yet.
SILENCE_SECONDS = 12.0


class AgentError(Exception):
    """Something the agent cannot fix by trying again at once (bad token, hearing closed): it waits."""


@dataclass
class AgentStatus:
    hearing_id: str = ""
    connected: bool = False
    joins: int = 0
    last_error: str = ""


class CourtroomAgent:
    def __init__(self, config: AgentConfig, devices: DeviceSet | None = None) -> None:
        self.config = config
        self.base = config.server_url.rstrip("/")
        # The devices stay open for the agent's whole life; each connection gets fresh tracks on them,
        # because aiortc ends a track when its peer connection closes.
        self.devices = devices or DeviceSet(config)
        self.status = AgentStatus()
        self.joined = asyncio.Event()  # set while the media is flowing into a hearing
        self._stop = asyncio.Event()
        self._pc: RTCPeerConnection | None = None

    # -- the loop -----------------------------------------------------------------------------------

    async def run(self) -> None:
        ssl: bool = True if self.config.verify_tls else False
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl),
                                         timeout=aiohttp.ClientTimeout(total=None, sock_connect=10)) as http:
            while not self._stop.is_set():
                try:
                    hearing_id = await self._next_hearing(http)
                    if hearing_id:
                        await self._attend(http, hearing_id)
                except AgentError as exc:
                    self._failed(str(exc), logging.ERROR)
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
                    self._failed(f"server unreachable or connection lost: {exc.__class__.__name__}: {exc}",
                                 logging.WARNING)
                except Exception as exc:  # the agent is unattended: log, wait, try again
                    log.exception("unexpected failure; trying again")
                    self.status.last_error = repr(exc)
                finally:
                    self.joined.clear()
                    self.status.connected = False
                await self._wait(self.config.retry_seconds)

    async def stop(self) -> None:
        self._stop.set()
        if self._pc is not None:
            await self._pc.close()
        await self.devices.close()

    def _failed(self, message: str, level: int) -> None:
        if message != self.status.last_error:  # one line per new problem, not one per retry
            log.log(level, "%s (retrying every %.0f s)", message, self.config.retry_seconds)
        self.status.last_error = message

    async def _wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    def _token(self) -> str:
        # Read on every attempt: IT may replace an expired token file without restarting the service.
        try:
            token = Path(self.config.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AgentError(f"cannot read the device token file {self.config.token_file}: {exc}") from None
        if not token:
            raise AgentError(f"the device token file {self.config.token_file} is empty")
        return token

    async def _next_hearing(self, http: aiohttp.ClientSession) -> str:
        """The hearing to join now: the configured one, or the one live in this courtroom."""
        if self.config.hearing_id:
            return self.config.hearing_id
        headers = {"Authorization": f"Bearer {self._token()}"}
        async with http.get(f"{self.base}/api/hearings", headers=headers) as response:
            body = await response.json(content_type=None)
            if response.status == 401:
                reason = body.get("error", {}).get("message")
                raise AgentError(f"the server refused the device token: {reason}")
            if response.status != 200:
                raise AgentError(f"listing hearings failed: HTTP {response.status}")
        wanted = self.config.courtroom.casefold()
        live = [h for h in body.get("hearings", [])
                if h.get("status") in LIVE and (not wanted or h.get("courtroom", "").casefold() == wanted)]
        if not live:
            if self.status.hearing_id:
                log.info("no hearing is open in %s now; waiting", self.config.courtroom or "any courtroom")
                self.status.hearing_id = ""
            return ""
        live.sort(key=lambda h: h.get("opened_at") or 0, reverse=True)
        return str(live[0]["id"])

    # -- one stay in one hearing --------------------------------------------------------------------

    async def _attend(self, http: aiohttp.ClientSession, hearing_id: str) -> None:
        url = self.base.replace("https://", "wss://").replace("http://", "ws://") + "/api/signal"
        async with http.ws_connect(url, heartbeat=None, max_msg_size=1 << 20) as ws:
            await ws.send_json({"type": "hello", "token": self._token(), "hearing_id": hearing_id})
            welcome = await self._receive(ws, ("welcome",))
            if welcome["hearing"].get("status") not in LIVE:
                raise AgentError(f"hearing {hearing_id} is {welcome['hearing'].get('status')}; waiting")
            self.status.hearing_id = hearing_id
            # max-bundle, for the reason given in hearing_server.media.ice: several microphones in one offer.
            pc = self._pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
            try:
                await self._publish(ws, pc)
                self.status.joins += 1
                self.status.connected = True
                self.status.last_error = ""
                self.joined.set()
                log.info("publishing %d camera(s) and %d microphone(s) into hearing %s (%s)",
                         len(self.config.cameras), len(self.config.microphones), hearing_id,
                         welcome["hearing"].get("case_number", ""))
                await self._stay(ws, pc)
            finally:
                self._pc = None
                await pc.close()

    async def _publish(self, ws: aiohttp.ClientWebSocketResponse, pc: RTCPeerConnection) -> None:
        # Send-only: the courtroom sees and hears the hearing on the judge's console, not through the agent.
        transceivers = [(pc.addTransceiver(track, direction="sendonly"), track)
                        for track in self.devices.tracks()]
        await pc.setLocalDescription(await pc.createOffer())
        labels = [(t.mid, str(vars(track).get("label") or "")) for t, track in transceivers]
        sources = {mid: label for mid, label in labels if mid is not None and label}
        await ws.send_json({"type": "offer", "sdp": pc.localDescription.sdp, "sources": sources,
                            "ref": "offer"})
        answer = await self._receive(ws, ("answer",))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def _stay(self, ws: aiohttp.ClientWebSocketResponse, pc: RTCPeerConnection) -> None:
        """Until the hearing closes, the connection drops or the agent is stopped."""
        failed = asyncio.Event()

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                failed.set()

        last_heard = time.monotonic()
        next_ping = time.monotonic() + PING_SECONDS
        while not self._stop.is_set() and not failed.is_set():
            try:
                frame = await ws.receive(timeout=1.0)
            except asyncio.TimeoutError:
                frame = None
            now = time.monotonic()
            if frame is not None:
                if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR,
                                  aiohttp.WSMsgType.CLOSING):
                    self._closed(ws.close_code)
                    return
                if frame.type == aiohttp.WSMsgType.TEXT:
                    last_heard = now
                    message = frame.json()
                    if message.get("type") == "hearing" and message["hearing"].get("status") == "closed":
                        log.info("hearing %s closed", self.status.hearing_id)
                        return
                    if message.get("type") == "error":
                        log.warning("server: %s (%s)", message.get("message"), message.get("code"))
            if now - last_heard > SILENCE_SECONDS:
                raise ConnectionError(f"no word from the server for {SILENCE_SECONDS:.0f} s")
            if now >= next_ping:
                next_ping = now + PING_SECONDS
                await ws.send_json({"type": "ping"})
        if failed.is_set():
            raise ConnectionError("the media connection failed")

    def _closed(self, code: int | None) -> None:
        if code == 4411:
            log.info("hearing %s closed", self.status.hearing_id)
            return
        if code in (4401, 4403, 4410):
            raise AgentError(f"the server closed the connection ({code}): check the device token and account")
        raise ConnectionError(f"the server closed the connection ({code})")

    @staticmethod
    async def _receive(ws: aiohttp.ClientWebSocketResponse, kinds: tuple[str, ...],
                       timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise asyncio.TimeoutError(f"no {kinds} from the server")
            frame = await ws.receive(timeout=remaining)
            if frame.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"the server closed the connection ({ws.close_code})")
            message = frame.json()
            if message.get("type") in kinds:
                return message
            if message.get("type") == "error":
                raise AgentError(f"the server refused: {message.get('message')} ({message.get('code')})")


def main(config_path: str) -> int:
    """`hearing-server courtroom`: run until SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_courtroom_config(config_path)
    except (OSError, ValueError) as exc:
        log.error("cannot use %s: %s", config_path, exc)
        return 2

    async def run() -> None:
        agent = CourtroomAgent(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, agent._stop.set)
            except (NotImplementedError, RuntimeError):  # Windows: Ctrl+C still raises KeyboardInterrupt
                pass
        try:
            await agent.run()
        finally:
            await agent.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0
