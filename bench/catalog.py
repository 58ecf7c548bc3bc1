"""The archive's catalog at a million recordings: PostgreSQL against the Python loop it replaced.

Creates a database of its own on the PostgreSQL server (`--database-url`, dropped again at the end, on an
error or Ctrl-C too), brings it to the current schema with the server's own migrations (Database.upgrade),
and bulk-loads `--rows` synthetic recordings of Kazakhstan's courts: 390 courts with Russian or Kazakh names,
their courtrooms, ~1000 judges, case numbers of the three categories ("2-1234/2026" civil, "1-55/2025"
criminal, "КС-2026-00017" administrative), 1–3 sessions a case, hearings opened on working days over three
years, 2–6 participants with Kazakh and Russian names, 1–5 lines of log notes and court events each. The rows
are exactly what Catalog.add writes (the keys by recorder.search_key, the detail JSON, the times): the script
first adds a few through Catalog.add and compares them, column by column, with what it would COPY.

The load: asyncpg COPY (copy_records_to_table) into the migration's tables, its secondary indexes and foreign
keys dropped for the load and re-created afterwards from their own definitions (pg_indexes,
pg_get_constraintdef); recording_texts.tsv is a generated column and is computed by PostgreSQL. Then VACUUM
(ANALYZE): the statistics, and the visibility map an archive that autovacuum keeps has (without it autovacuum
would do the same in the middle of the timed searches).

Then, one table each:
  1. search latency through Catalog.search (the API's code path: the first page of 50 rows, the capped count,
     quoted lines for a full-text search), p50/p95/max over `--queries` runs of varied parameters per query,
     against the previous design measured in the same run: a Python loop over the same rows held in memory
     (their keys folded once at load, which is kinder than the old loop that lower-cased every field on
     every search), substring matches, then a sort by opened_at. ratio = database p50 / loop p50 (< 1: the
     database is faster); "same answer" says how many of the loop's runs returned exactly the database's
     first page and (capped) count. The loop runs `--baseline-queries` of the same parameters (it takes
     seconds a query at a million).
  2. the SQL statements of one first page with 10,000+ hits, and the plan of every query's statements as
     PostgreSQL ran them (auto_explain; generic or custom; the nodes, the indexes used, any sequential scan).
  3. writes: Catalog.add of finished recordings (the upsert with participants and texts, realistic manifests
     with a segment every 4 s) sequentially and with `--concurrency` tasks, a refresh of existing ones, and
     AuditLog.record appends (hash chain under PostgreSQL's advisory lock), then AuditLog.verify over them.
  4. the database's size and the rows and bytes of each table.

    .venv/bin/python bench/catalog.py [--rows 1000000] [--database-url postgresql://postgres@127.0.0.1:5432]
        [--queries 200] [--baseline-queries 10] [--adds 2000] [--audit 2000] [--concurrency 8] [--seed 1]

Quick try: --rows 20000 (a minute). The full million takes about half an hour; on a shared box run it under
`flock /tmp/bench.lock ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import hashlib
import json
import math
import os
import random
import re
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, NamedTuple, Sequence

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))  # ahead of bench/: `recorder` is the package, not bench/recorder.py

from common import percentile, table  # noqa: E402

from recorder.audit import AuditLog  # noqa: E402
from recorder.catalog import TOTAL_CAP, Catalog, Page, Query, manifest_digest  # noqa: E402
from recorder.catalog import _epoch as catalog_epoch  # noqa: E402  (the very function Catalog.add uses)
from recorder.db import Database, database_url  # noqa: E402
from recorder.manifest import Gap, Manifest, ManifestFile, SegmentEntry  # noqa: E402
from recorder.search_key import search_key  # noqa: E402
from recorder.settings import ArchiveSettings  # noqa: E402
from recorder.transcript import utc_iso  # noqa: E402

PAGE = 50  # the API's default page
SEGMENT_SECONDS = 4.0  # recording.segment_seconds
SEGMENT_SIZES = (560_000, 585_000, 600_000, 615_000, 640_000)  # bytes of 4 s at the 1.2 Mbit/s composite
END = datetime(2026, 12, 2, tzinfo=timezone.utc)
START = END - timedelta(days=3 * 365)
UTC_PLUS_5 = 5 * 3600  # Kazakhstan, one zone since 2024: court days 09:00–17:30 local
LOADED_TABLES = ("recordings", "recording_participants", "recording_texts")
COUNTED_TABLES = LOADED_TABLES + ("audit_log",)

# -- synthetic courts, people and notes ------------------------------------------------------------------

# The 17 regions and 3 cities: (the region's court in Russian, "of the region" in Russian, in Kazakh, its
# court in Kazakh).
REGIONS = [
    ("Абайский областной суд", "области Абай", "Абай облысының", "Абай облыстық соты"),
    ("Акмолинский областной суд", "Акмолинской области", "Ақмола облысының", "Ақмола облыстық соты"),
    ("Актюбинский областной суд", "Актюбинской области", "Ақтөбе облысының", "Ақтөбе облыстық соты"),
    ("Алматинский областной суд", "Алматинской области", "Алматы облысының", "Алматы облыстық соты"),
    ("Атырауский областной суд", "Атырауской области", "Атырау облысының", "Атырау облыстық соты"),
    ("Восточно-Казахстанский областной суд", "Восточно-Казахстанской области", "Шығыс Қазақстан облысының",
     "Шығыс Қазақстан облыстық соты"),
    ("Жамбылский областной суд", "Жамбылской области", "Жамбыл облысының", "Жамбыл облыстық соты"),
    ("Жетысуский областной суд", "области Жетісу", "Жетісу облысының", "Жетісу облыстық соты"),
    ("Западно-Казахстанский областной суд", "Западно-Казахстанской области", "Батыс Қазақстан облысының",
     "Батыс Қазақстан облыстық соты"),
    ("Карагандинский областной суд", "Карагандинской области", "Қарағанды облысының", "Қарағанды облыстық соты"),
    ("Костанайский областной суд", "Костанайской области", "Қостанай облысының", "Қостанай облыстық соты"),
    ("Кызылординский областной суд", "Кызылординской области", "Қызылорда облысының", "Қызылорда облыстық соты"),
    ("Мангистауский областной суд", "Мангистауской области", "Маңғыстау облысының", "Маңғыстау облыстық соты"),
    ("Павлодарский областной суд", "Павлодарской области", "Павлодар облысының", "Павлодар облыстық соты"),
    ("Северо-Казахстанский областной суд", "Северо-Казахстанской области", "Солтүстік Қазақстан облысының",
     "Солтүстік Қазақстан облыстық соты"),
    ("Туркестанский областной суд", "Туркестанской области", "Түркістан облысының", "Түркістан облыстық соты"),
    ("Улытауский областной суд", "области Ұлытау", "Ұлытау облысының", "Ұлытау облыстық соты"),
    ("Суд города Астаны", "г. Астаны", "Астана қаласының", "Астана қалалық соты"),
    ("Алматинский городской суд", "г. Алматы", "Алматы қаласының", "Алматы қалалық соты"),
    ("Шымкентский городской суд", "г. Шымкента", "Шымкент қаласының", "Шымкент қалалық соты"),
]
SPECIALISED = [
    ("Специализированный межрайонный экономический суд {ru}", "{kz} мамандандырылған ауданаралық экономикалық соты",
     "civil"),
    ("Специализированный межрайонный административный суд {ru}",
     "{kz} мамандандырылған ауданаралық әкімшілік соты", "administrative"),
    ("Специализированный межрайонный суд по уголовным делам {ru}",
     "{kz} қылмыстық істер жөніндегі мамандандырылған ауданаралық соты", "criminal"),
    ("Специализированный межрайонный суд по делам несовершеннолетних {ru}",
     "{kz} кәмелетке толмағандардың істері жөніндегі мамандандырылған ауданаралық соты", "criminal"),
]
CITY_DISTRICTS = [  # (city in Russian, in Kazakh, [(district court adjective, district in Kazakh)])
    ("г. Алматы", "Алматы қаласының", [("Алмалинский", "Алмалы"), ("Ауэзовский", "Әуезов"),
                                       ("Бостандыкский", "Бостандық"), ("Жетысуский", "Жетісу"),
                                       ("Медеуский", "Медеу"), ("Наурызбайский", "Наурызбай"),
                                       ("Турксибский", "Түрксіб"), ("Алатауский", "Алатау")]),
    ("г. Астаны", "Астана қаласының", [("Алматинский", "Алматы"), ("Есильский", "Есіл"),
                                       ("Сарыаркинский", "Сарыарқа"), ("Байконурский", "Байқоңыр"),
                                       ("Нуринский", "Нұра")]),
    ("г. Шымкента", "Шымкент қаласының", [("Абайский", "Абай"), ("Аль-Фарабийский", "Әл-Фараби"),
                                          ("Енбекшинский", "Еңбекші"), ("Каратауский", "Қаратау"),
                                          ("Туранский", "Тұран")]),
]
TOWNS = [
    ("г. Караганды", "Қарағанды"), ("г. Темиртау", "Теміртау"), ("г. Актобе", "Ақтөбе"), ("г. Атырау", "Атырау"),
    ("г. Костаная", "Қостанай"), ("г. Павлодара", "Павлодар"), ("г. Экибастуза", "Екібастұз"),
    ("г. Усть-Каменогорска", "Өскемен"), ("г. Семея", "Семей"), ("г. Тараза", "Тараз"),
    ("г. Талдыкоргана", "Талдықорған"), ("г. Кызылорды", "Қызылорда"), ("г. Актау", "Ақтау"),
    ("г. Жанаозена", "Жаңаөзен"), ("г. Уральска", "Орал"), ("г. Петропавловска", "Петропавл"),
    ("г. Кокшетау", "Көкшетау"), ("г. Туркестана", "Түркістан"), ("г. Жезказгана", "Жезқазған"),
    ("г. Конаева", "Қонаев"), ("г. Рудного", "Рудный"), ("г. Балхаша", "Балқаш"), ("г. Степногорска", "Степногор"),
    ("г. Риддера", "Риддер"), ("г. Аркалыка", "Арқалық"), ("г. Сатпаева", "Сәтбаев"), ("г. Кентау", "Кентау"),
    ("г. Аксу", "Ақсу"), ("г. Щучинска", "Щучинск"), ("г. Шахтинска", "Шахтинск"),
]
COURTS = 390

KZ_MEN = ["Нұрлан", "Ерлан", "Асқар", "Дәурен", "Бауыржан", "Серік", "Мұрат", "Ержан", "Жандос", "Айдос",
          "Қанат", "Арман", "Талғат", "Ғалым", "Дархан", "Елдос", "Бекзат", "Нұрсұлтан", "Әлібек", "Ерболат"]
KZ_WOMEN = ["Айгерім", "Гүлназ", "Әсем", "Жанар", "Динара", "Айжан", "Мөлдір", "Ақбота", "Сәуле", "Гүлнар",
            "Назерке", "Аружан", "Жұлдыз", "Айнұр", "Меруерт", "Дана", "Камила", "Балжан", "Гүлмира", "Әйгерім"]
KZ_SURNAMES = ["Беков", "Сейітов", "Ахметов", "Нұрланов", "Жақсылықов", "Омаров", "Сәрсенбаев", "Қасымов",
               "Әбенов", "Ержанов", "Мұхамеджанов", "Исабеков", "Серікбаев", "Жұмабаев", "Оспанов",
               "Құдайбергенов", "Төлеуов", "Байжанов", "Есенов", "Ибраимов", "Мамыров", "Абдрахманов",
               "Сұлтанов", "Тұрсынов", "Қалиев", "Нұрпейісов", "Смағұлов", "Әміров", "Жүсіпов", "Бейсенов"]
RU_MEN = ["Пётр", "Иван", "Сергей", "Алексей", "Дмитрий", "Андрей", "Николай", "Владимир", "Михаил",
          "Александр", "Евгений", "Олег", "Виктор", "Артём", "Максим"]
RU_WOMEN = ["Анна", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Мария", "Екатерина", "Юлия",
            "Людмила", "Галина"]
RU_SURNAMES = ["Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов", "Михайлов",
               "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов",
               "Козлов", "Степанов", "Николаев"]
UNCHANGING_SURNAMES = ["Ким", "Пак", "Цой", "Шевченко", "Бондаренко"]  # the same for women and men
PATRONYMICS = [("Сергеевич", "Сергеевна"), ("Алексеевич", "Алексеевна"), ("Николаевич", "Николаевна"),
               ("Владимирович", "Владимировна"), ("Викторович", "Викторовна"), ("Петрович", "Петровна"),
               ("Нурланович", "Нурлановна"), ("Ерланович", "Ерлановна"), ("Серикович", "Сериковна"),
               ("Муратович", "Муратовна"), ("Бауржанович", "Бауржановна"), ("Кайратович", "Кайратовна")]
ROLES = {  # the parties a hearing of the category has first, then who else may join
    "criminal": (["prosecutor", "defendant", "lawyer"], ["witness", "witness", "interpreter", "observer"]),
    "civil": (["plaintiff", "defendant"], ["lawyer", "lawyer", "witness", "interpreter", "observer"]),
    "administrative": (["plaintiff", "defendant"], ["lawyer", "witness", "observer"]),
}
TITLES = {
    "criminal": ["Обвинение по ст. 188 УК РК (кража)", "Обвинение по ст. 190 УК РК (мошенничество)",
                 "ҚР ҚК 293-бабы бойынша айыптау (бұзақылық)", "Обвинение по ст. 106 УК РК"],
    "civil": ["Иск о взыскании задолженности", "О расторжении брака", "Қарызды өндіріп алу туралы талап арыз",
              "О защите прав потребителей", "Иск о возмещении ущерба"],
    "administrative": ["Об оспаривании решения акимата", "Салық органының шешіміне шағым",
                       "Об оспаривании постановления о наложении штрафа"],
}
NOTES = [  # (note kind or "event", text): {n} an exhibit number, {name} a participant, {surname} theirs
    ("exhibit", "Приобщено вещественное доказательство №{n}"),
    ("exhibit", "Exhibit {n} shown to the witness"),
    ("exhibit", "№{n} заттай дәлел іс материалдарына қосылды"),
    ("note", "Допрошен свидетель {surname}"),
    ("note", "Свидетель предупреждён об уголовной ответственности за дачу заведомо ложных показаний"),
    ("note", "Куә {name} жауап берді"),
    ("note", "Оглашено исковое заявление"),
    ("note", "Стороны заявили ходатайство об отложении рассмотрения дела"),
    ("note", "Тараптар татуласу келісімін жасады"),
    ("note", "Переводчик предупреждён об ответственности за заведомо неправильный перевод"),
    ("note", "Эксперт {surname} представил заключение"),
    ("objection", "Objection: leading question"),
    ("objection", "Возражение защиты: вопрос наводящий"),
    ("objection", "Прокурордың қарсылығы қабылданды"),
    ("ruling", "Суд определил: ходатайство удовлетворить"),
    ("ruling", "Суд удалился в совещательную комнату"),
    ("ruling", "Сот шешімі жарияланды"),
    ("recess", "Перерыв до {hh}:{mm}"),
    ("recess", "Үзіліс {m} минут"),
    ("event", "Hearing opened"),
    ("event", "{name} ({role}) joined"),
]
# Words a clerk looks for, each in the exact form the notes have it (stemming aside, the loop's whole-word
# match and PostgreSQL's tsquery then find the same lines).
TEXT_QUERIES = ["доказательство", "exhibit 7", "свидетель", "ходатайство", "заттай дәлел", "куә",
                "совещательную комнату", "objection"]
TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
                    "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh sch  y  e yu ya a g k n o u u h i"
                    .split(" ")))


class Draw(random.Random):
    """random.Random with cheaper picks (the generator makes tens of millions)."""

    def pick(self, items: Sequence[Any]) -> Any:
        return items[int(self.random() * len(items))]

    def between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))


def latin(word: str) -> str:
    return "".join(TRANSLIT.get(ch, ch) for ch in word.lower())


@dataclass
class Judge:
    username: str
    name: str  # surname, first name, patronymic
    key: str  # as Catalog.add folds it: username and name

    @property
    def short(self) -> str:  # what a clerk types: surname and first name
        return " ".join(self.name.split()[:2])


@dataclass
class Court:
    name: str
    kazakh: bool
    weight: float
    category: str  # "" a general court (any category), else the one its cases are
    rooms: list[str] = field(default_factory=list)
    judges: list[Judge] = field(default_factory=list)


def court_names() -> list[tuple[str, bool, float, str]]:
    """390 distinct courts: (name, Kazakh?, weight, category); Russian and Kazakh names alternate."""
    courts: list[tuple[str, bool, float, str]] = []
    for i, (ru_court, _, _, kz_court) in enumerate(REGIONS):
        courts.append((kz_court, True, 1.5, "") if i % 2 else (ru_court, False, 1.5, ""))
    for i, (_, ru, kz, _) in enumerate(REGIONS):
        for j, (ru_name, kz_name, category) in enumerate(SPECIALISED):
            kazakh = bool((i + j) % 2)
            courts.append((kz_name.format(kz=kz) if kazakh else ru_name.format(ru=ru), kazakh, 1.0, category))
    for ru_city, kz_city, districts in CITY_DISTRICTS:
        for j, (adjective, kz_district) in enumerate(districts):
            courts.append((f"{kz_city} {kz_district} аудандық соты", True, 2.0, "") if j % 2
                          else (f"{adjective} районный суд {ru_city}", False, 2.0, ""))
    places = [(ru, kz, 1.8) for ru, kz, _ in CITY_DISTRICTS] + [(ru, f"{kz} қаласының", 1.0) for ru, kz in TOWNS]
    for i, (ru, kz, weight) in enumerate(places[3:]):
        courts.append((f"{kz.split()[0]} қалалық соты", True, weight, "") if i % 2
                      else (f"Городской суд {ru}", False, weight, ""))
    number = 1
    while len(courts) < COURTS:
        for ru, kz, weight in places:
            if len(courts) < COURTS:
                courts.append((f"{kz} №{number} аудандық соты", True, weight, "") if number % 2 == 0
                              else (f"Районный суд №{number} {ru}", False, weight, ""))
        number += 1
    assert len({c[0] for c in courts}) == COURTS
    return courts


def person(rng: Draw, formal: bool = False) -> tuple[str, str]:
    """(full name, surname). Kazakh names "Айгерім Бекова" or formally "Бекова Айгерім Нұрланқызы", Russian ones
    "Иванов Пётр (Сергеевич)"; `formal` (judges): surname, first name and a patronymic in -ович/-овна."""
    woman = rng.random() < 0.5
    kazakh = rng.random() < 0.65
    if kazakh:
        first = rng.pick(KZ_WOMEN if woman else KZ_MEN)
        surname = rng.pick(KZ_SURNAMES) + ("а" if woman else "")
    else:
        first = rng.pick(RU_WOMEN if woman else RU_MEN)
        surname = rng.pick(UNCHANGING_SURNAMES) if rng.random() < 0.15 else \
            rng.pick(RU_SURNAMES) + ("а" if woman else "")
    if formal:
        return f"{surname} {first} {rng.pick(PATRONYMICS)[woman]}", surname
    if kazakh:
        if rng.random() < 0.4:
            return f"{surname} {first} {rng.pick(KZ_MEN)}{'қызы' if woman else 'ұлы'}", surname
        return f"{first} {surname}", surname
    if rng.random() < 0.5:
        return f"{surname} {first} {rng.pick(PATRONYMICS[:6])[woman]}", surname
    return f"{surname} {first}", surname


def make_courts(rng: Draw, judges: int = 1000) -> list[Court]:
    courts = [Court(name, kazakh, weight * rng.lognormvariate(0, 0.5), category)
              for name, kazakh, weight, category in court_names()]
    total = sum(c.weight for c in courts)
    usernames: set[str] = set()
    for court in courts:
        numbers = sorted({f"{rng.between(1, 4)}{rng.between(1, 15):02d}"
                          for _ in range(max(2, min(12, round(6 * court.weight))))})
        court.rooms = [f"№{n} зал" if court.kazakh else f"Зал №{n}" for n in numbers]
        for _ in range(max(1, round(judges * court.weight / total))):
            name, _ = person(rng, formal=True)
            surname, first, middle = name.split()
            username = f"{latin(surname)}.{latin(first)[0]}{latin(middle)[0]}"
            while username in usernames:
                username += str(rng.between(0, 9))
            usernames.add(username)
            court.judges.append(Judge(username, name, search_key(f"{username} {name}")))
    return courts


@dataclass
class SigningKey:
    key_id: str
    public_key: str


@dataclass
class Synthetic:
    """One finished recording, from which both the COPY rows and the Manifest for Catalog.add are made."""

    hearing_id: str
    case_number: str
    category: str
    title: str
    court: Court
    courtroom: str
    judge: Judge
    opened_iso: str
    closed_iso: str
    status: str
    end: float  # the hearing clock when the last segment ended
    segment_size: int
    participants: list[dict[str, Any]]
    texts: list[tuple[float, str, str]]
    gaps: list[Gap]
    files: list[ManifestFile]
    digest: str
    last_chain: str
    key: SigningKey

    @property
    def segments(self) -> int:
        return max(1, math.ceil(self.end / SEGMENT_SECONDS))

    @property
    def size(self) -> int:
        return self.segment_size * self.segments + sum(f.size for f in self.files)

    def detail(self) -> dict[str, Any]:  # as Catalog.add builds it
        return {"participants": self.participants, "gaps": [g.__dict__ for g in self.gaps], "pauses": [],
                "files": [f.__dict__ for f in self.files],
                "signature": {"algorithm": "Ed25519", "public_key": self.key.public_key, "key_id": self.key.key_id}}


@lru_cache(maxsize=1 << 18)
def fold(value: str) -> str:
    return search_key(value)


def hex_digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class Archive:
    """A deterministic stream of synthetic recordings (same seed, same data), with samples of what clerks
    search for."""

    def __init__(self, seed: int) -> None:
        self.rng = Draw(seed)
        self.samples = random.Random(seed + 1)
        self.courts = make_courts(self.rng)
        self.cumulative: list[float] = []
        running = 0.0
        for court in self.courts:
            running += court.weight
            self.cumulative.append(running)
        self.keys = [self._key(i) for i in range(4)]  # four nodes' signing keys
        self.counters: dict[tuple[str, str, int], int] = {}
        self.case_numbers: list[str] = []
        self.names: list[str] = []
        self.made = 0
        self.queue: list[Synthetic] = []

    def _key(self, index: int) -> SigningKey:
        public = self.rng.randbytes(32)
        return SigningKey(hashlib.sha256(public).hexdigest()[:16], base64.b64encode(public).decode())

    def take(self, count: int) -> list[Synthetic]:
        """The next `count` recordings."""
        while len(self.queue) < count:
            self.queue.extend(self._case())
        taken, self.queue = self.queue[:count], self.queue[count:]
        self.made += len(taken)
        return taken

    def _case(self) -> list[Synthetic]:
        rng = self.rng
        court = rng.choices(self.courts, cum_weights=self.cumulative)[0]
        category = court.category or rng.choices(("civil", "criminal", "administrative"), (55, 20, 25))[0]
        opened = self._working_time(START.timestamp() + rng.random() * ((END - START).total_seconds() - 60 * 86400))
        number = self._case_number(court, category, datetime.fromtimestamp(opened, timezone.utc).year)
        judge = rng.pick(court.judges)
        people = self._people(category)
        room = rng.pick(court.rooms)
        sessions: list[Synthetic] = []
        for _ in range(rng.choices((1, 2, 3), (60, 30, 10))[0]):
            if opened >= END.timestamp():
                break
            if rng.random() < 0.3:
                room = rng.pick(court.rooms)
            sessions.append(self._recording(court, category, number, judge, room, people, opened))
            opened = self._working_time(opened + rng.uniform(7, 45) * 86400)
        self._sample(number, people)
        return sessions

    def _working_time(self, epoch: float) -> float:
        day = datetime.fromtimestamp(epoch + UTC_PLUS_5, timezone.utc).date()
        while day.weekday() >= 5:
            day += timedelta(days=1)
        local = datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() - UTC_PLUS_5
        return local + 9 * 3600 + int(self.rng.random() * (8 * 3600 + 1800)) + int(self.rng.random() * 1000) / 1000

    def _case_number(self, court: Court, category: str, year: int) -> str:
        key = (court.name, category, year)
        n = self.counters[key] = self.counters.get(key, 0) + 1
        if category == "civil":
            return f"2-{n}/{year}"
        if category == "criminal":
            return f"1-{n}/{year}"
        return f"КС-{year}-{n:05d}"

    def _people(self, category: str) -> list[tuple[str, str, str]]:
        first, more = ROLES[category]
        count = self.rng.between(2, 6)
        roles = (first + self.rng.sample(more, len(more)) + ["witness"] * 6)[:count]
        return [(*person(self.rng), role) for role in roles]

    def _recording(self, court: Court, category: str, number: str, judge: Judge, room: str,
                   people: list[tuple[str, str, str]], opened: float) -> Synthetic:
        rng = self.rng
        hid = "h_" + base64.urlsafe_b64encode(rng.randbytes(9)).decode()
        end = round(min(4 * 3600.0, max(300.0, rng.lognormvariate(math.log(35 * 60), 0.7))), 3)
        opened_iso = utc_iso(opened)
        closed_iso = utc_iso(opened + end + rng.uniform(0, 600))
        interrupted = rng.random() < 0.03
        participants = [{"id": "p_" + base64.urlsafe_b64encode(rng.randbytes(9)).decode(), "name": name,
                         "role": role, "first_in": utc_iso(opened + 5 * i), "first_offset": 5.0 * i}
                        for i, (name, _, role) in enumerate(people)]
        gaps = [Gap(end, None, "the server stopped unexpectedly; nothing was recorded after this point",
                    closed_iso, "")] if interrupted else []
        segment_size = rng.pick(SEGMENT_SIZES)
        files = [ManifestFile("hearing.mp4", segment_size * max(1, math.ceil(end / SEGMENT_SECONDS)) + 40_000,
                              hex_digest(hid, "hearing.mp4")),
                 ManifestFile("transcript.json", rng.between(2_000, 40_000), hex_digest(hid, "transcript.json")),
                 ManifestFile("transcript.vtt", rng.between(1_000, 20_000), hex_digest(hid, "transcript.vtt"))]
        return Synthetic(hid, number, category, rng.pick(TITLES[category]), court, room, judge, opened_iso,
                         closed_iso, "interrupted" if interrupted else "final", end, segment_size, participants,
                         self._texts(people, end), gaps, files, hex_digest(hid, "manifest"),
                         hex_digest(hid, "chain"), rng.pick(self.keys))

    def _texts(self, people: list[tuple[str, str, str]], end: float) -> list[tuple[float, str, str]]:
        rng = self.rng
        lines = []
        for offset in sorted(round(rng.random() * end, 3) for _ in range(rng.between(1, 5))):
            kind, template = rng.pick(NOTES)
            name, surname, role = rng.pick(people)
            fields: dict[str, Any] = {"name": name, "surname": surname, "role": role}
            if "{n}" in template:
                fields["n"] = min(40, int(rng.expovariate(1 / 6)) + 1)
            if "{hh}" in template:
                fields.update(hh=rng.between(10, 17), mm=rng.pick(("00", "15", "30", "45")))
            if "{m}" in template:
                fields["m"] = rng.pick((10, 15, 20, 30))
            lines.append((offset, kind, template.format(**fields)))
        return lines

    def _sample(self, number: str, people: list[tuple[str, str, str]]) -> None:
        """Keep up to 2,000 case numbers and names seen (reservoir), to search for."""
        for pool, value in ((self.case_numbers, number), (self.names, self.samples.choice(people)[0])):
            if len(pool) < 2000:
                pool.append(value)
            elif (slot := self.samples.randrange(self.made + 1)) < 2000:
                pool[slot] = value


# -- the rows: COPY, Catalog.add and the loop ---------------------------------------------------------

RECORDING_COLUMNS = ("hearing_id", "case_number", "case_key", "case_category", "title", "court", "court_key",
                     "courtroom", "courtroom_key", "judge", "judge_name", "judge_key", "opened_at", "closed_at",
                     "opened_iso", "closed_iso", "status", "duration", "segments", "gaps", "size_bytes",
                     "manifest_sha256", "last_chain", "signature_key_id", "detail", "indexed_at")
PARTICIPANT_COLUMNS = ("hearing_id", "name", "name_key", "role")
TEXT_COLUMNS = ("hearing_id", "offset", "kind", "text")


def recording_row(s: Synthetic, indexed_at: float) -> tuple[Any, ...]:
    """The recordings row Catalog.add writes (the detail as SQLAlchemy's JSON type serialises it)."""
    return (s.hearing_id, s.case_number, search_key(s.case_number), s.category, s.title, s.court.name,
            fold(s.court.name), s.courtroom, fold(s.courtroom), s.judge.username, s.judge.name, s.judge.key,
            catalog_epoch(s.opened_iso) or 0.0, catalog_epoch(s.closed_iso), s.opened_iso, s.closed_iso, s.status,
            s.end, s.segments, len(s.gaps), s.size, s.digest, s.last_chain, s.key.key_id, json.dumps(s.detail()),
            indexed_at)


def participant_rows(s: Synthetic) -> list[tuple[str, str, str, str]]:
    return [(s.hearing_id, str(p["name"]), fold(str(p["name"])), str(p["role"])) for p in s.participants]


def text_rows(s: Synthetic) -> list[tuple[str, float, str, str]]:
    return [(s.hearing_id, offset, kind, words) for offset, kind, words in s.texts if words.strip()]


@lru_cache(maxsize=None)
def segment_entry(index: int, size: int) -> SegmentEntry:
    """A full 4 s segment, shared by the manifests that have it (thousands of manifests stay small)."""
    return SegmentEntry(index, f"segment-{index:06d}.mp4", index * SEGMENT_SECONDS, (index + 1) * SEGMENT_SECONDS,
                        size, hex_digest("segment", str(index), str(size)), hex_digest("chain", str(index), str(size)))


def to_manifest(s: Synthetic) -> Manifest:
    """The signed manifest the recorder would have written (a segment every 4 s; the catalog does not check the
    signature's value)."""
    last = s.segments - 1
    segments = [segment_entry(i, s.segment_size) for i in range(last)]
    segments.append(SegmentEntry(last, f"segment-{last:06d}.mp4", last * SEGMENT_SECONDS, s.end, s.segment_size,
                                 hex_digest(s.hearing_id, "last segment"), s.last_chain))
    return Manifest(hearing_id=s.hearing_id, case_number=s.case_number, title=s.title, case_category=s.category,
                    court=s.court.name, courtroom=s.courtroom, judge=s.judge.username, judge_name=s.judge.name,
                    opened_at=s.opened_iso, closed_at=s.closed_iso, status=s.status, participants=s.participants,
                    segments=segments, gaps=s.gaps, pauses=[], files=s.files,
                    signature={"algorithm": "Ed25519", "public_key": s.key.public_key, "key_id": s.key.key_id,
                               "value": base64.b64encode(hashlib.sha512(s.digest.encode()).digest()).decode()})


class Row(NamedTuple):
    """The previous design's record of a recording, its keys folded once (a tuple: a million stay small)."""

    hearing_id: str
    case: str
    court: str
    courtroom: str
    judge: str
    opened_at: float
    names: str  # the participants' names, one a line
    lines: str  # the text lines, one a line


def loop_row(s: Synthetic) -> Row:
    return Row(s.hearing_id, search_key(s.case_number), fold(s.court.name), fold(s.courtroom), s.judge.key,
               catalog_epoch(s.opened_iso) or 0.0, "\n".join(fold(str(p["name"])) for p in s.participants),
               "\n".join(fold(words) for _, _, words in s.texts if words.strip()))


# -- database -------------------------------------------------------------------------------------------


@dataclass
class Server:
    """The PostgreSQL server and this run's own database on it."""

    url: str  # postgresql://user@host:port (any database name in it is replaced)
    name: str = field(default_factory=lambda: f"courtroom_bench_{uuid.uuid4().hex[:10]}")

    def dsn(self, database: str | None = None) -> str:
        url = make_url(self.url).set(drivername="postgresql", database=database or self.name)
        return url.render_as_string(hide_password=False)

    async def create(self) -> None:
        admin = await asyncpg.connect(self.dsn("postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()

    async def drop(self) -> None:
        admin = await asyncpg.connect(self.dsn("postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


async def deferred_definitions(conn: asyncpg.Connection) -> tuple[list[str], list[str]]:
    """Drop the loaded tables' secondary indexes and foreign keys; return the statements that re-create them."""
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1::text[]) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u')) ORDER BY indexname",
        list(LOADED_TABLES))
    keys = await conn.fetch(
        "SELECT conrelid::regclass::text AS tab, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text = ANY($1::text[]) ORDER BY conname", list(LOADED_TABLES))
    for key in keys:
        await conn.execute(f'ALTER TABLE {key["tab"]} DROP CONSTRAINT "{key["conname"]}"')
    for index in indexes:
        await conn.execute(f'DROP INDEX "{index["indexname"]}"')
    return ([i["indexdef"] for i in indexes],
            [f'ALTER TABLE {k["tab"]} ADD CONSTRAINT "{k["conname"]}" {k["def"]}' for k in keys])


@dataclass
class LoadReport:
    recordings: int = 0
    participants: int = 0
    texts: int = 0
    copy_s: float = 0.0
    generate_s: float = 0.0  # of which the generator's own time (a thread, overlapping the COPY)
    index_s: float = 0.0
    keys_s: float = 0.0
    analyze_s: float = 0.0
    busy: float = float("nan")

    @property
    def total_s(self) -> float:
        return self.copy_s + self.index_s + self.keys_s + self.analyze_s


class Loader:
    """COPY chunks of synthetic recordings while the next chunk is generated; the loop's rows are kept."""

    def __init__(self, archive: Archive, rows: int, chunk: int) -> None:
        self.archive = archive
        self.rows = rows
        self.chunk = chunk
        self.loop_rows: list[Row] = []
        self.report = LoadReport()

    def _next(self) -> tuple[list[tuple], list[tuple], list[tuple]] | None:
        started = time.perf_counter()
        wanted = min(self.chunk, self.rows - self.archive.made)
        if wanted <= 0:
            return None
        now = time.time()
        recordings, people, lines = [], [], []
        for s in self.archive.take(wanted):
            recordings.append(recording_row(s, now))
            people.extend(participant_rows(s))
            lines.extend(text_rows(s))
            self.loop_rows.append(loop_row(s))
        self.report.generate_s += time.perf_counter() - started
        return recordings, people, lines

    async def load(self, conn: asyncpg.Connection, others: Sequence[asyncpg.Connection]) -> LoadReport:
        report = self.report
        busy = BusyCores()
        indexes, keys = await deferred_definitions(conn)
        started = time.perf_counter()
        pending = asyncio.ensure_future(asyncio.to_thread(self._next))
        while (chunk := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(self._next))
            recordings, people, lines = chunk
            await conn.copy_records_to_table("recordings", records=recordings, columns=RECORDING_COLUMNS)
            await conn.copy_records_to_table("recording_participants", records=people, columns=PARTICIPANT_COLUMNS)
            await conn.copy_records_to_table("recording_texts", records=lines, columns=TEXT_COLUMNS)
            report.recordings += len(recordings)
            report.participants += len(people)
            report.texts += len(lines)
            progress(f"copied {report.recordings:,} of {self.rows:,} recordings")
        report.copy_s = time.perf_counter() - started
        report.index_s = await timed(run_spread([conn, *others], indexes))
        report.keys_s = await timed(run_spread([conn], keys))
        report.analyze_s = await timed(conn.execute(f"VACUUM (ANALYZE) {', '.join(LOADED_TABLES)}"))
        report.busy = busy()
        progress("")
        return report


async def run_spread(conns: Sequence[asyncpg.Connection], statements: list[str]) -> None:
    """Run the statements, as many at once as there are connections."""
    queue = list(statements)

    async def worker(conn: asyncpg.Connection) -> None:
        while queue:
            await conn.execute(queue.pop(0))

    await asyncio.gather(*(worker(c) for c in conns))


async def timed(work: Awaitable[Any]) -> float:
    started = time.perf_counter()
    await work
    return time.perf_counter() - started


async def check_rows(db: Database, conn: asyncpg.Connection, seed: int, count: int = 20) -> tuple[int, int]:
    """Add `count` recordings through Catalog.add and compare what it wrote with the rows this script would
    COPY; remove them again. Returns (identical, count)."""
    samples = Archive(seed).take(count)
    catalog = Catalog(db)
    for s in samples:
        await catalog.add(to_manifest(s), s.texts, digest=s.digest)
    identical = 0
    columns = ", ".join(f'"{c}"' for c in RECORDING_COLUMNS)
    for s in samples:
        stored = await conn.fetchrow(f"SELECT {columns} FROM recordings WHERE hearing_id = $1", s.hearing_id)
        people = await conn.fetch("SELECT hearing_id, name, name_key, role FROM recording_participants "
                                  "WHERE hearing_id = $1 ORDER BY id", s.hearing_id)
        lines = await conn.fetch('SELECT hearing_id, "offset", kind, text FROM recording_texts WHERE hearing_id = $1 '
                                 "ORDER BY id", s.hearing_id)
        mine = recording_row(s, 0.0)
        same = tuple(stored)[:-1] == mine[:-1]  # all but indexed_at
        same = same and [tuple(p) for p in people] == participant_rows(s)
        same = same and [tuple(t) for t in lines] == text_rows(s)
        if not same:
            for name, a, b in zip(RECORDING_COLUMNS, tuple(stored), mine):
                if a != b and name != "indexed_at":
                    print(f"  differs: {s.hearing_id} {name}: Catalog.add {a!r} != COPY {b!r}")
        identical += same
    await conn.execute("DELETE FROM recordings WHERE hearing_id = ANY($1::text[])", [s.hearing_id for s in samples])
    return identical, count


# -- searches -------------------------------------------------------------------------------------------


@dataclass
class Search:
    query: Query
    page: int = 1  # 1, 2 or 100: later pages follow the cursor of the page before (keyset pagination)


@dataclass
class Kind:
    label: str
    searches: list[Search]

    def example(self) -> str:
        q = self.searches[0].query
        parts = [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in q.__dict__.items()
                 if v and k != "case_prefix"]
        if q.case_prefix:
            parts.append("prefix")
        if self.searches[0].page > 1:
            parts.append(f"page {self.searches[0].page}")
        return ", ".join(parts) or "(none)"


def months() -> list[tuple[date, date]]:
    first = date(START.year, START.month, 1)
    spans = []
    while first < END.date():
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        if first >= START.date():
            spans.append((first, following - timedelta(days=1)))
        first = following
    return spans


def plan_searches(archive: Archive, runs: int, seed: int) -> list[Kind]:
    rng = random.Random(seed)
    courts = archive.courts
    rooms = sorted({room for c in courts for room in c.rooms})
    judges = [j for c in courts for j in c.judges]
    spans = months()
    years = [(date(y, 1, 1), min(date(y, 12, 31), END.date())) for y in range(START.year + 1, END.year + 1)]

    def prefix(number: str) -> str:
        return number.split("/")[0] if "/" in number else number[:-2]

    def contains(number: str) -> str:
        return number.split("-", 1)[1]

    def repeat(make: Callable[[], Search]) -> list[Search]:
        return [make() for _ in range(runs)]

    def year(page: int) -> list[Search]:
        return [Search(Query(date_from=lo, date_to=hi), page) for lo, hi in (years[i % len(years)]
                                                                             for i in range(runs))]

    def span() -> tuple[date, date]:
        return rng.choice(spans)

    return [
        Kind("case number prefix", repeat(lambda: Search(Query(case_number=prefix(rng.choice(archive.case_numbers)),
                                                               case_prefix=True)))),
        Kind("case number contains", repeat(lambda: Search(Query(case_number=contains(
            rng.choice(archive.case_numbers)))))),
        Kind("court", repeat(lambda: Search(Query(court=rng.choice(courts).name)))),
        Kind("courtroom", repeat(lambda: Search(Query(courtroom=rng.choice(rooms))))),
        Kind("judge (surname, first name)", repeat(lambda: Search(Query(judge=rng.choice(judges).short)))),
        Kind("participant name contains", repeat(lambda: Search(Query(participant=rng.choice(archive.names))))),
        Kind("one month", repeat(lambda: Search(Query(date_from=(s := span())[0], date_to=s[1])))),
        Kind("court + one month", repeat(lambda: Search(Query(court=rng.choice(courts).name,
                                                              date_from=(s := span())[0], date_to=s[1])))),
        Kind("full text", [Search(Query(text=TEXT_QUERIES[i % len(TEXT_QUERIES)])) for i in range(runs)]),
        Kind("one year (10,000+ hits), page 1", year(1)),
        Kind("one year, page 2 (cursor)", year(2)),
        Kind("one year, page 100 (cursor)", year(100)),
        Kind("no filter: newest 50", [Search(Query()) for _ in range(runs)]),
    ]


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    hits: list[int] = field(default_factory=list)
    capped: int = 0
    pages: list[list[str]] = field(default_factory=list)  # the first page of each run

    def ms(self, p: float) -> float:
        return percentile(self.seconds, p) * 1000

    def hits_text(self) -> str:
        value = int(percentile(self.hits, 50))
        return f"{TOTAL_CAP:,}+" if self.capped * 2 > len(self.hits) else f"{value:,}"


def agreeing(db: Timing, loop: Timing) -> int:
    """The loop's runs that found what the database found: the same first page and the same (capped) count."""
    return sum(page == mine and total == min(hits, TOTAL_CAP)
               for page, total, mine, hits in zip(db.pages, db.hits, loop.pages, loop.hits))


class Cursors:
    """The cursor that starts page N of a query, found once by paging through it."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.known: dict[tuple[str, int], str] = {}

    async def before(self, search: Search) -> str:
        key = (repr(search.query), search.page)
        if search.page == 1:
            return ""
        if key not in self.known:
            cursor = ""
            for _ in range(search.page - 1):
                cursor = (await self.catalog.search(search.query, PAGE, cursor)).next_cursor or ""
            self.known[key] = cursor
        return self.known[key]


async def time_database(catalog: Catalog, kind: Kind, cursors: Cursors) -> Timing:
    timing = Timing()
    for search in kind.searches[:2]:  # warm-up, not counted
        await catalog.search(search.query, PAGE, await cursors.before(search))
    for search in kind.searches:
        cursor = await cursors.before(search)
        started = time.perf_counter()
        page: Page = await catalog.search(search.query, PAGE, cursor)
        timing.seconds.append(time.perf_counter() - started)
        timing.hits.append(page.total)
        timing.capped += page.total_capped
        timing.pages.append([r.hearing_id for r in page.recordings])
    return timing


def whole_word(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")


def day_start(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def loop_filter(query: Query) -> Callable[[Row], bool]:
    """The old catalog's loop, grown to the fields the new one searches: substrings of the folded fields,
    the day range, and for words every word whole in one line."""
    tests: list[Callable[[Row], bool]] = []
    case, court, room = search_key(query.case_number), search_key(query.court), search_key(query.courtroom)
    judge, name = search_key(query.judge), search_key(query.participant)
    if case:
        tests.append((lambda r: r.case.startswith(case)) if query.case_prefix else (lambda r: case in r.case))
    if court:
        tests.append(lambda r: court in r.court)
    if room:
        tests.append(lambda r: room in r.courtroom)
    if judge:
        tests.append(lambda r: judge in r.judge)
    if name:
        tests.append(lambda r: name in r.names)
    if query.date_from:
        low = day_start(query.date_from)
        tests.append(lambda r: r.opened_at >= low)
    if query.date_to:
        high = day_start(query.date_to + timedelta(days=1))
        tests.append(lambda r: r.opened_at < high)
    if query.text:
        words = search_key(query.text).split()
        patterns = [whole_word(w) for w in words]
        tests.append(lambda r: words[0] in r.lines and any(all(p.search(line) for p in patterns)
                                                            for line in r.lines.split("\n")))
    if not tests:
        return lambda r: True
    test = tests[0]
    for more in tests[1:]:
        test = both(test, more)
    return test


def both(first: Callable[[Row], bool], second: Callable[[Row], bool]) -> Callable[[Row], bool]:
    return lambda r: first(r) and second(r)


def loop_search(rows: list[Row], search: Search) -> tuple[list[str], int]:
    """One page as the previous design served it: every row tested, the hits sorted newest first."""
    test = loop_filter(search.query)
    found = [r for r in rows if test(r)]
    found.sort(key=itemgetter(5, 0), reverse=True)  # opened_at, hearing_id: the database's order
    start = (search.page - 1) * PAGE
    return [r.hearing_id for r in found[start:start + PAGE]], len(found)


def time_loop(rows: list[Row], kind: Kind, runs: int) -> Timing:
    timing = Timing()
    for search in kind.searches[:runs]:
        started = time.perf_counter()
        page, hits = loop_search(rows, search)
        timing.seconds.append(time.perf_counter() - started)
        timing.hits.append(hits)
        timing.pages.append(page)
    return timing


# -- statements and plans -------------------------------------------------------------------------------


class StatementLog:
    """The SQL the engine sends while `on`, with its parameters and time."""

    def __init__(self, db: Database) -> None:
        self.on = False
        self.statements: list[tuple[str, Sequence[Any], float]] = []
        self._started = 0.0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(db.engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self._started = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.on:
            self.statements.append((statement, tuple(parameters or ()), time.perf_counter() - self._started))

    async def capture(self, work: Awaitable[Any]) -> list[tuple[str, Sequence[Any], float]]:
        self.statements, self.on = [], True
        try:
            await work
        finally:
            self.on = False
        return self.statements


def statement_name(sql: str) -> str:
    if sql.lstrip().startswith("SELECT count(*)"):
        return f"count (≤ {TOTAL_CAP + 1:,})"
    if sql.lstrip().startswith("SELECT recording_texts."):
        return "quoted lines"
    return f"rows (≤ {PAGE + 1})"


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def describe_plan(plan: dict[str, Any]) -> tuple[str, str]:
    """(the plan's nodes with the indexes they use, the sequential scans with the rows they read)."""
    steps, scans = [], []
    for node in plan_nodes(plan):
        kind = node["Node Type"]
        if kind in ("Gather", "Gather Merge", "Materialize", "Memoize", "Result", "Hash"):
            continue
        target = node.get("Index Name") or node.get("Relation Name") or ""
        if node.get("Scan Direction") == "Backward":
            kind += " Backward"
        steps.append(f"{kind} {target}".strip())
        if node["Node Type"] == "Seq Scan":
            read = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * node.get("Actual Loops", 1)
            scans.append(f"{node['Relation Name']} ({read:,.0f} rows read)")
    unique = list(dict.fromkeys(steps))
    return " → ".join(unique[:7]) + (" …" if len(unique) > 7 else ""), ", ".join(scans) or "none"


EXECUTIONS = 8  # PostgreSQL plans a prepared statement's first 5 runs with their values, then may go generic


class PlanLog:
    """The plans PostgreSQL really ran (auto_explain, sent back as notices), on an engine of its own with one
    connection: the engine prepares its statements (asyncpg), so after five runs a statement may be run with
    a generic plan, made without the values, as the timed searches were."""

    def __init__(self, url: str) -> None:
        self.db = Database(url, 1)
        self.on = False
        self.plans: list[tuple[float, dict[str, Any]]] = []
        self.error = ""
        event.listen(self.db.engine.sync_engine, "connect", self._connect)

    def _connect(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(self._setup)

    async def _setup(self, conn: asyncpg.Connection) -> None:
        try:
            await conn.execute("LOAD 'auto_explain'")
            for name, value in (("log_min_duration", "0"), ("log_analyze", "on"), ("log_format", "json"),
                                ("log_level", "notice")):
                await conn.execute(f"SET auto_explain.{name} = {value}")
        except asyncpg.PostgresError as exc:  # not a superuser, or no auto_explain: EXPLAIN with the values
            self.error = str(exc)
        conn.add_log_listener(self._notice)

    def _notice(self, _conn: Any, message: Any) -> None:
        text = str(message.message)
        if self.on and "plan:" in text:
            duration = float(text.split("duration:")[1].split("ms")[0])
            self.plans.append((duration, json.loads(text.split("plan:", 1)[1])))

    async def run(self, catalog: Catalog, query: Query, cursor: str) -> list[tuple[str, float, dict[str, Any]]]:
        self.plans, self.on = [], True
        try:
            await catalog.search(query, PAGE, cursor)
        finally:
            self.on = False
        return [(str(plan.get("Query Text", "")), ms, plan) for ms, plan in self.plans]


def generic(plan: dict[str, Any]) -> bool:
    """A plan made without the parameters' values shows them as $1, $2, … in its conditions."""
    return re.search(r"\$\d", json.dumps(plan["Plan"])) is not None


async def explain(conn: asyncpg.Connection, sql: str, parameters: Sequence[Any]) -> tuple[float, dict[str, Any]]:
    raw = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *parameters)
    result = json.loads(raw)[0]
    return float(result["Execution Time"]), result


# -- writes ---------------------------------------------------------------------------------------------


async def spread(items: Sequence[Any], concurrency: int, work: Callable[[Any], Awaitable[Any]]) -> float:
    """Run `work` on every item, `concurrency` at a time; the seconds it took."""
    queue = list(reversed(items))

    async def worker() -> None:
        while queue:
            await work(queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


@dataclass
class WriteRow:
    what: str
    count: int
    concurrency: int
    seconds: float
    busy: float


class Writes:
    """Each write measured over its own items, one task or several at once."""

    def __init__(self, db: Database, concurrency: int) -> None:
        self.catalog = Catalog(db)
        self.audit = AuditLog(db, node="bench")
        self.concurrency = concurrency
        self.rows: list[WriteRow] = []
        self.written = 0

    async def measure(self, what: str, items: Sequence[Any], work: Callable[[Any], Awaitable[Any]],
                      concurrent: bool = False) -> None:
        busy = BusyCores()
        tasks = self.concurrency if concurrent else 1
        seconds = await spread(items, tasks, work)
        self.rows.append(WriteRow(what, len(items), tasks, seconds, busy()))

    async def add(self, s: Synthetic) -> None:
        """As the recorder submits a finished recording: Catalog.add hashes manifest.json itself."""
        await self.catalog.add(to_manifest(s), s.texts)

    async def add_digest(self, s: Synthetic) -> None:
        """As `archive reindex` does: the manifest's SHA-256 given (it read manifest.json from the store)."""
        await self.catalog.add(to_manifest(s), s.texts, digest=s.digest)

    async def record(self, i: int, hearing_ids: Sequence[str] = ()) -> None:
        # A clerk's views of different recordings, each its own token: none coalesced or rate-limited.
        ok = await self.audit.record("view", hearing_ids[i % len(hearing_ids)], "clerk.aidana", "clerk",
                                     client="10.20.0.17", token=f"t{i}")
        self.written += ok

    async def verify(self) -> None:
        busy = BusyCores()
        started = time.perf_counter()
        report = await self.audit.verify()
        self.rows.append(WriteRow(f"AuditLog.verify ({'ok' if report.ok else 'PROBLEMS'}, whole chain)",
                                  report.checked, 1, time.perf_counter() - started, busy()))


async def time_writes(db: Database, archive: Archive, adds: int, audits: int, concurrency: int,
                      hearing_ids: Sequence[str]) -> tuple[list[WriteRow], list[list[Any]]]:
    """The manifests are made in the timed work (to_manifest: a few list items, its segments shared), the
    rest of each recording beforehand."""
    writes = Writes(db, concurrency)
    for concurrent in (False, True):
        await writes.measure("Catalog.add, new (digest computed: recorder)", archive.take(adds), writes.add,
                             concurrent)
    for concurrent in (False, True):
        await writes.measure("Catalog.add, new (digest given: reindex)", archive.take(adds), writes.add_digest,
                             concurrent)
    again = archive.take(adds)
    for s in again:
        await writes.add_digest(s)
    await writes.measure("Catalog.add, refresh an existing one (reindex)", again, writes.add_digest)
    manifests = [to_manifest(s) for s in again]
    digest_s = timed_sync(lambda: [manifest_digest(m) for m in manifests])
    making_s = timed_sync(lambda: [to_manifest(s) for s in again])
    for first, concurrent in ((0, False), (audits, True)):
        await writes.measure("AuditLog.record (view)", range(first, first + audits),
                             lambda i: writes.record(i, hearing_ids), concurrent)
    await writes.verify()
    segments = sum(len(m.segments) for m in manifests) / len(manifests)
    notes = [["manifest_digest alone (sha256 of manifest.json as Catalog.add makes it)",
              f"{digest_s / adds * 1000:.2f} ms", f"{segments:.0f} segments a manifest on average"],
             ["to_manifest alone (the bench's own part of the timed work)", f"{making_s / adds * 1000:.2f} ms", ""],
             ["audit entries written / asked", f"{writes.written:,} / {2 * audits:,}", ""]]
    return writes.rows, notes


def timed_sync(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


# -- output ---------------------------------------------------------------------------------------------


class BusyCores:
    """Busy cores of the whole machine (every process, other tenants included) since construction."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[float, float]:
        with open("/proc/stat") as f:
            values = [float(v) for v in f.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    def __call__(self) -> float:
        total, idle = self._read()
        spent = total - self._start[0]
        return (os.cpu_count() or 1) * (1 - (idle - self._start[1]) / spent) if spent > 0 else float("nan")


def progress(text: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{text:<70}", end="" if text else "\r", file=sys.stderr, flush=True)


async def settings(conn: asyncpg.Connection) -> str:
    version = await conn.fetchval("SHOW server_version")
    values = [f"{name} {await conn.fetchval(f'SHOW {name}')}"
              for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit")]
    return f"PostgreSQL {version}; " + ", ".join(values)


async def sizes(conn: asyncpg.Connection) -> list[list[Any]]:
    rows = []
    for name in COUNTED_TABLES:
        count = await conn.fetchval(f"SELECT count(*) FROM {name}")
        table_mb = await conn.fetchval("SELECT pg_table_size($1::regclass)", name) / 2**20
        index_mb = await conn.fetchval("SELECT pg_indexes_size($1::regclass)", name) / 2**20
        rows.append([name, f"{count:,}", table_mb, index_mb, table_mb + index_mb])
    return rows


def print_load(report: LoadReport) -> None:
    rows = report.recordings + report.participants + report.texts
    table(["phase", "seconds", "rows/s", "recordings/s"], [
        ["COPY (3 tables, generated while copying)", report.copy_s, f"{rows / report.copy_s:,.0f}",
         f"{report.recordings / report.copy_s:,.0f}"],
        ["  of which generating the rows (a thread)", report.generate_s, "-", "-"],
        ["re-create the secondary indexes", report.index_s, "-", "-"],
        ["re-add the foreign keys (validated)", report.keys_s, "-", "-"],
        ["VACUUM (ANALYZE)", report.analyze_s, "-", "-"],
        ["load, total", report.total_s, f"{rows / report.total_s:,.0f}", f"{report.recordings / report.total_s:,.0f}"],
    ], title=f"Load: {report.recordings:,} recordings, {report.participants:,} participants, {report.texts:,} "
             f"text lines (machine busy {report.busy:.2f} of {os.cpu_count()} cores)", digits=1)


def print_searches(kinds: list[Kind], db_times: list[Timing], loop_times: list[Timing]) -> None:
    rows = []
    for kind, db, loop in zip(kinds, db_times, loop_times):
        rows.append([kind.label, kind.example(), db.hits_text(), db.ms(50), db.ms(95), db.ms(100), loop.ms(50),
                     db.ms(50) / loop.ms(50), f"{agreeing(db, loop)}/{len(loop.pages)}"])
    table(["query", "first of the runs", "hits p50", "db p50 ms", "db p95 ms", "db max ms", "loop p50 ms",
           "ratio db/loop", "same answer"], rows,
          title="Search: Catalog.search (first page of 50 + capped count) against the in-memory loop")


def print_writes(rows: list[WriteRow], notes: list[list[Any]]) -> None:
    sequential: dict[str, float] = {}
    cells = []
    for row in rows:
        rate = row.count / row.seconds
        if row.concurrency == 1:
            sequential.setdefault(row.what, rate)
        base = sequential.get(row.what)
        cells.append([row.what, row.concurrency, f"{row.count:,}", row.seconds, f"{rate:,.0f}",
                      f"{row.seconds / row.count * 1000:.2f}", f"{rate / base:.2f}" if base else "-", row.busy])
    table(["write", "tasks", "count", "seconds", "per second", "ms each", "ratio to 1 task", "machine busy"], cells,
          title="Writes: finished recordings and audit entries")
    table(["", "value", ""], notes, title="Parts of the writes")


# -- main -----------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, server: Server) -> None:
    db = Database(database_url(server.dsn(), Path(".")), ArchiveSettings().database_pool_size)
    conn = await asyncpg.connect(server.dsn())
    helper = await asyncpg.connect(server.dsn())
    try:
        await db.upgrade()
        for c in (conn, helper):
            await c.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
        print(f"database {server.name}: {await settings(conn)}; revision {await db.revision()}")
        archive = Archive(args.seed)
        identical, checked = await check_rows(db, conn, args.seed + 1000)
        print(f"Catalog.add against COPY: {identical}/{checked} recordings written identically (every column but "
              f"indexed_at, their participants and their text lines)")
        loader = Loader(archive, args.rows, args.chunk)
        report = await loader.load(conn, [helper])
        gc.collect()
        gc.freeze()  # the loop's million rows: never scanned by the collector again (no pauses in the timings)
        print_load(report)
        catalog = Catalog(db)
        kinds = plan_searches(archive, args.queries, args.seed + 2)
        await search_part(args, db, catalog, conn, kinds, loader.loop_rows)
        hearing_ids = [r.hearing_id for r in loader.loop_rows[:: max(1, len(loader.loop_rows) // 5000)]]
        del loader.loop_rows
        gc.collect()
        rows, notes = await time_writes(db, archive, args.adds, args.audit, args.concurrency, hearing_ids)
        print_writes(rows, notes)
        total = await conn.fetchval("SELECT pg_database_size(current_database())") / 2**20
        table(["table", "rows", "table MB", "indexes MB", "total MB"], await sizes(conn),
              title=f"Size: database {total:,.0f} MB (pg_database_size)", digits=0)
    finally:
        await db.close()
        await conn.close()
        await helper.close()


async def search_part(args: argparse.Namespace, db: Database, catalog: Catalog, conn: asyncpg.Connection,
                      kinds: list[Kind], rows: list[Row]) -> None:
    cursors = Cursors(catalog)
    busy = BusyCores()
    db_times = []
    for kind in kinds:
        progress(f"database: {kind.label}")
        db_times.append(await time_database(catalog, kind, cursors))
    db_busy = busy()
    busy = BusyCores()
    loop_times = []
    for kind in kinds:
        progress(f"loop: {kind.label}")
        loop_times.append(time_loop(rows, kind, args.baseline_queries))
    progress("")
    print(f"\n{args.queries} runs a query through the database (machine busy {db_busy:.2f} cores), "
          f"{args.baseline_queries} of the same through the loop over {len(rows):,} rows in memory "
          f"(machine busy {busy():.2f} cores)")
    print_searches(kinds, db_times, loop_times)
    await first_page_part(db, catalog, conn, kinds, cursors)


async def first_page_part(db: Database, catalog: Catalog, conn: asyncpg.Connection, kinds: list[Kind],
                          cursors: Cursors) -> None:
    log = StatementLog(db)
    year = next(k for k in kinds if k.label.startswith("one year (10,000+"))
    search = year.searches[0]
    started = time.perf_counter()
    statements = await log.capture(catalog.search(search.query, PAGE, ""))
    elapsed = time.perf_counter() - started
    table(["statement", "ms (as sent by the engine)"],
          [[statement_name(sql), seconds * 1000] for sql, _, seconds in statements]
          + [["Catalog.search, whole call", elapsed * 1000]],
          title=f"The API's first page with 10,000+ hits ({year.example()}): {len(statements)} statements")
    plans = PlanLog(db.url)
    try:
        rows = await executed_plans(plans, conn, kinds, cursors, log)
    finally:
        await plans.db.close()
    how = f"auto_explain of the {EXECUTIONS}th run on one connection" if not plans.error else \
        f"EXPLAIN ANALYZE with the values (auto_explain: {plans.error})"
    table(["query", "statement", "plan", "ms", "nodes (indexes)", "sequential scans"], rows,
          title=f"Plans as run ({how})")


async def executed_plans(plans: PlanLog, conn: asyncpg.Connection, kinds: list[Kind], cursors: Cursors,
                         log: StatementLog) -> list[list[Any]]:
    catalog = Catalog(plans.db)
    rows = []
    for kind in kinds:
        runs = kind.searches[:EXECUTIONS]
        for search in runs[:-1]:
            await catalog.search(search.query, PAGE, await cursors.before(search))
        last = runs[-1]
        cursor = await cursors.before(last)
        if not plans.error:
            found = await plans.run(catalog, last.query, cursor)
        else:
            found = [(sql, *await explain(conn, sql, parameters))
                     for sql, parameters, _ in await log.capture(catalog.search(last.query, PAGE, cursor))]
        for sql, ms, plan in found:
            nodes, scans = describe_plan(plan["Plan"])
            rows.append([kind.label, statement_name(sql), "generic" if generic(plan) else "custom", ms, nodes,
                         scans])
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="synthetic recordings to load")
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432",
                    help="the PostgreSQL server; the script makes (and drops) a database of its own on it")
    ap.add_argument("--queries", type=int, default=200, help="runs a query kind, through the database")
    ap.add_argument("--baseline-queries", type=int, default=10, help="of the same runs, through the Python loop")
    ap.add_argument("--adds", type=int, default=2000, help="Catalog.add calls in each write test")
    ap.add_argument("--audit", type=int, default=2000, help="AuditLog.record calls in each write test")
    ap.add_argument("--concurrency", type=int, default=8, help="tasks writing at once")
    ap.add_argument("--chunk", type=int, default=20_000, help="recordings a COPY")
    ap.add_argument("--maintenance-work-mem", default="256MB", help="for the index builds after the load")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.rows < 1000:
        ap.error("--rows: at least 1000")
    if not 1 <= args.baseline_queries <= args.queries:
        ap.error("--baseline-queries: between 1 and --queries")
    try:
        return asyncio.run(guarded(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        return 130


async def guarded(args: argparse.Namespace) -> int:
    """Run with the database created first and dropped last, whatever happens (Ctrl-C and SIGTERM too)."""
    server = Server(args.database_url)
    task = asyncio.current_task()
    assert task is not None
    for number in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(number, task.cancel)
    await server.create()
    started = time.perf_counter()
    try:
        await run(args, server)
    finally:
        await asyncio.shield(server.drop())
        print(f"\ndatabase {server.name} dropped; {time.perf_counter() - started:.0f} s in all", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
