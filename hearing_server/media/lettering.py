"""Text drawn into the hearing's picture: whatever it holds, it is drawn, and never as a row of '?'.

OpenCV 5's putText draws with a built-in font that covers Latin, Cyrillic with the Kazakh letters
(ә ғ қ ң ө ұ ү һ і) and Arabic; OpenCV 4's Hershey fonts drew ASCII only (pyproject.toml requires 5). What
its font lacks (Greek, CJK, emoji) it draws as '?', and a lone surrogate crashes the whole process. So
`drawable` keeps every character the font really has — found by drawing it once and comparing with the
'?' it would otherwise be — strips accents the font cannot draw (é → e when é is missing), and drops the
rest to one '?' per character. It never raises: a picture must not fail for a name.
"""

from __future__ import annotations

import functools
import unicodedata

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
_PROBE_SIZE = 1.0


def _ink(text: str) -> np.ndarray:
    canvas = np.zeros((48, 48 * max(1, len(text))), np.uint8)
    cv2.putText(canvas, text, (4, 34), FONT, _PROBE_SIZE, 255, 1, cv2.LINE_8)
    return canvas


@functools.lru_cache(maxsize=1)
def _replacement() -> bytes:
    return _ink("?").tobytes()


def _never_drawn(char: str) -> bool:
    """Surrogates crash putText; controls and separators are not drawn."""
    return 0xD800 <= ord(char) <= 0xDFFF or unicodedata.category(char)[0] in "CZ"


@functools.lru_cache(maxsize=4096)
def has_glyph(char: str) -> bool:
    """Whether the picture's font draws this character as itself rather than as its '?'."""
    if char == "?" or char == " ":
        return True
    if _never_drawn(char):
        return False
    try:
        ink = _ink(char)
    except Exception:  # cv2.error on anything it cannot encode
        return False
    return bool(ink.any()) and ink.tobytes() != _replacement()


def _drawable_char(char: str) -> str:
    if has_glyph(char):
        return char
    if char.isspace():
        return " "
    if _never_drawn(char):
        return ""
    # A letter the font lacks with an accent it lacks too: the letter without it reads better than '?'.
    base = "".join(c for c in unicodedata.normalize("NFKD", char)
                   if unicodedata.category(c)[0] != "M" and has_glyph(c))
    if base:
        return base
    return "?" if unicodedata.category(char)[0] in "LNPS" else ""


@functools.lru_cache(maxsize=2048)
def drawable(text: object) -> str:
    """The text as the picture's font draws it: NFC, one line, every character it has kept as it is."""
    try:
        source = text if isinstance(text, str) else str(text)
        out = "".join(_drawable_char(char) for char in unicodedata.normalize(
            "NFC", "".join(c for c in source if not 0xD800 <= ord(c) <= 0xDFFF)))
        return " ".join(out.split())
    except Exception:  # a picture must never fail for a name
        return "?"


def fit(text: str, width: int, size: float, thickness: int = 1) -> str:
    """The text cut with '…' (or '...' when the font lacks it) to at most `width` pixels at this size."""
    if cv2.getTextSize(text, FONT, size, thickness)[0][0] <= width:
        return text
    ellipsis = "…" if has_glyph("…") else "..."
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if cv2.getTextSize(text[:mid].rstrip() + ellipsis, FONT, size, thickness)[0][0] <= width:
            low = mid
        else:
            high = mid - 1
    return (text[:low].rstrip() + ellipsis) if low else ""
