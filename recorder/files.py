"""Files only the server's own user may read: keys, passwords, the record in progress.

Created with their final permissions from the first byte (os.open's mode, whatever the umask), written to a
temporary name and renamed into place, so that nobody ever sees a half-written key or a readable one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Make `path` (and its missing parents) a folder of mode 0700, and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    os.chmod(path, PRIVATE_DIR)  # mkdir's mode is masked by the umask, and an existing folder keeps its own
    return path


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write `data` to `path` atomically with mode 0600. With `exclusive`, fail if `path` exists (a key
    that must never be replaced by a second process starting at the same moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, PRIVATE_FILE)
        if exclusive:
            os.link(tmp, path)  # atomic, and refuses to replace an existing file
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def touch_private(path: Path) -> Path:
    """Create (or empty) `path` with mode 0600 before a library writes it: libav and write_text would make
    it 0666 less the umask, and keep the mode of a file that already exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


class JsonFileCache(Generic[T]):
    """A small JSON file read again only when it changed (its mtime or size): the accounts and the device
    tokens are checked on every request, and written by the CLI while the server runs."""

    def __init__(self, path: Path, parse: Callable[[dict[str, Any]], T], empty: Callable[[], T]) -> None:
        self.path = path
        self._parse = parse
        self._empty = empty
        self._cache: tuple[tuple[int, int], T] | None = None

    def get(self) -> T:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return self._empty()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._cache is None or self._cache[0] != stamp:
            self._cache = (stamp, self._parse(json.loads(self.path.read_text(encoding="utf-8"))))
        return self._cache[1]
