"""Kazakh, Russian and English: every key in every catalog, every key the pages use in the catalogs, the
court's clock and the picture's words."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from hearing_server.config import ConfigError, Settings, validate
from hearing_server.i18n import LANGUAGES, catalog, court_clock, court_zone, intl_time_zone, role_name, text
from hearing_server.roles import Role

WEB = Path(__file__).resolve().parent.parent / "web"
PLURAL_FORMS = {"kk": {"one", "other"}, "ru": {"one", "few", "many", "other"}, "en": {"one", "other"}}


def _placeholders(value: object) -> set[str]:
    texts = value.values() if isinstance(value, dict) else [value]
    return {name for t in texts for name in re.findall(r"\{(\w+)\}", str(t))}


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_language_has_every_key_with_the_same_parameters(language):
    english, other = catalog("en"), catalog(language)
    assert sorted(set(english) - set(other)) == [], f"missing in {language}"
    assert sorted(set(other) - set(english)) == [], f"in {language} only"
    for key, value in english.items():
        translated = other[key]
        assert type(translated) is type(value), key
        assert _placeholders(translated) == _placeholders(value), (language, key)
        if isinstance(value, dict):
            assert set(translated) == PLURAL_FORMS[language], (language, key)
        elif value:
            assert translated.strip(), (language, key)


def test_the_catalogs_are_in_their_own_scripts():
    """A Kazakh catalog is Kazakh (its own letters appear), a Russian one has none of them."""
    kazakh_letters = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
    kk = "".join(v if isinstance(v, str) else "".join(v.values()) for v in catalog("kk").values())
    ru = "".join(v if isinstance(v, str) else "".join(v.values()) for v in catalog("ru").values())
    assert len(kazakh_letters & set(kk)) >= 6
    assert not kazakh_letters & set(ru)


def _keys_used_by_the_pages() -> tuple[set[str], set[str]]:
    """Literal keys (data-i18n, t("…"), say(node, "…"), banner("…")) and template prefixes (`join.final.${…}`)."""
    literal, prefixes = set(), set()
    for page in WEB.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        literal |= set(re.findall(r'data-i18n="([\w.-]+)"', html))
        for pairs in re.findall(r'data-i18n-attrs="([^"]+)"', html):
            literal |= {pair.split(":", 1)[1] for pair in pairs.split()}
    key = r'["\']((?:[a-z_]+\.)+[\w-]+)["\']'
    for script in WEB.glob("*.js"):
        js = script.read_text(encoding="utf-8")
        literal |= set(re.findall(r'\bt\(' + key, js))
        literal |= set(re.findall(r'\bsay\([^,]+,\s*' + key, js))
        literal |= set(re.findall(r'\bbanner\(' + key, js))
        literal |= set(re.findall(r'\?\s*' + key + r'\s*:', js))  # cond ? "a.b" : "c.d"
        literal |= set(re.findall(r':\s*' + key + r'\)', js))
        literal |= set(re.findall(r'reconnect\(' + key, js))
        literal |= set(re.findall(r'restart\(' + key, js))
        prefixes |= set(re.findall(r'`((?:[a-z_]+\.)+)\$\{', js))
    return literal, prefixes


def test_every_key_a_page_uses_is_in_the_catalogs():
    english = catalog("en")
    literal, prefixes = _keys_used_by_the_pages()
    assert len(literal) > 60  # the scan found the pages' keys at all
    assert sorted(k for k in literal if k not in english) == []
    namespaces = {k.split(".", 1)[0] for k in english}
    for prefix in prefixes:  # `join.final.${kind}.title`: at least one key under it (storage keys are not)
        if prefix.split(".", 1)[0] in namespaces:
            assert any(k.startswith(prefix) for k in english), prefix


def test_the_join_pages_final_screens_and_camera_notices_all_have_texts():
    english = catalog("en")
    js = (WEB / "join.js").read_text(encoding="utf-8")
    final = re.search(r"const FINAL = \{(.*?)\};", js, re.S)
    assert final is not None
    for kind in re.findall(r"([\w-]+): \"", final.group(1)):
        assert f"join.final.{kind}.title" in english and f"join.final.{kind}.text" in english, kind
    notices = re.search(r"const MEDIA_NOTICES = \[(.*?)\];", js, re.S)
    assert notices is not None
    for problem in re.findall(r'"([\w-]+)"', notices.group(1)):
        for part in ("title", "text", "lobby"):
            assert f"join.media.{problem}.{part}" in english, (problem, part)


def test_roles_and_the_pictures_words_in_each_language():
    assert role_name("kk", "witness") == "Куә"
    assert role_name("ru", "witness") == "Свидетель"
    assert role_name("en", "witness") == "Witness"
    for language in LANGUAGES:
        for role in Role:
            assert role_name(language, role.value) != f"role.{role.value}", (language, role)
    assert text("kk", "picture.case", number="№2-123/2026") == "Іс №2-123/2026"
    assert text("en", "no.such.key") == "no.such.key"


def test_the_court_clock_is_local_time_with_its_offset():
    moment = datetime(2026, 12, 6, 5, 2, 3, tzinfo=timezone.utc).timestamp()
    assert court_clock(court_zone("Asia/Almaty"), moment) == "2026-12-06 10:02:03 UTC+5"
    assert court_clock(court_zone("+05:00"), moment) == "2026-12-06 10:02:03 UTC+5"
    assert court_clock(court_zone("+05:30"), moment) == "2026-12-06 10:32:03 UTC+5:30"
    assert court_clock(court_zone("UTC"), moment) == "2026-12-06 05:02:03 UTC"
    assert intl_time_zone("Asia/Almaty") == "Asia/Almaty"
    assert intl_time_zone("+05:00") == "Etc/GMT-5"  # POSIX's sign: five hours east
    with pytest.raises(ValueError):
        court_zone("Mars/Olympus_Mons")


def test_the_court_settings_are_checked_at_start_up():
    settings = Settings()
    settings.court.language = "de"
    with pytest.raises(ConfigError, match="court.language"):
        validate(settings)
    settings = Settings()
    settings.court.time_zone = "Nowhere/Else"
    with pytest.raises(ConfigError, match="court.time_zone"):
        validate(settings)
    settings = Settings()
    settings.court.rejoin_by_link = "sometimes"
    with pytest.raises(ConfigError, match="rejoin_by_link"):
        validate(settings)


def test_the_catalogs_are_valid_json_objects_in_utf8():
    for language in LANGUAGES:
        data = json.loads((WEB / "locales" / f"{language}.json").read_text(encoding="utf-8"))
        assert isinstance(data, dict) and data["language.name"]
