"""The header a node adds when it relays a participant to the carrier of their hearing: only a fellow
node (same token key) can vouch for an address, and only for a minute."""

from __future__ import annotations

import time

from hearing_server.tokens import TokenService

KEY = b"k" * 32


def test_a_fellow_node_vouches_for_the_participants_address():
    tokens = TokenService(KEY)
    assert tokens.relayed_address(tokens.relay_mark("203.0.113.7")) == "203.0.113.7"
    assert tokens.relayed_address(tokens.relay_mark("2001:db8::7")) == "2001:db8::7"  # colons in the address


def test_forged_stale_and_foreign_marks_are_ignored(monkeypatch):
    tokens = TokenService(KEY)
    mark = tokens.relay_mark("203.0.113.7")
    stamp, rest = mark.split(":", 1)
    forged = f"{stamp}:198.51.100.1:{rest.rsplit(':', 1)[1]}"  # someone else's address, the same signature
    assert tokens.relayed_address(forged) is None
    assert TokenService(b"o" * 32).relayed_address(mark) is None  # another court's nodes
    for junk in ("", "x", "1:2", "notanumber:1.2.3.4:abc", ":" * 5):
        assert tokens.relayed_address(junk) is None
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    assert tokens.relayed_address(mark) is None  # a replayed mark goes stale
