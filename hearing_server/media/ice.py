"""What the server's ICE agent advertises: configured host addresses and 1:1 NAT rewriting."""

from __future__ import annotations

import ipaddress
import re

import aioice.ice
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer

from ..config import MediaSettings

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


def rtc_configuration(settings: MediaSettings) -> RTCConfiguration:
    servers = [RTCIceServer(urls=url) for url in settings.stun_urls]
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
