"""The text that archive searches compare: case-folded, with runs of white space made one space, so that
"АЙГЕРІМ  Бекова" and "айгерім бекова" are the same name on PostgreSQL and on SQLite alike."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def search_key(value: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value).casefold()).strip()


def like_pattern(value: str, prefix_only: bool = False) -> str:
    """A LIKE pattern for `value` typed by a clerk: % and _ mean themselves (escaped with backslash)."""
    escaped = search_key(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"
