"""Slows down password guessing, from one address and against one account.

Per address: failed log-ins in a sliding minute (a noisy client is stopped without locking out a whole court
behind the same NAT for longer than that minute). Per account: after a few failures, each further attempt on
that account must wait twice as long as the last (capped), from wherever it comes, so a password cannot be
guessed from many addresses either. A right password clears the account's count. Counts live in this
process: each node of a multi-node court keeps its own, which multiplies an attacker's rate by the nodes.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass

FREE_FAILURES = 5  # an account's first failures cost nothing: people mistype
FIRST_DELAY = 2.0  # seconds; doubles with every failure after that
MAX_DELAY = 15 * 60.0
FORGET_AFTER = 60 * 60.0  # an account with no failure for an hour starts afresh
MAX_ACCOUNTS = 100_000  # the table of accounts tried stays bounded whatever names are sent


@dataclass
class _Account:
    failures: int = 0
    last: float = 0.0


class LoginThrottle:
    def __init__(self, failures_per_minute: int) -> None:
        self.limit = failures_per_minute
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._accounts: dict[str, _Account] = {}

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

    def account_wait(self, username: str) -> float:
        """Seconds until `username` may be tried again (0: now)."""
        account = self._accounts.get(username)
        if account is None:
            return 0.0
        current = time.monotonic()
        if current - account.last > FORGET_AFTER:
            del self._accounts[username]
            return 0.0
        if account.failures < FREE_FAILURES:
            return 0.0
        delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (account.failures - FREE_FAILURES))
        return max(0.0, account.last + delay - current)

    def attempt(self, client: str, username: str = "") -> float:
        """Count an attempt before the (slow) password check, so parallel guesses cannot slip past the
        limits. Returns 0 when it may go ahead, else the seconds to wait."""
        if self.blocked(client):
            failures = self._recent(client)
            return max(1.0, 60 - (time.monotonic() - failures[0]))
        wait = self.account_wait(username) if username else 0.0
        if wait > 0:
            return wait
        self._failures[client].append(time.monotonic())
        if username:
            if len(self._accounts) >= MAX_ACCOUNTS and username not in self._accounts:
                self._forget_oldest()
            account = self._accounts.setdefault(username, _Account())
            account.failures += 1
            account.last = time.monotonic()
        return 0.0

    def succeeded(self, client: str, username: str = "") -> None:
        """A right password does not count against the address (colleagues share a court's NAT), and
        clears the account's failures."""
        failures = self._failures.get(client)
        if failures:
            failures.pop()
            if not failures:
                del self._failures[client]
        self._accounts.pop(username, None)

    def _forget_oldest(self) -> None:
        oldest = sorted(self._accounts, key=lambda name: self._accounts[name].last)[: MAX_ACCOUNTS // 10]
        for name in oldest:
            del self._accounts[name]
