"""Append-only JSON-lines journals, fsynced per entry: what the recorder knows survives a killed process."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # 0600 whatever the umask: a journal holds who was in a hearing and what the clerk noted.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._handle = os.fdopen(fd, "a", encoding="utf-8")

    def append(self, entry: dict[str, Any]) -> None:
        # ASCII escapes: a line is always encodable, whatever text slipped past the checks at the edge.
        self._handle.write(json.dumps(entry, ensure_ascii=True, separators=(",", ":")) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete entry; a torn last line (the process died mid-write) is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
