"""How busy this process is: the share of one core it used (all its threads) since the last reading, as a
media worker reports it to its front and a node with in-process media reports itself to the others."""

from __future__ import annotations

import time


class CpuShare:
    def __init__(self) -> None:
        self._then = (time.process_time(), time.monotonic())
        self.share = 0.0

    def read(self, min_interval: float = 0.0) -> float:
        """The share since the last reading; within `min_interval` of it, that reading again (a share over a
        few milliseconds says nothing)."""
        cpu, now = time.process_time(), time.monotonic()
        if now - self._then[1] >= max(min_interval, 1e-3):
            self.share = (cpu - self._then[0]) / (now - self._then[1])
            self._then = (cpu, now)
        return self.share
