"""The signaling protocol's limits: the [signaling] section of the server's configuration
(hearing_server.config composes it with the others; docs/configuration.md documents it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SignalingSettings:
    max_message_bytes: int = 65536
    messages_per_second: float = 20.0
    burst: int = 40
    send_queue: int = 256
    # Open WebSockets from one address at once; a courthouse's staff and parties share one NAT address.
    max_connections_per_address: int = 100
