"""File names for downloads: any case number gives a valid Content-Disposition (RFC 6266 / RFC 8187).

A case number may hold anything the court typed: slashes, quotes, Cyrillic. The header carries an ASCII
fallback in `filename` (for old clients) and the exact name, UTF-8 and percent-encoded, in `filename*`.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;%]+')


def download_name(stem: str, suffix: str, fallback: str = "recording") -> str:
    """A file name built from `stem` (e.g. a case number) that every file system accepts."""
    name = _UNSAFE.sub("-", unicodedata.normalize("NFC", stem)).strip(" .-") or fallback
    name = "".join(c for c in name if not 0xD800 <= ord(c) <= 0xDFFF)[:120] or fallback
    return f"{name}{suffix}"


def content_disposition(filename: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = _UNSAFE.sub("-", ascii_name).strip(" .-") or "download"
    encoded = quote(filename.encode("utf-8", "replace"), safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"
