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

    def failed(self, client: str) -> None:
        self._recent(client)
        self._failures[client].append(time.monotonic())
