"""Known answers for the manifest: fixed bytes give the hashes, sizes, canonical JSON, signature and manifest.json
text written out here, not worked out by the code under test. The canonical JSON is what the court's key signs
and the manifest.json text is what the catalogue's `manifest_sha256` is the hash of: a change to either, even
one the writing and the checking side would share, makes every record signed before it read differently."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from recorder import manifest as manifest_module
from recorder.manifest import HASH_CHUNK, Gap, Manifest, ManifestFile, SegmentEntry, sha256_file

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # a fixed key: Ed25519 signs deterministically
PUBLIC = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="  # its raw public key, base64
KEY_ID = "56475aa75463474c"  # the first 16 hex digits of sha256(raw public key)

SHA_ONE = "65be5db219c1f48ae75b55fb76164a099ab8ecc4a387f984fdbc9d275a83f0b2"  # sha256(b"segment one")
CHAIN_ONE = "6a97a2aff87d377c58af75c661dd9c007a17f28b531cc1c10f3a7c2830bf03d7"  # see test_verify.py
SHA_FINAL = "3bdb284bed6541c115d2cdf10c84304d75bca4cda15c70fc7f4a85e0ac610f38"  # sha256(b"the final recording")


def known() -> Manifest:
    """Non-ASCII text, a participant whose keys are not in sorted order, a gap without an end, no case category."""
    return Manifest(
        hearing_id="h_known", case_number="2-77/2026", title="Müller ./. Søren", court="Суд", courtroom="1",
        judge="judge", judge_name="Айгерім Бекова", opened_at="2026-12-03T09:00:00Z",
        closed_at="2026-12-03T09:00:12Z", status="final",
        participants=[{"role": "witness", "name": "Zoë"}],
        segments=[SegmentEntry(1, "segment-000001.mp4", 0.0, 4.0, 11, SHA_ONE, CHAIN_ONE)],
        gaps=[Gap(4.0, None, "server stopped")],
        pauses=[{"start": 2.0, "end": 3.0}],
        files=[ManifestFile("hearing.mp4", 19, SHA_FINAL)],
    )


# Sorted keys at every level, no spaces, UTF-8 as it is (not \u escapes), no "signature", no empty case_category.
CANONICAL = (
    '{"case_number":"2-77/2026","closed_at":"2026-12-03T09:00:12Z","court":"Суд","courtroom":"1",'
    '"files":[{"name":"hearing.mp4","sha256":"3bdb284bed6541c115d2cdf10c84304d75bca4cda15c70fc7f4a85e0ac610f38",'
    '"size":19}],"format":"courtroom-recording/1","gaps":[{"end":null,"end_utc":"","reason":"server stopped",'
    '"start":4.0,"start_utc":""}],"hearing_id":"h_known","judge":"judge","judge_name":"Айгерім Бекова",'
    '"opened_at":"2026-12-03T09:00:00Z","participants":[{"name":"Zoë","role":"witness"}],'
    '"pauses":[{"end":3.0,"start":2.0}],"segments":[{"chain":'
    '"6a97a2aff87d377c58af75c661dd9c007a17f28b531cc1c10f3a7c2830bf03d7","end":4.0,"file":"segment-000001.mp4",'
    '"index":1,"note":"","sha256":"65be5db219c1f48ae75b55fb76164a099ab8ecc4a387f984fdbc9d275a83f0b2","size":11,'
    '"start":0.0}],"status":"final","title":"Müller ./. Søren"}'
).encode("utf-8")

SIGNATURE = {
    "algorithm": "Ed25519",
    "public_key": PUBLIC,
    "key_id": KEY_ID,
    "value": "/tPwNMbDCb4z0RAnDdfWYkBHQOEy7WYFfOO2r/3GFaLtw9VTCNCVyzZv1NMK3BrbyVMu5aisGxWrsW3MfzszBA==",
}

# manifest.json as finalise.py writes it: fields in the dataclass's order, indented by two, UTF-8 as it is.
MANIFEST_JSON = """{
  "hearing_id": "h_known",
  "case_number": "2-77/2026",
  "title": "Müller ./. Søren",
  "court": "Суд",
  "courtroom": "1",
  "judge": "judge",
  "judge_name": "Айгерім Бекова",
  "opened_at": "2026-12-03T09:00:00Z",
  "closed_at": "2026-12-03T09:00:12Z",
  "status": "final",
  "participants": [
    {
      "role": "witness",
      "name": "Zoë"
    }
  ],
  "segments": [
    {
      "index": 1,
      "file": "segment-000001.mp4",
      "start": 0.0,
      "end": 4.0,
      "size": 11,
      "sha256": "65be5db219c1f48ae75b55fb76164a099ab8ecc4a387f984fdbc9d275a83f0b2",
      "chain": "6a97a2aff87d377c58af75c661dd9c007a17f28b531cc1c10f3a7c2830bf03d7",
      "note": ""
    }
  ],
  "gaps": [
    {
      "start": 4.0,
      "end": null,
      "reason": "server stopped",
      "start_utc": "",
      "end_utc": ""
    }
  ],
  "pauses": [
    {
      "start": 2.0,
      "end": 3.0
    }
  ],
  "files": [
    {
      "name": "hearing.mp4",
      "size": 19,
      "sha256": "3bdb284bed6541c115d2cdf10c84304d75bca4cda15c70fc7f4a85e0ac610f38"
    }
  ],
  "format": "courtroom-recording/1",
  "signature": {
    "algorithm": "Ed25519",
    "public_key": "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
    "key_id": "56475aa75463474c",
    "value": "/tPwNMbDCb4z0RAnDdfWYkBHQOEy7WYFfOO2r/3GFaLtw9VTCNCVyzZv1NMK3BrbyVMu5aisGxWrsW3MfzszBA=="
  }
}"""


@pytest.mark.parametrize(("data", "sha256", "size"), [
    (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0),
    (b"segment one", SHA_ONE, 11),
    # Two blocks of HASH_CHUNK and a part of one: 2 MiB + 256 bytes.
    (bytes(range(256)) * 8193, "ad4707187ce2c9c3d16909bd20eb1c440fa9d2717bff5b836db2d32f997da4d2", 2_097_408),
], ids=["empty", "one-block", "three-blocks"])
def test_a_file_hashes_to_its_known_sha256_and_size(tmp_path: Path, data: bytes, sha256: str, size: int) -> None:
    path = tmp_path / "segment.mp4"
    path.write_bytes(data)
    assert sha256_file(path) == (sha256, size)


class _CountingReader:
    def __init__(self, path: object, mode: str, reads: list[Any]) -> None:
        self._handle = open(path, mode)  # type: ignore[call-overload]
        self._reads = reads

    def __enter__(self) -> "_CountingReader":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._handle.close()

    def read(self, size: Any = -1) -> bytes:
        self._reads.append(size)
        data: bytes = self._handle.read(size)
        return data


def test_a_large_file_is_hashed_a_block_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A whole day's hearing.mp4 is gigabytes: read at once, it would be held in memory (the archive's Verify runs
    # in the server's process).
    path = tmp_path / "hearing.mp4"
    path.write_bytes(bytes(range(256)) * 8193)
    reads: list[Any] = []
    monkeypatch.setattr(manifest_module, "open", lambda p, mode: _CountingReader(p, mode, reads), raising=False)
    assert sha256_file(path)[1] == 2_097_408
    assert reads == [HASH_CHUNK] * 4  # two whole blocks, a part of one, the end


def test_the_canonical_json_is_known() -> None:
    manifest = known()
    assert manifest.canonical() == CANONICAL
    manifest.sign(KEY)
    assert manifest.canonical() == CANONICAL  # the signature is not part of what it signs


def test_the_signature_of_a_known_manifest_is_known() -> None:
    manifest = known()
    manifest.sign(KEY)
    assert manifest.signature == SIGNATURE
    assert list(manifest.signature) == ["algorithm", "public_key", "key_id", "value"]
    # Checked here with the library itself, not with Manifest.signature_valid.
    Ed25519PublicKey.from_public_bytes(base64.b64decode(PUBLIC)).verify(base64.b64decode(SIGNATURE["value"]),
                                                                        CANONICAL)
    assert manifest.signature_valid() and manifest.signature_valid(base64.b64decode(PUBLIC))


def test_manifest_json_is_known_text() -> None:
    manifest = known()
    manifest.sign(KEY)
    assert manifest.to_json() == MANIFEST_JSON


def test_a_manifest_reads_back_as_it_was_written() -> None:
    manifest = known()
    manifest.sign(KEY)
    again = Manifest.from_dict(json.loads(MANIFEST_JSON))
    assert again == manifest
    assert isinstance(again.segments[0], SegmentEntry) and isinstance(again.gaps[0], Gap)
    assert isinstance(again.files[0], ManifestFile)
    assert again.gaps[0].reason == "server stopped" and again.to_json() == MANIFEST_JSON


def test_a_manifest_without_lists_reads_as_empty_lists() -> None:
    manifest = Manifest.from_dict({"hearing_id": "h_bare", "case_number": "1", "from_a_later_version": True})
    assert (manifest.segments, manifest.gaps, manifest.files) == ([], [], [])
    assert manifest.last_chain == "db036e4dae9d84cd26e8370ae413abd291e9a9a419dcdc3bcca4b90ae994c29b"  # genesis


def test_the_case_category_is_left_out_only_when_empty() -> None:
    # Manifests signed before case_category existed have no such key: an empty one must not appear in what
    # is signed, or their signatures would no longer match.
    empty = known()
    assert "case_category" not in empty.to_dict()
    assert "case_category" not in json.loads(empty.to_json())
    criminal = known()
    criminal.case_category = "criminal"
    assert criminal.to_dict()["case_category"] == "criminal"
    assert criminal.canonical() == CANONICAL.replace(b'{"case_number"', b'{"case_category":"criminal","case_number"')
    assert Manifest.from_dict(json.loads(criminal.to_json())).case_category == "criminal"


@pytest.mark.parametrize("signature", [
    {"algorithm": "Ed25519"},  # no public key, no value
    {"algorithm": "Ed25519", "public_key": PUBLIC},  # no value
    {**SIGNATURE, "value": "abc"},  # not base64 (its padding is wrong)
    {**SIGNATURE, "public_key": "abc"},
], ids=["no-key", "no-value", "value-not-base64", "key-not-base64"])
def test_an_incomplete_or_malformed_signature_is_not_valid(signature: dict[str, str]) -> None:
    manifest = known()
    manifest.signature = signature
    assert manifest.signature_valid() is False
    assert manifest.signature_valid(base64.b64decode(PUBLIC)) is False
