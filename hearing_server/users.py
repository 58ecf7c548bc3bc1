"""Staff accounts (judges, clerks, admins, courtroom PCs) in a small JSON file in the data folder.

Passwords are hashed with Argon2id (argon2-cffi). The file is rewritten atomically so a crash during
`users add` never leaves the court without its accounts.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from recorder.files import JsonFileCache

from .passwords import password_problem
from .roles import ACCOUNT_ROLES, Role

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")

_hasher = PasswordHasher()
# Spent on unknown usernames too, so response time does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass
class User:
    username: str
    display_name: str
    role: str
    password_hash: str
    disabled: bool = False
    courtroom: str = ""  # courtroom-PC accounts: the courtroom the PC stands in (its tokens are bound to it)


class UserError(ValueError):
    pass


class UserDirectory:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Every API call checks its account still exists: the file is read again only when it changed.
        self._file: JsonFileCache[dict[str, User]] = JsonFileCache(
            path, lambda data: {u["username"]: User(**u) for u in data.get("users", [])}, dict)

    def _load(self) -> dict[str, User]:
        return dict(self._file.get())

    def _save(self, users: dict[str, User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"users": [asdict(u) for u in users.values()]}, indent=2)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(self, username: str, role: Role, password: str, display_name: str = "",
            replace: bool = False, courtroom: str = "") -> User:
        if not USERNAME.match(username):
            raise UserError("username: 2–63 characters, lower-case letters, digits, '.', '_' or '-'")
        if role not in ACCOUNT_ROLES:
            raise UserError(f"accounts are for staff roles only: {', '.join(r.value for r in ACCOUNT_ROLES)}")
        courtroom = " ".join(courtroom.split())
        if role is Role.COURTROOM and not courtroom:
            raise UserError("a courtroom PC account names its courtroom (--courtroom, as hearings spell it)")
        problem = password_problem(password, username, display_name)
        if problem is not None:
            raise UserError(problem)
        users = self._load()
        if username in users and not replace:
            raise UserError(f"user {username!r} already exists")
        user = User(username=username, display_name=display_name or username, role=role.value,
                    password_hash=_hasher.hash(password), courtroom=courtroom if role is Role.COURTROOM else "")
        users[username] = user
        self._save(users)
        return user

    def remove(self, username: str) -> None:
        users = self._load()
        if users.pop(username, None) is None:
            raise UserError(f"no user {username!r}")
        self._save(users)

    def list(self) -> list[User]:
        return sorted(self._load().values(), key=lambda u: u.username)

    def get(self, username: str) -> User | None:
        return self._load().get(username)

    def authenticate(self, username: str, password: str) -> User | None:
        user = self._load().get(username)
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        return user
