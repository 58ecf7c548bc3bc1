"""The archive's database, one suite for both twins (SQLite, the embedded default, and PostgreSQL on this
machine): the migration, the catalog's searches and pages, the audit log's hash chain and its guard, the
shared revocations, retention and legal hold, and the rebuild from the signed manifests."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from recorder.audit import AuditLog, entry_hash
from recorder.catalog import Catalog, Query, decode_cursor
from recorder.db import Database, database_url
from recorder.db.schema import metadata
from recorder.keys import load_or_create_signing_key, public_raw
from recorder.manifest import Manifest, SegmentEntry
from recorder.reindex import Reindexer
from recorder.retention import RetentionPolicy, RetentionSweeper
from recorder.settings import ArchiveSettings
from recorder.shares import RevokedTokens, ShareRegister
from recorder.storage import LocalStorage

from .record_fixture import make_recording

DAY = 86400.0
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc).timestamp()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def manifest(hid: str, opened: float, case: str = "2-1234/2026", court: str = "Алматинский городской суд",
             courtroom: str = "Зал 3", judge_name: str = "Судья Ахметова",
             people: tuple[str, ...] = ("Айгерім Бекова",), category: str = "civil") -> Manifest:
    return Manifest(hearing_id=hid, case_number=case, title="Иск", case_category=category, court=court,
                    courtroom=courtroom, judge="judge", judge_name=judge_name, opened_at=iso(opened),
                    closed_at=iso(opened + 600), status="final",
                    participants=[{"id": f"p{i}", "name": n, "role": "plaintiff"} for i, n in enumerate(people)],
                    segments=[SegmentEntry(0, "segment-000000.mp4", 0.0, 600.0, 1000, "0" * 64, "1" * 64)])


@pytest.fixture
async def database(database_url_for_test) -> AsyncIterator[Database]:
    db = Database(database_url(database_url_for_test, Path(".")))
    await db.upgrade()
    yield db
    await db.close()


async def test_the_migration_builds_exactly_the_schema_the_code_uses(database):
    async with database.connect() as conn:
        differences = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    # Only what the migration adds on purpose beyond the tables: PostgreSQL's trigram and tsvector indexes
    # and generated column, SQLite's FTS5 table (autogenerate sees those as unknown to the metadata).
    unexpected = [d for d in differences if not (
        d[0] == "remove_index" and d[1].name.endswith(("_trgm", "_prefix", "_tsv"))
        or d[0] == "remove_table" and d[1].name.startswith("recording_texts_fts")
        or d[0] == "remove_column" and d[3].name == "tsv")]
    assert unexpected == []
    assert await database.revision() == "0001"
    await database.upgrade()  # a second start changes nothing


async def test_search_by_every_field_in_any_script_and_page_through(database):
    catalog = Catalog(database)
    await catalog.add(manifest("h_a", T0, case="2-1234/2026", people=("Айгерім Бекова", "Нұрлан Сейітов")),
                      [(12.0, "exhibit", "Приобщено вещественное доказательство №7"),
                       (30.0, "note", "Exhibit 7 shown to the witness")])
    await catalog.add(manifest("h_b", T0 + DAY, case="КС-2026-00017", court="Астана қаласының №2 аудандық соты",
                               courtroom="Зал 1", judge_name="Судья Иванов", people=("Иванов Пётр",),
                               category="criminal"), [(5.0, "event", "Hearing opened")])
    await catalog.add(manifest("h_c", T0 + 40 * DAY, case="1-55/2025"), [])

    async def ids(**query: object) -> list[str]:
        return [r.hearing_id for r in (await catalog.search(Query(**query))).recordings]  # type: ignore[arg-type]

    assert await ids() == ["h_c", "h_b", "h_a"]
    assert await ids(case_number="2-1234", case_prefix=True) == ["h_a"]
    assert await ids(case_number="1234") == ["h_a"]
    assert await ids(case_number="234", case_prefix=True) == []
    assert await ids(case_number="кс-2026") == ["h_b"]  # Cyrillic, case folded, on SQLite too
    assert await ids(court="АСТАНА") == ["h_b"]
    assert await ids(courtroom="зал 3") == ["h_c", "h_a"]
    assert await ids(judge="иванов") == ["h_b"]
    assert await ids(participant="айгерім") == ["h_c", "h_a"]
    assert await ids(participant="сейітов") == ["h_a"]
    assert await ids(date_from=date(2026, 3, 3), date_to=date(2026, 3, 3)) == ["h_b"]
    assert await ids(case_number="%") == []  # a LIKE wildcard typed by a clerk means itself
    # Full text: the English words, and the Russian word in another form where PostgreSQL stems it.
    found = await catalog.search(Query(text="exhibit 7"))
    assert [r.hearing_id for r in found.recordings] == ["h_a"]
    assert found.recordings[0].hits[0]["text"] == "Exhibit 7 shown to the witness"
    assert await ids(text="доказательство") == ["h_a"]
    if database.dialect == "postgresql":
        assert await ids(text="доказательства") == ["h_a"]
    assert await ids(text="exhibit", participant="Бекова", court="алматинский") == ["h_a"]

    # Paging: 120 more, 50 a page, newest first, nothing twice and nothing missed.
    for i in range(120):
        await catalog.add(manifest(f"h_p{i:03d}", T0 - (i + 1) * 60, case=f"9-{i}/2026"), [])
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = await catalog.search(Query(), 50, cursor)
        assert page.total == 123 and not page.total_capped
        seen += [r.hearing_id for r in page.recordings]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 123 == len(set(seen)) and seen[:3] == ["h_c", "h_b", "h_a"] and seen[-1] == "h_p119"
    with pytest.raises(ValueError):
        decode_cursor("not-a-cursor")


async def test_refreshing_a_recording_keeps_what_the_court_decided(database):
    catalog = Catalog(database, RetentionPolicy(ArchiveSettings(retention_days=10)))
    await catalog.add(manifest("h_1", T0), [(1.0, "note", "first")])
    await catalog.hold("h_1", "appeal pending", "judge")
    await catalog.set_integrity("h_1", {"status": "verified", "checked_at": T0 + 5, "checks": 7, "failures": []},
                                "clerk")
    await catalog.add(manifest("h_1", T0, people=("Someone Else",)), [(2.0, "note", "second")])
    again = await catalog.get("h_1")
    assert again is not None and again.legal_hold and again.hold_reason == "appeal pending"
    assert again.integrity["status"] == "verified" and again.retain_until == pytest.approx(T0 + 10 * DAY)
    assert [p["name"] for p in again.participants] == ["Someone Else"]
    assert [r.hearing_id for r in (await catalog.search(Query(text="second"))).recordings] == ["h_1"]
    assert (await catalog.search(Query(text="first"))).recordings == []
    # A tombstone stays one: a stale manifest indexed again does not bring the recording back.
    await catalog.release("h_1")
    await catalog.tombstone("h_1", "retention period ended")
    await catalog.add(manifest("h_1", T0), [])
    assert await catalog.get("h_1") is None
    gone = await catalog.get("h_1", include_deleted=True)
    assert gone is not None and gone.status == "deleted" and gone.manifest_sha256


async def test_the_audit_chain_is_known_and_catches_every_kind_of_tampering(database):
    # Known answer: fixed entries, hashes computed by hand (sha256 over the previous hash and the entry's
    # canonical JSON), not by the code under test.
    genesis = "fa5b769d6d458480dc18b2475ee16ac18f71358fea0c0a28e6d82d002a87922c"
    assert hashlib.sha256(b"courtroom-audit/1").hexdigest() == genesis
    first = {"seq": 1, "at": 1796212800.0, "action": "view", "hearing_id": "h_1", "actor": "clerk",
             "role": "clerk", "client": "10.0.0.1", "node": "n1", "details": None}
    assert entry_hash(genesis, first) == "e5b3fabcea3bb650664ed0c2f2b44a46e960d3e6a4486960a4e9d488a301d5a9"
    second = {"seq": 2, "at": 1796212801.5, "action": "share", "hearing_id": "h_1", "actor": "судья",
              "role": "judge", "client": "", "node": "n2", "details": {"recipient": "Айгерім"}}
    assert entry_hash("e5b3fabcea3bb650664ed0c2f2b44a46e960d3e6a4486960a4e9d488a301d5a9", second) == \
        "c5d88f560c17a22670ddc02790c349d7819b6d7b247362e4f8bf31f8d311fceb"

    audit = AuditLog(database, "n1")
    assert await audit.append({**first, "seq": None}) == 1
    assert (await audit.entries())[0]["hash"] == "e5b3fabcea3bb650664ed0c2f2b44a46e960d3e6a4486960a4e9d488a301d5a9"
    for i in range(5):
        await audit.record("share", "h_1", "clerk", "clerk", share_id=f"s{i}")
    assert (await audit.verify()).ok

    # The server's own connection cannot change or remove an entry: the database refuses.
    for statement in ("UPDATE audit_log SET actor = 'nobody' WHERE seq = 3", "DELETE FROM audit_log WHERE seq = 3"):
        with pytest.raises(Exception, match="append-only"):
            async with database.transaction() as conn:
                await conn.execute(text(statement))

    async def tamper(*statements: str) -> list[str]:
        """What someone with the database owner's rights could do behind the server's back."""
        async with database.transaction() as conn:
            guard_off = ["ALTER TABLE audit_log DISABLE TRIGGER USER"] if database.dialect == "postgresql" else \
                ["DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete"]
            for statement in guard_off + list(statements):
                await conn.execute(text(statement))
        return (await audit.verify()).problems

    problems = await tamper("UPDATE audit_log SET actor = 'nobody' WHERE seq = 3")
    assert problems == ["entry 3 was altered after it was written (its hash does not match)"]
    problems = await tamper("UPDATE audit_log SET actor = 'clerk' WHERE seq = 3", "DELETE FROM audit_log WHERE seq = 4")
    assert "entries 4–4 are missing (removed from the log)" in problems
    assert "entry 5 does not follow the entry before it (chain broken)" in problems


async def test_two_nodes_append_to_one_chain_and_retention_prunes_from_the_old_end(database):
    other = Database(database.url)
    try:
        node_a, node_b = AuditLog(database, "a"), AuditLog(other, "b")
        await asyncio.gather(*(log.record("verify", f"h_{i}", "clerk", "clerk", result="verified")
                               for i in range(20) for log in (node_a, node_b)))
        report = await node_a.verify()
        assert report.ok and report.checked == 40 and (report.first_seq, report.last_seq) == (1, 40)
        assert {e["node"] for e in await node_b.entries()} == {"a", "b"}
        # Retention: the 30 oldest go, a checkpoint keeps the chain checkable, and the pruned rows stay gone.
        cutoff = sorted(e["seq"] for e in await node_a.entries(limit=100))[29]
        at = {e["seq"]: e for e in await node_a.entries(limit=100)}[cutoff]["at"]
        removed = await node_a.prune(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() + 1e-3, "test")
        assert removed >= 30
        report = await node_b.verify()
        assert report.ok and report.checkpoint is not None and report.checkpoint["removed"] == removed
        await node_b.record("view", "h_x", "clerk", "clerk")
        assert (await node_a.verify()).ok
    finally:
        await other.close()


async def test_a_revocation_is_seen_by_every_node_and_outlives_a_restart(database):
    shares = ShareRegister(database)
    await shares.add("s_1", "h_1", "Айгерім Бекова", "clerk", time.time() + 3600)
    other = Database(database.url)
    try:
        assert not await RevokedTokens(other).is_revoked("s_1")
        assert await shares.revoke("s_1", "clerk") and not await shares.revoke("s_1", "clerk")
        assert await RevokedTokens(other).is_revoked("s_1")
        await RevokedTokens(other).revoke("staff_jti", time.time() + 60)
        await RevokedTokens(other).revoke("old_jti", time.time() - 1)
    finally:
        await other.close()
    restarted = Database(database.url)
    try:
        revoked = RevokedTokens(restarted)
        assert await revoked.is_revoked("staff_jti") and await revoked.is_revoked("s_1")
        assert not await revoked.is_revoked("old_jti") and await revoked.forget_expired() == 1
        listed = await ShareRegister(restarted).of_recording("h_1")
        assert [(s["share_id"], s["revoked_by"]) for s in listed] == [("s_1", "clerk")]
    finally:
        await restarted.close()


async def test_retention_deletes_what_is_due_unless_held_and_keeps_a_tombstone(database, tmp_path):
    policy = RetentionPolicy(ArchiveSettings(retention_days=30, retention_by_category=["criminal=0"],
                                             retention_by_court=["Суд №1=365"]))
    assert policy.days("суд №1", "civil") == 365 and policy.days("Суд №1", "criminal") == 0
    catalog = Catalog(database, policy)
    storage = LocalStorage(tmp_path / "store")
    for hid in ("h_old", "h_held", "h_criminal", "h_court", "h_new"):
        (tmp_path / "store" / hid / "segments").mkdir(parents=True)
        (tmp_path / "store" / hid / "segments" / "segment-000000.mp4").write_bytes(b"x")
        (tmp_path / "store" / hid / "manifest.json").write_text("{}")
    now = time.time()
    await catalog.add(manifest("h_old", now - 40 * DAY), [])
    await catalog.add(manifest("h_held", now - 40 * DAY), [])
    await catalog.add(manifest("h_criminal", now - 4000 * DAY, category="criminal"), [])
    await catalog.add(manifest("h_court", now - 40 * DAY, court="Суд №1"), [])
    await catalog.add(manifest("h_new", now - 5 * DAY), [])
    await catalog.hold("h_held", "appeal", "judge")
    audit = AuditLog(database, "n")
    sweeper = RetentionSweeper(catalog, storage, audit, 3600)
    assert [r.hearing_id for r in await sweeper.sweep(dry_run=True)] == ["h_old"]
    assert (tmp_path / "store" / "h_old").exists()
    assert [r.hearing_id for r in await sweeper.sweep()] == ["h_old"]
    assert not (tmp_path / "store" / "h_old").exists() and (tmp_path / "store" / "h_held").exists()
    tombstone = await catalog.get("h_old", include_deleted=True)
    assert tombstone is not None and tombstone.status == "deleted" and "retention" in tombstone.deleted_reason
    entry = (await audit.entries(actions=frozenset({"retention_deleted"})))[0]
    assert entry["hearing_id"] == "h_old" and entry["details"]["manifest_sha256"] == tombstone.manifest_sha256
    assert "h_old" not in [r.hearing_id for r in (await catalog.search(Query())).recordings]
    assert "h_old" in [r.hearing_id for r in (await catalog.search(Query(include_deleted=True))).recordings]
    await catalog.release("h_held")
    assert [r.hearing_id for r in await sweeper.sweep()] == ["h_held"]
    assert (await audit.verify()).ok


async def test_reindex_rebuilds_from_signed_manifests_resumes_and_reports_forgeries(database, tmp_path, settings):
    store = tmp_path / "store"
    make_recording(tmp_path, settings, seconds=2, hearing_id="h_one", store=store,
                   notes=[{"offset": 1.0, "text": "Exhibit 9 admitted", "kind": "exhibit"}])
    make_recording(tmp_path, settings, seconds=2, hearing_id="h_two", store=store)
    make_recording(tmp_path, settings, seconds=2, hearing_id="h_zforged", store=store)
    forged = store / "h_zforged" / "manifest.json"
    altered = Manifest.from_dict(json.loads(forged.read_text()))
    altered.case_number = "altered"
    altered.sign(Ed25519PrivateKey.generate())  # re-signed, by a key that is not the court's
    forged.write_text(altered.to_json())
    (store / "h_incomplete" / "segments").mkdir(parents=True)
    key = public_raw(load_or_create_signing_key(settings.signing_key_path))
    catalog = Catalog(database)
    storage = LocalStorage(store)

    class Interrupted(Exception):
        pass

    calls: list[int] = []

    def stop_after_two(count: int) -> None:
        calls.append(count)
        if len(calls) == 2:
            raise Interrupted  # as a Ctrl-C after two folders would

    import recorder.reindex as reindex_module

    reindex_module.BATCH, batch = 1, reindex_module.BATCH
    try:
        with pytest.raises(Interrupted):
            await Reindexer(storage, catalog, [key]).run(progress=stop_after_two)
        assert await catalog.count() == 1
        report = await Reindexer(storage, catalog, [key]).run()
    finally:
        reindex_module.BATCH = batch
    assert report.resumed_after == "h_one"  # the folders done before the interruption are not read again
    assert report.failed == [("h_zforged", "signed by a key that is not the court's")]
    assert await catalog.count() == 2
    found = await catalog.search(Query(text="exhibit 9"))
    assert [r.hearing_id for r in found.recordings] == ["h_one"]
    stored = (store / "h_one" / "manifest.json").read_bytes()
    one = await catalog.get("h_one")
    assert one is not None and one.manifest_sha256 == hashlib.sha256(stored).hexdigest()
    fresh = await Reindexer(storage, catalog, [key]).run(resume=False)
    assert fresh.resumed_after == "" and fresh.indexed == 2 and fresh.incomplete == ["h_incomplete"]


async def test_an_earlier_versions_audit_file_moves_into_the_chain_whole(database, tmp_path):
    from recorder.journal import Journal

    old = tmp_path / "audit.jsonl"
    rotated = tmp_path / "audit-20261101T000000000000Z.jsonl"
    for path, actions in ((rotated, ["view", "share"]), (old, ["share_revoked", "shared_view"])):
        journal = Journal(path)
        for i, action in enumerate(actions):
            journal.append({"at": iso(T0 + i), "action": action, "hearing_id": "h_1", "actor": "clerk",
                            "role": "clerk", "client": "10.0.0.1", "details": {"share_id": "s_1"},
                            **({"repeated": 3} if action == "shared_view" else {})})
        journal.close()
    audit = AuditLog(database, "n")
    assert await audit.import_journal(old) == 4
    entries = await audit.entries()
    assert [e["action"] for e in entries] == ["shared_view", "share_revoked", "share", "view"]  # oldest file first
    assert entries[0]["repeated"] == 3 and entries[0]["details"]["imported_from"] == "audit.jsonl"
    assert entries[-1]["at"] == iso(T0)
    assert not old.exists() and (tmp_path / "audit.jsonl.imported").exists() and not rotated.exists()
    assert await audit.import_journal(old) == 0  # a second start imports nothing again
    assert (await audit.verify()).ok
