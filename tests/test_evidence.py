"""Every way into a recording is audited, the audit log stays bounded, and the evidence package a clerk or
a party downloads is checked offline by `hearing-server verify`."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile

from recorder.audit import READ_BURST, AuditLog
from recorder.db import Database, database_url
from recorder.keys import fingerprint, load_or_create_signing_key, public_raw

from .test_archive import archive, fetch  # noqa: F401  (the fixture: two finished recordings)


def verify(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hearing_server", "verify", *args], capture_output=True,
                          text=True, timeout=120)


async def test_a_clerk_downloads_the_evidence_package_and_verifies_it_offline(archive, tmp_path):  # noqa: F811
    api, settings = archive
    clerk = await api.login("clerk")
    link = await api.ok("POST", "/api/recordings/h_recent/links", {"purpose": "package"}, clerk)
    status, headers, body = await fetch(api.base + link["url"])
    assert status == 200 and headers["Content-Type"] == "application/zip"
    assert headers["Content-Disposition"].startswith('attachment; filename="CR-2026-0007-evidence.zip"')
    names = set(zipfile.ZipFile(io.BytesIO(body)).namelist())
    assert {"manifest.json", "hearing.mp4", "transcript.json", "transcript.vtt", "signing-key.pub",
            "README.txt"} <= names and any(n.startswith("segments/segment-") for n in names)
    readme = zipfile.ZipFile(io.BytesIO(body)).read("README.txt").decode()
    key = load_or_create_signing_key(settings.signing_key_path)
    assert fingerprint(public_raw(key)) in readme
    package = tmp_path / "evidence.zip"
    package.write_bytes(body)

    checked = verify(str(package), "--public-key", str(settings.signing_key_path.with_suffix(".pub")))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 failed" in checked.stdout and "chain intact" in checked.stdout
    assert fingerprint(public_raw(key)) in checked.stdout

    # One byte of one segment changed in the package: verify names the segment.
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(package) as original, zipfile.ZipFile(tampered, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "segments/segment-000001.mp4":
                data = data[:500] + bytes([data[500] ^ 1]) + data[501:]
            copy.writestr(item, data)
    failed = verify(str(tampered), "--public-key", str(settings.signing_key_path.with_suffix(".pub")))
    assert failed.returncode == 1 and "FAIL segment 000001" in failed.stdout

    # Signed by some other key: refused against the court's published key.
    other = tmp_path / "other.key"
    load_or_create_signing_key(other)
    assert verify(str(package), "--public-key", str(other.with_suffix(".pub"))).returncode == 1
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"hello")
    assert verify(str(not_zip)).returncode == 2

    audit = (await api.ok("GET", "/api/audit?hearing_id=h_recent", token=clerk))["entries"]
    assert audit[0]["action"] == "package" and audit[0]["actor"] == "clerk"


async def test_a_party_with_a_share_link_gets_the_package_too(archive, tmp_path):  # noqa: F811
    api, settings = archive
    clerk = await api.login("clerk")
    share = await api.ok("POST", "/api/recordings/h_recent/shares", {"recipient": "Ana Silva (plaintiff)"}, clerk)
    token = share["url"].split("#token=", 1)[1]
    link = await api.ok("POST", "/api/shared/links", {"purpose": "package"}, token)
    status, _, body = await fetch(api.base + link["url"])
    assert status == 200
    (tmp_path / "p.zip").write_bytes(body)
    assert verify(str(tmp_path / "p.zip")).returncode == 0
    audit = (await api.ok("GET", "/api/audit?hearing_id=h_recent", token=clerk))["entries"]
    assert audit[0]["action"] == "shared_package"
    await api.ok("DELETE", f"/api/recordings/h_recent/shares/{share['share_id']}", token=clerk)
    assert (await fetch(api.base + link["url"]))[0] == 401  # dies with the share


async def test_every_way_into_a_recording_is_audited(archive):  # noqa: F811
    api, _ = archive
    clerk = await api.login("clerk")
    await api.ok("GET", "/api/recordings?case_number=CR-2026", token=clerk)
    await api.ok("GET", "/api/recordings/h_recent/transcript", token=clerk)
    await api.ok("GET", "/api/recordings/h_recent/manifest", token=clerk)
    await api.ok("GET", "/api/recordings/h_recent/shares", token=clerk)
    await api.ok("POST", "/api/recordings/h_recent/links", {"purpose": "play"}, clerk)
    everything = (await api.ok("GET", "/api/audit", token=clerk))["entries"]
    assert [e["action"] for e in everything][:5] == ["play", "shares_list", "manifest", "transcript", "search"]
    search = everything[4]
    assert search["hearing_id"] == "" and search["details"] == {"case_number": "CR-2026", "found": 1}


async def test_one_link_holder_cannot_grow_the_audit_log_without_bound(tmp_path):
    database = Database(database_url("", tmp_path))
    await database.upgrade()
    log = AuditLog(database)
    # The same page reloaded all day by one token from one address: one entry.
    written = [await log.record("shared_view", "h_1", "share:Ana", "observer", "10.0.0.9", token="t1")
               for _ in range(200)]
    assert written.count(True) == 1
    # Different pages in a flood: the token's bucket stops it, and says how many it held back.
    flood = [await log.record("shared_view", "h_1", "share:Ana", "observer", "10.0.0.9", token="t2", page=i)
             for i in range(READ_BURST + 70)]
    assert flood.count(True) == READ_BURST
    log._buckets["t2"].level = 1
    assert await log.record("shared_view", "h_1", "share:Ana", "observer", "10.0.0.9", token="t2", page=-1)
    newest = (await log.entries(limit=1))[0]
    assert newest["suppressed"] == 70
    # The register of shares is never coalesced or limited.
    for i in range(100):
        assert await log.record("share", "h_1", "clerk", "clerk", token="t3", share_id=f"s{i}", recipient="x" * 40)
    shares = await log.entries("h_1", limit=10_000, actions=frozenset({"share"}))
    assert len(shares) == 100 and shares[0]["details"]["share_id"] == "s99"
    assert (await log.verify()).ok
    await database.close()
