"""Text from outside is checked once at the edge; text drawn into the picture can never fail."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hearing_server.media.compositor import Caption, Tile, VideoCompositor
from hearing_server.media.lettering import drawable, fit, has_glyph
from recorder.download_name import content_disposition, download_name
from signaling.text import TextError, check_raw, clean_text

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


def test_anything_becomes_drawable_and_kazakh_and_russian_stay_as_they_are():
    for value in HOSTILE + [None, 42, b"bytes"]:
        drawn = drawable(value)
        assert all(has_glyph(c) for c in drawn), (value, drawn)
        assert not any(0xD800 <= ord(c) <= 0xDFFF or ord(c) < 32 for c in drawn), (value, drawn)
    # The font draws every Kazakh and Russian letter as itself (OpenCV 4's Hershey font drew '?').
    kazakh = "АӘБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯ"
    for letter in kazakh + kazakh.lower() + "№":
        assert has_glyph(letter), letter
    assert drawable("Жанар Қасымова") == "Жанар Қасымова"
    assert drawable("Әлия Өмірбекова, Щукин") == "Әлия Өмірбекова, Щукин"
    assert drawable("José Müller") == "José Müller"
    assert drawable("Ελένη") == "?????"  # what the font lacks is one '?' a letter, never a crash


def test_a_label_too_long_for_its_tile_is_cut_with_an_ellipsis():
    name = "Айгерім Серікқызы Бекова-Нұрланова"
    cut = fit(name, 200, 1.0)
    assert cut.endswith("…") and name.startswith(cut[:-1]) and len(cut) < len(name)
    assert cv2.getTextSize(cut, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 1)[0][0] <= 200
    assert fit(name, 2000, 1.0) == name


def test_a_kazakh_name_a_russian_role_and_a_cyrillic_case_number_are_drawn_as_written():
    """The composite, encoded to H.264 and decoded as a receiver would, carries the very label a Cyrillic
    font renders: compared with the expected rendering of the text, and far from the '?' row OpenCV 4 drew."""
    from fractions import Fraction

    import av

    width, height = 1280, 720
    compositor = VideoCompositor(width, height)
    name, role, case = "Айгерім Бекова", "свидетель", "Дело №2-123/2026"
    frame = compositor.compose([Tile("a", name, role, None, placeholder="")],
                               Caption(case, "2026-12-06 10:02:03 UTC+5", False))
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = Fraction(1, 15)
    encoder.options = {"preset": "veryfast", "qp": "18"}
    picture = av.VideoFrame.from_ndarray(frame, format="yuv420p")
    packets = list(encoder.encode(picture)) + list(encoder.encode(None))
    decoder = av.CodecContext.create("h264", "r")
    decoded = [f for p in packets for f in decoder.decode(p)] + list(decoder.decode(None))
    luma = decoded[0].to_ndarray(format="gray").astype(np.int16)

    def expected(text: str, size: float) -> np.ndarray:
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, 1)
        canvas = np.zeros((th + base + 8, tw + 8), np.uint8)
        cv2.putText(canvas, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, size, 255, 1, cv2.LINE_AA)
        return canvas

    def best_match(template: np.ndarray, region: np.ndarray) -> float:
        region8 = np.clip(region, 0, 255).astype(np.uint8)
        return float(cv2.matchTemplate(region8, template, cv2.TM_CCOEFF_NORMED).max())

    label_size = max(0.55, min(1.4, 0.09 * (height - compositor.bar) / 27))
    label = expected(f"{name}  ({role})", label_size)
    question_marks = expected("?" * len(name) + f"  ({'?' * len(role)})", label_size)
    bottom = luma[height - 120:height]
    drawn, replaced = best_match(label, bottom), best_match(question_marks, bottom)
    assert drawn > 0.9 and replaced < 0.6, (drawn, replaced)
    caption = expected(f"Case {case}", 0.85)
    bar = luma[:compositor.bar]
    drawn, replaced = best_match(caption, bar), best_match(expected(f"Case {'?' * 4} ?2-123/2026", 0.85), bar)
    assert drawn > 0.9 and replaced < drawn - 0.15, (drawn, replaced)


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
