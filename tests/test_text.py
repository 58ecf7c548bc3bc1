"""Text from outside is checked once at the edge; text drawn into the picture can never fail."""

from __future__ import annotations

import numpy as np
import pytest

from hearing_server.media.compositor import Caption, Tile, VideoCompositor
from recorder.download_name import content_disposition, download_name
from signaling.text import TextError, check_raw, clean_text, drawable

HOSTILE = ["CV-\ud800", "\udfff", "a\x00b", "tab\tand\nline", "\u202eevil", "\u2066x\u2069", "\ufffe", "\U0010ffff",
           "e\u0301", "\u200fright-to-left mark", "Жанар Қасымова", "👩🏽‍⚖️", "x" * 10_000, "", " ", "\x7f", "\x85"]


@pytest.mark.parametrize("value, problem", [
    ("CV-\ud800", "lone surrogate"), ("a\x00b", "U+0000"), ("\x1b[31m", "U+001B"), ("\x85", "U+0085"),
    ("CV-1\u202e0", "bidirectional"), ("\u2067x", "bidirectional"), ("x\ufffe", "noncharacter"),
])
def test_a_text_that_breaks_a_rule_is_refused_naming_the_field(value, problem):
    with pytest.raises(TextError) as refused:
        clean_text(value, "case_number")
    assert refused.value.field == "case_number" and problem in refused.value.problem


def test_accepted_text_is_folded_normalised_and_limited():
    assert clean_text("  Haddad \t v.\nNorthwind  ", "title") == "Haddad v. Northwind"
    assert clean_text("Zoe\u0308", "name") == "Zo\u00eb"  # NFD typed on one phone, NFC on another: one name
    assert clean_text("\u200fمحمد", "name") == "\u200fمحمد"  # a right-to-left mark is a right-to-left name's
    assert clean_text("Line one\r\n\r\n\r\n\r\nline  two", "text", multiline=True) == "Line one\n\nline two"
    assert clean_text("Жанар Қасымова", "name") == "Жанар Қасымова"
    with pytest.raises(TextError, match="longer than 200"):
        clean_text("x" * 201, "title")
    with pytest.raises(TextError, match="is required"):
        clean_text("   ", "title", required=True)
    with pytest.raises(TextError, match="must be a string"):
        clean_text(["x"], "title")
    assert check_raw("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", "sdp", 100).startswith("v=0")
    with pytest.raises(TextError):
        check_raw("token\ud800", "token", 100)


def test_anything_becomes_drawable_ascii():
    for value in HOSTILE + [None, 42, b"bytes"]:
        drawn = drawable(value)
        assert all(32 <= ord(c) < 127 for c in drawn), (value, drawn)
    # Kazakh and Russian names read as names on a tile, not as question marks.
    assert drawable("Жанар Қасымова") == "Zhanar Qasymova"
    assert drawable("Әлия Өмірбекова, Щукин") == "Aliya Omirbekova, Shchukin"
    assert drawable("José Müller") == "Jose Muller"


def test_the_compositor_draws_any_name_without_failing():
    compositor = VideoCompositor(640, 360)
    picture = np.full((360 * 3 // 2, 640), 128, np.uint8)
    tiles = [Tile(f"k{i}", name, "Witness\ud800", None if i % 2 else (picture[:360], picture[360:450].reshape(180, 320),
                                                                       picture[450:].reshape(180, 320)),
                  placeholder="\x00camera off\u202e", muted=True, speaking=True)
             for i, name in enumerate(HOSTILE)]
    frame = compositor.compose(tiles, Caption("CV-\ud800\x00", "2026-12-02 10:00:00 UTC\udfff", True, "RECESS\ud800"))
    assert frame.shape == (540, 640)


@pytest.mark.parametrize("case_number", ["CR-2026-0007", 'CV/2026 "12"', "Дело №2-123/2026", "a\x00b;c\r\nd",
                                         "\ud800", "..", "%00", ""])
def test_any_case_number_gives_a_valid_content_disposition(case_number):
    name = download_name(case_number, ".mp4", "h_fallback")
    header = content_disposition(name)
    assert header.startswith('attachment; filename="') and "filename*=UTF-8''" in header
    assert header.isascii() and not any(c in header for c in "\r\n\x00")
    ascii_part = header.split('filename="', 1)[1].split('"', 1)[0]
    assert ascii_part and "/" not in ascii_part and "\\" not in ascii_part
    assert name.endswith(".mp4") and "/" not in name and len(name) <= 124
