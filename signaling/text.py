"""Text from outside, checked once at the edge.

Every name, case number, note, label and reason a client sends (HTTP API or signaling) goes through
`clean_text`: it is valid Unicode (no lone UTF-16 surrogates, which JSON's \\ud800 escapes can smuggle in
and which neither UTF-8 files nor OpenCV can take), has no control characters, is NFC-normalised (so the
same name typed on two phones is the same string in the record) and is length-limited. Whatever passes is
safe for the journal, the transcript, the database, a file name and a picture.

Text drawn into the picture goes through hearing_server.media.lettering.drawable, which needs the
picture's font to know what can be drawn.
"""

from __future__ import annotations

import unicodedata
from typing import Any

FIELD_LIMIT = 200

# Bidirectional embeddings, overrides and isolates reorder how a string is shown: "CV-1\u202e0" would read
# differently in the record than it was typed. Marks (U+200E, U+200F) stay allowed: right-to-left names
# need them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NONCHARACTERS = frozenset(chr(c) for c in range(0xFDD0, 0xFDF0)) | frozenset(
    chr((plane << 16) | low) for plane in range(17) for low in (0xFFFE, 0xFFFF))


class TextError(ValueError):
    """A text field was refused; `field` names it and `problem` says why in a client's words."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


def text_problem(value: str) -> str | None:
    """Why `value` cannot be accepted as text, or None."""
    for char in value:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            return "is not valid Unicode (it holds a lone surrogate)"
        if char in _BIDI_CONTROLS:
            return "holds a bidirectional override character"
        if char in _NONCHARACTERS:
            return "holds a Unicode noncharacter"
        if unicodedata.category(char) == "Cc" and char not in "\t\n\r":
            return f"holds the control character U+{code:04X}"
    return None


def clean_text(value: Any, field: str, *, required: bool = False, limit: int = FIELD_LIMIT,
               multiline: bool = False) -> str:
    """The one check every client-supplied text goes through. Raises TextError naming the field.

    Runs of white space become one space (tabs and line breaks included), unless `multiline`, where line
    breaks are kept (at most two in a row) and each line is folded on its own."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise TextError(field, "must be a string")
    problem = text_problem(value)
    if problem is not None:
        raise TextError(field, problem)
    value = unicodedata.normalize("NFC", value)
    if multiline:
        lines = [" ".join(line.split()) for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        value = "\n".join(lines).strip("\n")
        while "\n\n\n" in value:
            value = value.replace("\n\n\n", "\n\n")
    else:
        value = " ".join(value.split())
    if required and not value:
        raise TextError(field, "is required")
    if len(value) > limit:
        raise TextError(field, f"is longer than {limit} characters")
    return value


def check_raw(value: str, field: str, limit: int) -> str:
    """For machine text (tokens, ids, SDP) that is passed on as it is: only the checks that keep it from
    breaking what reads it, no folding."""
    problem = text_problem(value)
    if problem is not None:
        raise TextError(field, problem)
    if len(value) > limit:
        raise TextError(field, f"is longer than {limit} characters")
    return value
