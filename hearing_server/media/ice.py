"""The server's ICE agent: ICE-lite, the host addresses it advertises, and 1:1 NAT rewriting."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import Any

import aioice.ice
import aiortc.rtcpeerconnection
from aioice import mdns
from aioice.candidate import Candidate
from aioice.ice import ICE_COMPLETED, ICE_FAILED, CandidatePair
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer
from aiortc.rtcicetransport import RTCIceGatherer, RTCIceParameters

from ..config import MediaSettings

# Distinct candidates per offer, over all its m-lines. Chromium with one dual-stack interface and loopback
# lists 16 lines (12 distinct), a dual-stack phone on Wi-Fi and mobile data with TURN some 30. The server
# checks none of them (it is ICE-lite, below), so the limit only bounds the work a hostile offer makes.
MAX_OFFER_CANDIDATES = 64

# How long the server waits for the peer to nominate a pair (on a working path that takes milliseconds)
# before the connection fails. aioice alone would wait for ever for a peer that never signals
# end-of-candidates, as browsers do not in their offers.
ICE_LITE_CONNECT_SECONDS = 30.0

_default_host_addresses = aioice.ice.get_host_addresses


def configure_host_addresses(addresses: list[str]) -> None:
    """aioice gathers every interface but loopback; a court server (and every test here) needs to choose.

    aioice has no per-connection option for this, so the choice is process-wide, made once at start-up.
    """
    if not addresses:
        aioice.ice.get_host_addresses = _default_host_addresses
        return
    for address in addresses:
        ipaddress.ip_address(address)  # ValueError on a typo, at start-up rather than at the first call

    def chosen(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in addresses
                if (use_ipv4 and ipaddress.ip_address(a).version == 4)
                or (use_ipv6 and ipaddress.ip_address(a).version == 6)]

    aioice.ice.get_host_addresses = chosen


def count_candidates(sdp: str) -> int:
    """The offer's distinct `a=candidate` lines, wherever they are (aiortc reads them in any m-line).

    Distinct, as an aiortc peer repeats its bundle's candidates in every m-line: the courtroom PC's offer,
    one m-line per camera and microphone, would otherwise count each of its addresses a dozen times.
    """
    return len({line.strip() for line in sdp.splitlines() if line.startswith("a=candidate")})


class LiteConnection(aioice.ice.Connection):
    """aioice's agent as an ICE-lite one (RFC 8445 section 2.5): it answers checks and never starts one.

    A full agent sends checks to every address the offer lists, so anyone who can get an offer answered
    (anyone with a join link, still in the lobby) could make the server send STUN to any host and port: a
    reflector, and a scanner of the server's own network. A lite agent learns its pairs from the peer's
    authenticated Binding requests alone (check_incoming): the sender has our ICE password, and its
    address, a TURN relay's included, is where those packets come from. Afterwards the only requests the
    server sends are aioice's consent checks (RFC 7675), to the pair the peer nominated.

    aiortc offers no way to choose aioice's class, so _ServerIceGatherer swaps it into each Connection it
    makes for the server's own peer connections; nothing here may need state of its own.
    """

    async def add_remote_candidate(self, remote_candidate: Candidate | None) -> None:
        # An mDNS name would be resolved (a multicast query, up to a second before the answer goes out)
        # for nothing: listed candidates are never checked, the request's source address is what counts.
        if remote_candidate is not None and mdns.is_mdns_hostname(remote_candidate.host):
            return
        await super().add_remote_candidate(remote_candidate)

    def _pair_remote_candidate(self, remote_candidate: Candidate) -> None:
        # A listed candidate is only a claim: it never enters the check list. check_incoming adds the
        # pairs, each one for an address an authenticated request has come from.
        return

    async def check_start(self, pair: CandidatePair) -> None:
        # Only reached as check_incoming's triggered check: the pair's address has just sent a valid
        # request, which request_received answered. For a lite agent that exchange is the whole check.
        self.check_state(pair, CandidatePair.State.SUCCEEDED)
        if pair.remote_nominated:
            pair.nominated = True
        self.check_complete(pair)

    def _check_list_maybe_fail(self) -> None:
        # The peer's checks may still come however the check list looks: only the deadline in connect()
        # (or close()) fails a lite agent.
        return

    async def connect(self) -> None:
        if not self._local_candidates_end:
            raise ConnectionError("Local candidates gathering was not performed")
        if self.remote_username is None or self.remote_password is None:
            raise ConnectionError("Remote username or password is missing")
        # No checks of our own: wait for the peer to nominate a pair. Checks received before now count.
        for early_check in self._early_checks:
            self.check_incoming(*early_check)
        self._early_checks.clear()
        self._early_checks_done = True
        try:
            result = await asyncio.wait_for(self._check_list_state.get(), ICE_LITE_CONNECT_SECONDS)
        except asyncio.TimeoutError:
            result = ICE_FAILED
        self._check_list_done = True  # a nomination after the deadline completes nothing
        if result != ICE_COMPLETED:
            raise ConnectionError("ICE negotiation failed: the peer nominated no pair in time")
        self._query_consent_task = asyncio.create_task(self.query_consent())


class ServerIceServers(list[RTCIceServer]):
    """The server's own ICE servers. A peer connection configured with this list answers as ICE-lite."""


class _ServerIceGatherer(RTCIceGatherer):
    """aiortc's gatherer, making a LiteConnection when given ServerIceServers (see rtc_configuration)."""

    def __init__(self, iceServers: list[RTCIceServer] | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(iceServers, *args, **kwargs)
        self._lite = isinstance(iceServers, ServerIceServers)
        if self._lite:
            self._connection.__class__ = LiteConnection
            # A lite agent is the controlled one (RFC 8445 section 6.1.1). With the lowest tie-breaker a
            # peer that also claims to be controlled is told to switch (487) rather than we switching to a
            # controlling role in which this agent would never nominate.
            self._connection._tie_breaker = 0

    def getLocalParameters(self) -> RTCIceParameters:
        parameters = super().getLocalParameters()
        # aiortc writes a=ice-lite into the answer for this: the peer then knows to expect no checks.
        parameters.iceLite = self._lite
        return parameters


def rtc_configuration(settings: MediaSettings) -> RTCConfiguration:
    """The configuration of every peer connection the server answers with: ICE-lite, max-bundle."""
    # Process-wide, as aiortc has no per-connection hook; _ServerIceGatherer behaves exactly like aiortc's
    # own for any other configuration (a client's in the same process, the courtroom agent's).
    aiortc.rtcpeerconnection.RTCIceGatherer = _ServerIceGatherer  # type: ignore[misc]
    servers = ServerIceServers(RTCIceServer(urls=url) for url in settings.stun_urls)
    # max-bundle: every m-line on the first transceiver's transport from the start. With aiortc's default
    # ("balanced") a second microphone m-line is parked on the first audio m-line's transport, which BUNDLE
    # then stops: that microphone is never heard (a courtroom PC sends several). The first transceiver made
    # must be the offer's first m-line (ParticipantPeer.answer sees to it), or aiortc stops the very
    # transport it bundles onto. Browsers always offer BUNDLE.
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def browser_ice_servers(settings: MediaSettings) -> list[dict]:
    """The iceServers list handed to browsers in the welcome message."""
    servers: list[dict] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls:
        servers.append({"urls": list(settings.turn_urls), "username": settings.turn_username,
                        "credential": settings.turn_password})
    return servers


_CANDIDATE = re.compile(r"^(a=candidate:\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host.*)$")


def apply_nat_mapping(sdp: str, mapping: list[str]) -> str:
    """Behind 1:1 NAT the server must advertise its public address in place of the private one."""
    if not mapping:
        return sdp
    table = dict(pair.split("=", 1) for pair in mapping)
    lines = []
    for line in sdp.splitlines():
        match = _CANDIDATE.match(line)
        if match and match.group(2) in table:
            line = match.group(1) + table[match.group(2)] + match.group(3)
        elif line.startswith("c=IN IP4 ") and line[9:] in table:
            line = "c=IN IP4 " + table[line[9:]]
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"
