"""`verify` fails, and names what is wrong, for every way a court record can be tampered with: a segment
removed, two reordered, one swapped in from another hearing, the last one truncated, the manifest edited
(with and without re-signing by another key). The chain itself is checked against hashes worked out by hand,
not by the code under test."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recorder.keys import load_or_create_signing_key, public_raw
from recorder.manifest import Gap, Manifest, ManifestFile, SegmentEntry, chain, genesis
from recorder.verify import verify_folder

from .record_fixture import make_recording


def test_the_chain_matches_hashes_worked_out_by_hand():
    # sha256("courtroom-recording:h_known"), then sha256(previous ‖ sha256(segment)) as raw 32-byte digests.
    start = "e95f88e611c68f34816a3c9e0ec7baeb517b6fdbda468f26441494f1d1b73aa8"
    one = "65be5db219c1f48ae75b55fb76164a099ab8ecc4a387f984fdbc9d275a83f0b2"  # sha256(b"segment one")
    two = "4c3982e60247591218b118256580bdbb10a296a7db274f0f0a4730e43bc1a8cc"  # sha256(b"segment two")
    assert genesis("h_known") == start
    assert hashlib.sha256(b"segment one").hexdigest() == one
    assert chain(start, one) == "6a97a2aff87d377c58af75c661dd9c007a17f28b531cc1c10f3a7c2830bf03d7"
    assert chain("6a97a2aff87d377c58af75c661dd9c007a17f28b531cc1c10f3a7c2830bf03d7", two) == \
        "e39e8bc024d0107908078e212d09ff96c2f71affcfbd80b0a654b6eada49cf71"
    assert chain(start, two) != chain(genesis("h_other"), two)  # the previous value counts


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> tuple[Path, Path, bytes]:
    """Two real recordings of 13 s (four segments each) by the segment writer, signed with the court's key."""
    from .conftest import make_settings

    base = tmp_path_factory.mktemp("records")
    settings = make_settings(base)
    first = make_recording(base, settings, seconds=13, hearing_id="h_first", store=base / "store")
    second = make_recording(base, settings, seconds=13, hearing_id="h_second", store=base / "store", shade=100)
    return first, second, public_raw(load_or_create_signing_key(settings.signing_key_path))


def manifest_of(folder: Path) -> Manifest:
    return Manifest.from_dict(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))


def write(folder: Path, manifest: Manifest, key: Ed25519PrivateKey | None) -> None:
    if key is not None:
        manifest.sign(key)  # a forger's own key: the signature matches, but it is not the court's
    (folder / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")


def segment_files(folder: Path) -> list[Path]:
    return sorted((folder / "segments").glob("segment-*.mp4"))


FORGER = Ed25519PrivateKey.generate()


def remove_file(folder: Path, other: Path) -> None:
    segment_files(folder)[1].unlink()


def remove_entry(folder: Path, other: Path) -> None:
    manifest = manifest_of(folder)
    del manifest.segments[1]
    segment_files(folder)[1].unlink()
    write(folder, manifest, FORGER)


def reorder_files(folder: Path, other: Path) -> None:
    a, b = segment_files(folder)[1:3]
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)


def reorder_entries(folder: Path, other: Path) -> None:
    manifest = manifest_of(folder)
    s = manifest.segments
    # Two entries swapped with their files, names and times kept in order: only the chain can tell.
    s[1].sha256, s[2].sha256 = s[2].sha256, s[1].sha256
    s[1].size, s[2].size = s[2].size, s[1].size
    a, b = segment_files(folder)[1:3]
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    write(folder, manifest, FORGER)


def swap_in_other_hearing(folder: Path, other: Path) -> None:
    shutil.copy(segment_files(other)[2], segment_files(folder)[2])


def swap_in_other_hearing_with_its_entry(folder: Path, other: Path) -> None:
    manifest, theirs = manifest_of(folder), manifest_of(other)
    manifest.segments[2] = theirs.segments[2]  # its hash and its chain value, from the other hearing
    shutil.copy(segment_files(other)[2], segment_files(folder)[2])
    write(folder, manifest, FORGER)


def truncate_last(folder: Path, other: Path) -> None:
    last = segment_files(folder)[-1]
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])


def drop_last_entry(folder: Path, other: Path) -> None:
    manifest = manifest_of(folder)
    manifest.segments.pop()
    write(folder, manifest, FORGER)


def edit_unsigned(folder: Path, other: Path) -> None:
    raw = json.loads((folder / "manifest.json").read_text())
    raw["case_number"] = "CV-0000-FORGED"
    (folder / "manifest.json").write_text(json.dumps(raw))


def edit_resigned(folder: Path, other: Path) -> None:
    manifest = manifest_of(folder)
    manifest.case_number = "CV-0000-FORGED"
    write(folder, manifest, FORGER)


TAMPERING: list[tuple[Callable[[Path, Path], None], list[str]]] = [
    (remove_file, ["FAIL segment 000002 (segment-000002.mp4", "file missing"]),
    (remove_entry, ["FAIL signature: not made by the trusted court key",
                    "FAIL segment 000003 (segment-000003.mp4", "hash chain broken"]),
    (reorder_files, ["FAIL segment 000002", "FAIL segment 000003", "content differs from the manifest"]),
    (reorder_entries, ["FAIL signature: not made by the trusted court key", "FAIL segment 000002",
                       "hash chain broken"]),
    (swap_in_other_hearing, ["FAIL segment 000003", "content differs from the manifest"]),
    (swap_in_other_hearing_with_its_entry, ["FAIL signature: not made by the trusted court key",
                                            "FAIL segment 000003", "hash chain broken"]),
    (truncate_last, ["FAIL segment 000004", "content differs from the manifest"]),
    (drop_last_entry, ["FAIL signature: not made by the trusted court key"]),
    (edit_unsigned, ["FAIL signature: does not match the manifest (altered after signing?)"]),
    (edit_resigned, ["FAIL signature: not made by the trusted court key"]),
]


@pytest.mark.parametrize("tamper, named", TAMPERING, ids=[t.__name__ for t, _ in TAMPERING])
def test_every_kind_of_tampering_fails_verification_and_is_named(records, tmp_path, tamper, named):
    first, second, court_key = records
    folder = tmp_path / "copy"
    shutil.copytree(first, folder)
    assert all(c.ok for c in verify_folder(folder, court_key))  # the copy as stored verifies
    tamper(folder, second)
    checks = verify_folder(folder, court_key)
    failures = "\n".join(c.line() for c in checks if not c.ok)
    assert failures, "tampering went unnoticed"
    for words in named:
        assert words in failures, f"{words!r} not in:\n{failures}"
    # Only what was touched fails: the segments before it still verify.
    assert checks[2].ok and checks[2].what.startswith("segment 000001")


def test_a_manifest_that_is_not_json_is_named_unreadable(tmp_path):
    (tmp_path / "manifest.json").write_text("{ this is not json")
    checks = verify_folder(tmp_path)
    assert len(checks) == 1 and (checks[0].ok, checks[0].what) == (False, "manifest.json")  # False: JSON's "ok"
    assert checks[0].line().startswith("FAIL manifest.json: unreadable (")
    (tmp_path / "manifest.json").unlink()
    assert verify_folder(tmp_path)[0].line().startswith("FAIL manifest.json: unreadable (")


def test_a_check_reads_as_one_line():
    from recorder.verify import Check

    assert Check(True, "segment 000001", "sha256 ab…").line() == "OK   segment 000001: sha256 ab…"
    assert Check(True, "hearing.mp4").line() == "OK   hearing.mp4"
    assert Check(False, "signature", "not made by the trusted court key").line() == \
        "FAIL signature: not made by the trusted court key"


# A record built by hand in a folder: three segments, two gaps, two final files, signed with a fixed key. Its
# chain is worked out here with hashlib; every check `verify` makes of it is written out in full, as
# (ok, what, detail): what `hearing-server verify` prints and what the archive's Verify returns as JSON.

HAND_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
HAND_KEY_ID = "56475aa75463474c"  # sha256 of its raw public key, first 16 hex digits
HAND_SEGMENTS = [("segment-000001.mp4", 0.0, 4.0, b"segment one"), ("segment-000002.mp4", 4.0, 8.25, b"segment two"),
                 ("segment-000003.mp4", 9.0, 12.5, b"segment three")]
HAND_FILES = [("hearing.mp4", b"the final recording"), ("transcript.vtt", b"WEBVTT\n\n")]

SEG1 = "segment 000001 (segment-000001.mp4, 0.00–4.00 s)"
SEG2 = "segment 000002 (segment-000002.mp4, 4.00–8.25 s)"
SEG3 = "segment 000003 (segment-000003.mp4, 9.00–12.50 s)"
INTACT: list[tuple[object, object, object]] = [
    (True, "manifest.json", "hearing h_hand, case 2-77/2026, 3 segments, status final"),
    (True, "signature", f"Ed25519, made by key {HAND_KEY_ID}"),
    (True, SEG1, "sha256 65be5db219c1f48a…, chain intact"),
    (True, SEG2, "sha256 4c3982e602475912…, chain intact"),
    (True, SEG3, "sha256 cacdf0004f7793f2…, chain intact"),
    (True, "gap 8.25–9.00 s", "recorded in the manifest: network lost"),
    (True, "gap 12.50–end s", "recorded in the manifest: server stopped"),
    (True, "hearing.mp4", "sha256 3bdb284bed6541c1…"),
    (True, "transcript.vtt", "sha256 8eb5aec53542eaed…"),
]


def hand_built(folder: Path, *, layout: str = "segments", signed: bool = True) -> Manifest:
    folder.mkdir(parents=True, exist_ok=True)
    where = folder / "segments" if layout == "segments" else folder
    where.mkdir(exist_ok=True)
    manifest = Manifest(hearing_id="h_hand", case_number="2-77/2026", title="Müller ./. Søren", court="Суд",
                        judge_name="Айгерім Бекова", status="final",
                        gaps=[Gap(8.25, 9.0, "network lost"), Gap(12.5, None, "server stopped")])
    previous = hashlib.sha256(b"courtroom-recording:h_hand").hexdigest()
    for index, (name, start, end, data) in enumerate(HAND_SEGMENTS, start=1):
        (where / name).write_bytes(data)
        digest = hashlib.sha256(data)
        previous = hashlib.sha256(bytes.fromhex(previous) + digest.digest()).hexdigest()
        manifest.segments.append(SegmentEntry(index, name, start, end, len(data), digest.hexdigest(), previous))
    for name, data in HAND_FILES:
        (folder / name).write_bytes(data)
        manifest.files.append(ManifestFile(name, len(data), hashlib.sha256(data).hexdigest()))
    write(folder, manifest, HAND_KEY if signed else None)
    return manifest


def checked(folder: Path, trusted: bytes | None = None) -> list[tuple[object, object, object]]:
    return [(c.ok, c.what, c.detail) for c in verify_folder(folder, trusted)]


def test_an_intact_hand_built_record_is_checked_item_by_item(tmp_path: Path) -> None:
    hand_built(tmp_path)
    assert checked(tmp_path) == INTACT
    trusted = [*INTACT]
    trusted[1] = (True, "signature", "Ed25519, made by the trusted court key")
    assert checked(tmp_path, public_raw(HAND_KEY)) == trusted
    assert [c.line() for c in verify_folder(tmp_path)][1:3] == [
        f"OK   signature: Ed25519, made by key {HAND_KEY_ID}",
        "OK   segment 000001 (segment-000001.mp4, 0.00–4.00 s): sha256 65be5db219c1f48a…, chain intact"]


def test_segments_beside_the_manifest_are_found_but_those_in_segments_come_first(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    hand_built(flat, layout="flat")  # a copy whose segments were put beside the manifest
    assert checked(flat) == INTACT
    both = tmp_path / "both"
    hand_built(both)
    (both / "segment-000001.mp4").write_bytes(b"segment one")  # a good copy beside, an altered one in segments/
    (both / "segments" / "segment-000001.mp4").write_bytes(b"segment 0ne")
    assert checked(both)[2] == (False, SEG1, "content differs from the manifest: sha256 2dde4444fb2bce7e… "
                                             "(11 bytes), manifest says 65be5db219c1f48a… (11 bytes)")


def test_an_unsigned_manifest_is_named(tmp_path: Path) -> None:
    hand_built(tmp_path, signed=False)
    expected = [*INTACT]
    expected[1] = (False, "signature", "the manifest is not signed")
    assert checked(tmp_path) == expected
    assert checked(tmp_path, public_raw(HAND_KEY)) == expected


def test_a_signature_that_does_not_match_or_is_not_the_courts_is_named(tmp_path: Path) -> None:
    manifest = hand_built(tmp_path)
    raw = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    raw["title"] = "Müller ./. Søren (altered)"
    (tmp_path / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    altered = [*INTACT]
    altered[1] = (False, "signature", "does not match the manifest (altered after signing?)")
    assert checked(tmp_path) == altered
    assert checked(tmp_path, public_raw(HAND_KEY)) == altered
    del raw["signature"]["value"]  # a signature without its value
    (tmp_path / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    assert checked(tmp_path, public_raw(HAND_KEY)) == altered
    write(tmp_path, manifest, FORGER)
    forged = [*INTACT]
    forged[1] = (False, "signature", "not made by the trusted court key")
    assert checked(tmp_path, public_raw(HAND_KEY)) == forged


def test_altered_and_missing_files_are_named_and_the_rest_still_checked(tmp_path: Path) -> None:
    hand_built(tmp_path)
    (tmp_path / "segments" / "segment-000001.mp4").write_bytes(b"segment 0ne")  # the same size, other bytes
    (tmp_path / "segments" / "segment-000002.mp4").unlink()
    (tmp_path / "hearing.mp4").unlink()
    (tmp_path / "transcript.vtt").write_bytes(b"WEBVTT\n\r")  # the same size, other bytes
    expected = [*INTACT]
    expected[2] = (False, SEG1, "content differs from the manifest: sha256 2dde4444fb2bce7e… (11 bytes), "
                                "manifest says 65be5db219c1f48a… (11 bytes)")
    expected[3] = (False, SEG2, "file missing")
    expected[7] = (False, "hearing.mp4", "file missing")
    expected[8] = (False, "transcript.vtt", "content differs from the manifest (sha256 a3dc73c518f363f5…)")
    assert checked(tmp_path) == expected  # segment 3 and transcript.vtt are checked after what is missing


def test_a_manifest_that_lists_a_wrong_size_or_chain_value_is_named(tmp_path: Path) -> None:
    manifest = hand_built(tmp_path)
    manifest.segments[0].size = 12  # its sha256 right, its size wrong
    manifest.segments[2].chain = "00" * 32
    manifest.files[0].size = 20
    write(tmp_path, manifest, HAND_KEY)  # signed as it is: only the files can tell
    expected = [*INTACT]
    expected[2] = (False, SEG1, "content differs from the manifest: sha256 65be5db219c1f48a… (11 bytes), "
                                "manifest says 65be5db219c1f48a… (12 bytes)")
    expected[4] = (False, SEG3, "hash chain broken (a segment before it was removed, added or reordered)")
    expected[7] = (False, "hearing.mp4", "content differs from the manifest (sha256 3bdb284bed6541c1…)")
    assert checked(tmp_path) == expected


def test_the_manifest_is_read_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    import locale
    import sys

    if sys.flags.utf8_mode:
        pytest.skip("Python's UTF-8 mode reads every file as UTF-8")
    hand_built(tmp_path)  # its title and judge's name are not ASCII
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # files opened without an encoding are read as ASCII now
    try:
        assert checked(tmp_path) == INTACT
    finally:
        locale.setlocale(locale.LC_CTYPE, before)


# A record can come from anyone: a tampered manifest must fail as such, never crash verify or reach outside.

@pytest.mark.parametrize("edit, wrong", [
    (lambda raw: raw["segments"][0].update(sha256="not hex"), "segment entry 1 is not of the manifest's form"),
    (lambda raw: raw["segments"][1].update(index="2"), "segment entry '2' is not of the manifest's form"),
    (lambda raw: raw["segments"][0].update(start="0"), "segment entry 1 is not of the manifest's form"),
    (lambda raw: raw["gaps"][1].update(end="end"), "a gap entry is not of the manifest's form"),
    (lambda raw: raw["files"][0].update(size=None), "a file entry is not of the manifest's form"),
    (lambda raw: raw.update(signature=["Ed25519"]), "the signature is not of the manifest's form"),
    (lambda raw: raw["signature"].update(public_key=7), "the signature is not of the manifest's form"),
], ids=["sha256 not hex", "index a string", "start a string", "gap end a string", "size null",
        "signature a list", "public key a number"])
def test_a_malformed_manifest_fails_as_such_instead_of_crashing(tmp_path: Path, edit, wrong) -> None:
    hand_built(tmp_path)
    raw = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    edit(raw)
    (tmp_path / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    assert checked(tmp_path) == [(False, "manifest.json", f"malformed ({wrong})")]


def test_a_forger_cannot_borrow_the_courts_key_id(tmp_path: Path) -> None:
    manifest = hand_built(tmp_path)
    write(tmp_path, manifest, FORGER)  # re-signed with another key...
    raw = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    raw["signature"]["key_id"] = HAND_KEY_ID  # ...which names the court's published key id
    (tmp_path / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    forger_id = hashlib.sha256(public_raw(FORGER)).hexdigest()[:16]
    assert checked(tmp_path)[1] == (False, "signature", f"the manifest names key {HAND_KEY_ID}, but it was "
                                                        f"signed by key {forger_id}")


def test_names_that_reach_outside_the_record_are_refused(tmp_path: Path) -> None:
    record = tmp_path / "record"
    manifest = hand_built(record)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not part of the record")
    (record / "segments" / "segment-000003.mp4").unlink()
    (record / "segments" / "segment-000003.mp4").symlink_to(secret)  # a link out of the folder
    manifest.segments[0].file = "../secret.txt"
    manifest.files[0].name = "/dev/zero"  # would make verify read for ever
    write(record, manifest, HAND_KEY)
    results = checked(record)
    plain = "not a plain file name: the manifest may only name files in the record's own folder"
    assert results[2] == (False, "segment 000001 ('../secret.txt', 0.00–4.00 s)", plain)
    assert results[4] == (False, SEG3, "not a plain file inside the record's folder")
    assert results[7] == (False, "'/dev/zero'", plain)
    assert all("not part" not in str(detail) for _, _, detail in results)
