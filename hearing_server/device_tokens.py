"""The register of courtroom-PC device tokens: which were issued, for which courtroom, and which revoked.

A device token is long-lived (it sits on a PC in the courtroom), so each one is written here when it is
issued and is accepted only while it is here and not revoked: IT can end one stolen PC's token without
touching the account or the other PCs. A small JSON file in the data folder, rewritten atomically, read
again when it changes (the CLI and the server share it).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from recorder.files import JsonFileCache, write_private

MAX_DAYS = 400  # a year and a little slack for the renewal; longer-lived secrets on a PC are not sensible
DEFAULT_DAYS = 365


@dataclass
class DeviceToken:
    id: str  # the token's jti
    username: str
    courtroom: str
    issued_at: float
    expires_at: float
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > time.time()

    def public(self) -> dict:
        return dict(asdict(self), status="revoked" if self.revoked_at else
                    ("active" if self.expires_at > time.time() else "expired"))


class DeviceTokenRegister:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: JsonFileCache[dict[str, DeviceToken]] = JsonFileCache(
            path, lambda data: {d["id"]: DeviceToken(**d) for d in data.get("device_tokens", [])}, dict)

    def _load(self) -> dict[str, DeviceToken]:
        return dict(self._file.get())

    def _save(self, tokens: dict[str, DeviceToken]) -> None:
        payload = json.dumps({"device_tokens": [asdict(t) for t in tokens.values()]}, indent=2)
        write_private(self.path, payload.encode("utf-8"))

    def add(self, token: DeviceToken) -> None:
        tokens = self._load()
        tokens[token.id] = token
        self._save(tokens)

    def get(self, token_id: str) -> DeviceToken | None:
        return self._load().get(token_id)

    def list(self) -> list[DeviceToken]:
        return sorted(self._load().values(), key=lambda t: t.issued_at, reverse=True)

    def revoke(self, token_id: str) -> DeviceToken | None:
        tokens = self._load()
        token = tokens.get(token_id)
        if token is None:
            return None
        if token.revoked_at is None:
            token.revoked_at = time.time()
            self._save(tokens)
        return token

    def is_active(self, token_id: str) -> bool:
        token = self.get(token_id)
        return token is not None and token.active
