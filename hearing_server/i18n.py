"""The court's languages: one set of JSON catalogs (web/locales/<language>.json) for the pages and the picture.

The pages read the catalogs themselves (web/i18n.js: a key's text, `{name}` parameters, plural forms chosen by
the browser's Intl.PluralRules); the server reads the same files for the words it draws into the composite
(role names, "muted", the recess banner) and for the court's clock. Every language has every key
(tests/test_i18n.py), so a missing translation is a failed build, not an English word on a Kazakh screen.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .resources import web_root

LANGUAGES = ("kk", "ru", "en")
FALLBACK = "en"
_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?$")


@functools.lru_cache(maxsize=None)
def catalog(language: str) -> dict[str, Any]:
    """The language's catalog as shipped (a flat mapping of key to text, or to plural forms)."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalog for language {language!r}")
    path = web_root() / "locales" / f"{language}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a catalog is one JSON object")
    return data


def text(language: str, key: str, **params: object) -> str:
    """The key's text in the language (English if the language lacks it), `{name}` filled from params."""
    value = catalog(language).get(key) if language in LANGUAGES else None
    if not isinstance(value, str):
        value = catalog(FALLBACK).get(key)
    if not isinstance(value, str):
        return key
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), m.group(0))), value)


def role_name(language: str, role: str) -> str:
    """A role as the court's language names it in the picture ("куәгер", "свидетель", "Witness")."""
    return text(language, f"role.{role}")


def court_zone(name: str) -> tzinfo:
    """The court's time zone from its setting: an IANA name ("Asia/Almaty") or an offset ("+05:00")."""
    match = _OFFSET.match(name.strip())
    if match:
        sign, hours, minutes = match.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if offset > timedelta(hours=14):
            raise ValueError(f"{name!r} is not a UTC offset")
        return timezone(-offset if sign == "-" else offset)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is neither a time zone of the tz database nor an offset like +05:00") from None


def intl_time_zone(name: str) -> str:
    """The court's time zone as a browser's Intl.DateTimeFormat takes it: an IANA name as it is; a whole-hour
    offset as its Etc/GMT zone ("+05:00" → "Etc/GMT-5", POSIX's inverted sign); other offsets as "+05:30"."""
    zone = court_zone(name)
    if isinstance(zone, ZoneInfo):
        return zone.key
    sign, hours, minutes = _signed_hours_minutes(zone.utcoffset(None))
    if not minutes:
        return "Etc/GMT" + ("" if hours == 0 else f"{'-' if sign == '+' else '+'}{hours}")
    return f"{sign}{hours:02d}:{minutes:02d}"


def _signed_hours_minutes(offset: timedelta | None) -> tuple[str, int, int]:
    total = int((offset or timedelta(0)).total_seconds() // 60)
    hours, minutes = divmod(abs(total), 60)
    return ("-" if total < 0 else "+"), hours, minutes


def utc_offset_label(moment: datetime) -> str:
    """'UTC+5', 'UTC+5:30', 'UTC' — how the picture names the clock's offset."""
    sign, hours, minutes = _signed_hours_minutes(moment.utcoffset())
    if not hours and not minutes:
        return "UTC"
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def court_clock(zone: tzinfo, epoch: float | None = None) -> str:
    """The picture's clock: the court's local time and its offset ("2026-12-06 10:02:03 UTC+5")."""
    moment = datetime.now(timezone.utc) if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + utc_offset_label(local)
