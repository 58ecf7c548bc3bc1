"""Slows down password guessing: failed log-ins per client address in a sliding minute."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class LoginThrottle:
    def __init__(self, failures_per_minute: int) -> None:
        self.limit = failures_per_minute
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures[client]
        current = time.monotonic()
        while failures and current - failures[0] > 60:
            failures.popleft()
        if not failures:
            del self._failures[client]  # keep the table from growing with every address ever seen
            return deque()
        return failures

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self.limit

    def attempt(self, client: str) -> bool:
        """Count an attempt before the (slow) password check, so parallel guesses cannot slip past the
        limit; False when the client is over it."""
        if self.blocked(client):
            return False
        self._failures[client].append(time.monotonic())
        return True

    def succeeded(self, client: str) -> None:
        """A right password does not count against the address (colleagues share a court's NAT)."""
        failures = self._failures.get(client)
        if failures:
            failures.pop()
            if not failures:
                del self._failures[client]
