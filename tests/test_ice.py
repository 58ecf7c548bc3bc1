"""The server's ICE agent: it never sends a connectivity check to an address a party merely lists.

Each decoy is a UDP socket of the test's own, named as a host candidate in an offer and ranked above the
real one. Before the server was ICE-lite, aioice checked listed addresses: a decoy beside a working
candidate got a request, decoys in an offer whose client never connects four each in five seconds (and a
hundred listed addresses 372 requests, to every one of them).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aioice.ice
import pytest
from aiohttp.test_utils import TestServer
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from hearing_server.config import Settings
from hearing_server.media import ice

from .helpers import ApiClient, Participant, PatternTrack, ToneTrack

pytestmark = pytest.mark.media

QUIET_SECONDS = 5.0


class Decoy(asyncio.DatagramProtocol):
    """A UDP socket the test listens on and names as an ICE candidate: nothing may ever arrive here."""

    def __init__(self) -> None:
        self.datagrams: list[tuple[bytes, Any]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append((data, addr))

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    @property
    def stun(self) -> int:
        # A STUN message: the two top bits zero and the magic cookie at bytes 4-7 (RFC 8489 section 5).
        return sum(1 for data, _ in self.datagrams
                   if len(data) >= 20 and data[0] < 0x40 and data[4:8] == b"\x21\x12\xa4\x42")


async def open_decoys() -> list[Decoy]:
    loop = asyncio.get_running_loop()
    decoys = []
    for host in ("127.0.0.1", "127.0.0.2"):  # the server's own address, and another (all of 127/8 is lo)
        _, decoy = await loop.create_datagram_endpoint(Decoy, local_addr=(host, 0))
        decoys.append(decoy)
    return decoys


def close_decoys(decoys: list[Decoy]) -> None:
    for decoy in decoys:
        if decoy.transport is not None:
            decoy.transport.close()


def report(decoys: list[Decoy]) -> list[list]:
    print("decoy STUN packets:", [d.stun for d in decoys], "datagrams:", [len(d.datagrams) for d in decoys])
    return [d.datagrams for d in decoys]


def with_candidates(sdp: str, addresses: list[tuple[str, int]], every_section: bool = True) -> str:
    """The offer with extra host candidates (in every m-section, or the first), ranked above the real ones."""
    extra = [f"a=candidate:x{i} 1 udp 2130706431 {host} {port} typ host"
             for i, (host, port) in enumerate(addresses)]
    lines: list[str] = []
    sections = 0
    for line in sdp.splitlines():
        lines.append(line)
        if line.startswith("a=mid:") and (every_section or sections == 0):
            lines.extend(extra)
            sections += 1
    return "\r\n".join(lines) + "\r\n"


def padded_to(sdp: str, total: int) -> str:
    """The offer with unreachable candidates (TEST-NET-1) added to make `total` in all."""
    missing = total - ice.count_candidates(sdp)
    assert missing > 0
    return with_candidates(sdp, [("192.0.2.1", 10000 + i) for i in range(missing)], every_section=False)


def client_pc(person: Participant) -> RTCPeerConnection:
    """The peer connection Participant.start_media makes: a tone and a picture out, the hearing in."""
    pc = person.pc = RTCPeerConnection()
    pc.addTrack(ToneTrack(person.tone or 440.0))
    pc.addTrack(PatternTrack(person.color))

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        person._tasks.append(asyncio.create_task(person._consume(track)))

    return pc


async def send_offer(person: Participant, sdp: str) -> dict:
    count = len(person.messages)
    await person.send({"type": "offer", "sdp": sdp})
    return await person.expect("answer", "error", after=count)


async def offer_with(person: Participant, doctor: Any) -> dict:
    """Like Participant.start_media, with the offer passed through `doctor`; the reply (answer or error)."""
    pc = client_pc(person)
    await pc.setLocalDescription(await pc.createOffer())
    reply = await send_offer(person, doctor(pc.localDescription.sdp))
    if reply["type"] == "answer":
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
    return reply


async def preview_offer(judge: Participant, viewer: RTCPeerConnection, target: str, doctor: Any) -> dict:
    await viewer.setLocalDescription(await viewer.createOffer())
    count = len(judge.messages)
    sdp = doctor(viewer.localDescription.sdp)
    await judge.send({"type": "preview", "participant_id": target, "sdp": sdp})
    return await judge.expect("preview-answer", "error", after=count)


async def wait_connected(pc: RTCPeerConnection, timeout: float = 15.0) -> float:
    start = time.monotonic()
    while pc.connectionState != "connected":
        assert pc.connectionState not in ("failed", "closed"), pc.connectionState
        assert time.monotonic() - start < timeout, f"not connected in {timeout}s ({pc.connectionState})"
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def wait_lobby_camera(judge: Participant, name: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    await judge.expect("lobby", timeout=timeout)
    while True:
        for entrant in judge.of_type("lobby")[-1]["entrants"]:
            if entrant["name"] == name and entrant["camera"]:
                return entrant["id"]
        assert time.monotonic() < deadline, f"{name} shows no camera in the lobby"
        await asyncio.sleep(0.1)


def _pid(person: Participant) -> str:
    return person.of_type("welcome")[0]["participant"]["id"]


async def test_a_party_cannot_make_the_server_send_checks_to_an_address_it_names(
        api: ApiClient, server: TestServer) -> None:
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    person = Participant(api.base, (await api.invite(judge, hid, "Mallory Ng"))["token"], tone=650.0,
                         color=(0, 200, 200))
    decoys = await open_decoys()
    try:
        assert (await person.connect())["state"] == "lobby"
        started = time.monotonic()
        answer = await offer_with(person, lambda sdp: with_candidates(sdp, [d.address for d in decoys]))
        assert answer["type"] == "answer", answer
        assert "\r\na=ice-lite\r\n" in answer["sdp"]
        assert person.pc is not None
        print(f"connected {await wait_connected(person.pc):.2f}s after the answer")
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(person)}/admit", token=judge)
        await person.expect("admitted")
        await person.wait_frames(10)  # the real candidate carries the hearing
        await asyncio.sleep(max(0.0, started + QUIET_SECONDS - time.monotonic()))
        assert report(decoys) == [[], []]
    finally:
        close_decoys(decoys)
        await person.close()


async def test_an_offer_naming_only_other_hosts_makes_the_server_send_nothing(
        api: ApiClient, server: TestServer) -> None:
    """The scanner: an offer listing only someone else's addresses, from a client that never connects."""
    judge = await api.login("judge")
    hid = (await api.new_hearing(judge))["id"]
    person = Participant(api.base, (await api.invite(judge, hid, "Mallory Ng"))["token"])
    decoys = await open_decoys()
    try:
        await person.connect()
        pc = client_pc(person)
        await pc.setLocalDescription(await pc.createOffer())
        real = [line for line in pc.localDescription.sdp.splitlines() if line.startswith("a=candidate:")]
        sdp = with_candidates(pc.localDescription.sdp, [d.address for d in decoys])
        sdp = "".join(line + "\r\n" for line in sdp.splitlines() if line not in real)
        assert (await send_offer(person, sdp))["type"] == "answer"
        await asyncio.sleep(QUIET_SECONDS)
        assert report(decoys) == [[], []]
    finally:
        close_decoys(decoys)
        await person.close()


async def test_the_lobby_preview_sends_no_checks_to_addresses_it_names_either(
        api: ApiClient, server: TestServer) -> None:
    judge_token = await api.login("judge")
    hid = (await api.new_hearing(judge_token))["id"]
    entrant = Participant(api.base, (await api.invite(judge_token, hid, "Dana Witness", "witness"))["token"],
                          tone=700.0, color=(0, 200, 0))
    judge = Participant(api.base, judge_token, hearing_id=hid)
    viewer = RTCPeerConnection()
    frames: list = []
    decoys = await open_decoys()
    try:
        assert (await judge.connect())["state"] == "admitted"
        await entrant.connect()
        await entrant.start_media()
        target = await wait_lobby_camera(judge, "Dana Witness")
        viewer.addTransceiver("video", direction="recvonly")

        @viewer.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            async def read() -> None:
                while True:
                    frames.append(await track.recv())
            asyncio.ensure_future(read())

        started = time.monotonic()
        answer = await preview_offer(judge, viewer, target,
                                     lambda sdp: with_candidates(sdp, [d.address for d in decoys]))
        assert answer["type"] == "preview-answer", answer
        assert "\r\na=ice-lite\r\n" in answer["sdp"]
        await viewer.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        print(f"preview connected {await wait_connected(viewer):.2f}s after the answer")
        deadline = time.monotonic() + 15
        while len(frames) < 5:
            assert time.monotonic() < deadline, f"only {len(frames)} preview frames"
            await asyncio.sleep(0.1)
        await asyncio.sleep(max(0.0, started + QUIET_SECONDS - time.monotonic()))
        assert report(decoys) == [[], []]
    finally:
        close_decoys(decoys)
        await viewer.close()
        await asyncio.gather(entrant.close(), judge.close())


async def test_an_offer_over_the_candidate_limit_is_refused_and_the_hearing_carries_on(
        api: ApiClient, server: TestServer) -> None:
    judge_token = await api.login("judge")
    hid = (await api.new_hearing(judge_token))["id"]
    ana = Participant(api.base, (await api.invite(judge_token, hid, "Ana Silva"))["token"], tone=500.0)
    mallory = Participant(api.base, (await api.invite(judge_token, hid, "Mallory Ng"))["token"], tone=900.0)
    judge = Participant(api.base, judge_token, hearing_id=hid)
    viewer = RTCPeerConnection()
    try:
        await judge.connect()
        await ana.connect()
        await ana.start_media()
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(ana)}/admit", token=judge_token)
        await ana.expect("admitted")
        await ana.wait_frames(5)

        await mallory.connect()
        refused = await offer_with(mallory, lambda sdp: padded_to(sdp, 100))
        assert refused["type"] == "error" and refused["code"] == "bad_sdp", refused
        assert f"at most {ice.MAX_OFFER_CANDIDATES}" in refused["message"], refused
        assert mallory.pc is not None
        await mallory.pc.close()

        # Exactly at the limit is fine: Mallory, still in the lobby, connects; her camera reaches the court.
        answer = await offer_with(mallory, lambda sdp: padded_to(sdp, ice.MAX_OFFER_CANDIDATES))
        assert answer["type"] == "answer", answer
        await wait_connected(mallory.pc)
        target = await wait_lobby_camera(judge, "Mallory Ng")

        # The court's own preview offer is held to the same limit.
        viewer.addTransceiver("video", direction="recvonly")
        refused = await preview_offer(judge, viewer, target, lambda sdp: padded_to(sdp, 100))
        assert refused["type"] == "error" and refused["code"] == "bad_sdp", refused

        # Nobody was hurt: Ana's hearing went on, the judge's signaling still answers.
        count = len(judge.messages)
        await judge.send({"type": "ping", "ref": 1})
        await judge.expect("pong", after=count)
        await ana.wait_frames(10)
        await api.ok("POST", f"/api/hearings/{hid}/participants/{_pid(mallory)}/admit", token=judge_token)
        await mallory.expect("admitted")
        await mallory.wait_frames(5)
    finally:
        await viewer.close()
        await asyncio.gather(ana.close(), mallory.close(), judge.close())


async def test_a_peer_that_never_sends_a_check_fails_in_bounded_time(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    monkeypatch.setattr(ice, "ICE_LITE_CONNECT_SECONDS", 1.5)
    client = RTCPeerConnection()
    answerer = RTCPeerConnection(ice.rtc_configuration(settings.media))
    try:
        client.addTransceiver("audio")
        await client.setLocalDescription(await client.createOffer())
        await answerer.setRemoteDescription(client.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert "a=ice-lite" in answerer.localDescription.sdp
        # The client never gets the answer, so it never sends a check.
        start = time.monotonic()
        while answerer.iceConnectionState != "failed":
            assert time.monotonic() - start < 10, answerer.iceConnectionState
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - start
        assert 1.0 < elapsed < 5.0, elapsed
    finally:
        await asyncio.gather(client.close(), answerer.close())


async def test_candidates_repeated_in_every_m_line_count_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The courtroom PC's offer (aiortc, max-bundle) repeats its candidates in each of its many m-lines."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    try:
        for _ in range(8):
            pc.addTransceiver("audio", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        assert sum(1 for line in sdp.splitlines() if line.startswith("a=candidate")) == 8
        assert ice.count_candidates(sdp) == 1
        assert ice.count_candidates(padded_to(sdp, 100)) == 100
    finally:
        await pc.close()


async def test_a_client_is_not_made_ice_lite(settings: Settings) -> None:
    """The patch is process-wide, but only the server's configuration turns it on."""
    assert ice.rtc_configuration(settings.media)  # installs it
    client = RTCPeerConnection()
    try:
        client.addTransceiver("audio")
        await client.setLocalDescription(await client.createOffer())
        assert "ice-lite" not in client.localDescription.sdp
        connection = client.getTransceivers()[0].sender.transport.transport._connection
        assert type(connection) is aioice.ice.Connection
    finally:
        await client.close()
