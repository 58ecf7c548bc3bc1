"""The archive pages in Debian's Chromium: a clerk finds a recording, plays it, follows and seeks through its
transcript, verifies it, downloads it and shares it; the links handed out earlier are listed and can be
revoked; the party opens the share link until it is revoked; the judge console logs notes and pauses the
recording during a hearing, and the notes reach the transcript."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from sqlalchemy import insert

from hearing_server.app import RECORDER, create_app
from hearing_server.store import MemoryStore
from recorder.db.schema import recordings
from recorder.manifest import Manifest, SegmentEntry
from recorder.transcript import utc_iso

from .conftest import add_staff
from .helpers import PASSWORD, ApiClient
from .record_fixture import make_recording
from .test_browser import CHROMIUM, CHROMIUM_ARGS, base_url, collect_console, poll, screenshot

pytestmark = pytest.mark.browser

CASE = "CV-2026-0931"
NOTE_OFFSET = 6.0
SECONDS = 10.0
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
WITNESS = {"participant_id": "p_dana", "name": "Dana Lindqvist", "role": "witness"}
LAWYER = {"participant_id": "p_omar", "name": "Omar Haddad", "role": "lawyer"}
TRANSCRIPT = [
    {"kind": "event", "event": "opened", "offset": 0.0},
    {"kind": "event", "event": "admitted", **WITNESS, "offset": 0.8},
    {"kind": "event", "event": "admitted", **LAWYER, "offset": 1.2},
    {"kind": "speech", **WITNESS, "offset": 2.0, "end": 4.6},
    {"kind": "speech", **LAWYER, "offset": 4.8, "end": 5.7},
]
NOTES = [{"offset": NOTE_OFFSET, "kind": "exhibit", "text": "Exhibit 4: the delivery note"},
         {"offset": 8.5, "kind": "objection", "text": "Objection: hearsay"}]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def archive_server(tmp_path, settings) -> AsyncIterator[TestServer]:
    """Two finished recordings in the server's local store before it starts (it indexes them at start); the
    one under test has a witness and a lawyer with a speaking turn each, and two log notes: an exhibit 6 s in
    and an objection."""
    store = settings.recordings_path
    make_recording(tmp_path, settings, seconds=SECONDS, hearing_id="h_browser", store=store, case_number=CASE,
                   transcript=TRANSCRIPT, notes=NOTES)
    make_recording(tmp_path, settings, seconds=3, hearing_id="h_other", store=store,
                   case_number="CR-2026-0007")
    add_staff(settings)
    server = TestServer(create_app(settings, MemoryStore()), host="127.0.0.1", port=0)
    await server.start_server()
    yield server
    await server.close()


async def sign_in(page: Page, base: str, user: str) -> None:
    await page.goto(f"{base}/archive")
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def current_time(page: Page) -> float:
    return await page.evaluate("document.querySelector('#recording-video').currentTime")


async def seek_by_clicking(page: Page, line: Locator) -> float:
    """Click a transcript line; the video's position when the seek completed."""
    await page.evaluate("""() => {
      window.__seekedAt = null;
      const video = document.querySelector('#recording-video');
      video.addEventListener('seeked', () => { window.__seekedAt = video.currentTime; }, { once: true });
    }""")
    await line.click()
    return await poll(page, "window.__seekedAt", lambda v: v is not None, 10, "the seek")


async def test_clerk_finds_plays_seeks_verifies_and_shares_a_recording(archive_server, browser: Browser,
                                                                       settings, tmp_path) -> None:
    base = base_url(archive_server)
    log: list[str] = []
    # Links handed out before the page is opened: one that lapsed long ago (straight into the register of
    # shares and the audit log, as the server writes them) and a live one the judge made through the API.
    archive = archive_server.app[RECORDER].archive
    await archive.shares.add("s_lapsed", "h_browser", "Old Reader (former counsel)", "admin",
                             time.time() - 3600)
    await archive.audit.record(
        "share", "h_browser", "admin", "admin", "127.0.0.1", recipient="Old Reader (former counsel)",
        share_id="s_lapsed", expires_at=int(time.time()) - 3600)
    client = ApiClient(base)
    try:
        judge_token = await client.login("judge")
        early = await client.ok("POST", "/api/recordings/h_browser/shares",
                                {"recipient": "Mr Early Reader (plaintiff's counsel)", "hours": 24},
                                judge_token)
        early_token = early["url"].split("#token=", 1)[1]
        status, _ = await client.call("GET", "/api/shared", token=early_token)
        assert status == 200
    finally:
        await client.close()
    clerk_ctx = await browser.new_context(**DESKTOP)
    party_ctx = await browser.new_context(**DESKTOP)
    judge_ctx = await browser.new_context(**DESKTOP)
    try:
        page = await clerk_ctx.new_page()
        collect_console(page, log)
        await sign_in(page, base, "clerk")
        await expect(page.locator("#user-name")).to_contain_text("Clerk Carmen Ortiz")
        # Both recordings are listed at first; the case number narrows it down to one.
        await expect(page.locator("#results tr.result")).to_have_count(2)
        await page.get_by_label("Case number").fill("0931")
        await page.get_by_role("button", name="Search").click()
        rows = page.locator("#results tr.result")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text(CASE)
        await expect(rows.first).to_contain_text("Judge Amira Haddad")
        await screenshot(page, "archive-search")
        await rows.first.get_by_role("button", name="Open").click()

        # The recording's page: summary, participants with roles, transcript with the log notes marked.
        await expect(page.locator("#rec-case")).to_have_text(CASE)
        await expect(page.locator("#rec-title")).to_have_text("State v. Fixture")
        await expect(page.locator("#rec-facts")).to_contain_text("10 s")
        people = page.locator("#rec-participants li")
        await expect(people).to_have_count(2)
        await expect(people.first).to_contain_text("Dana Lindqvist")
        await expect(people.first).to_contain_text("Witness")
        lines = page.locator("#transcript .t-line")
        await expect(lines).to_have_count(7)
        await expect(page.locator('#transcript .t-line[data-kind="speech"]').first).to_contain_text(
            "Dana Lindqvist (Witness)")
        note = page.locator('#transcript .t-line[data-kind="note"][data-note-kind="exhibit"]')
        await expect(note).to_contain_text("Exhibit")
        await expect(note).to_contain_text("Exhibit 4: the delivery note")
        assert float(await note.get_attribute("data-offset")) == NOTE_OFFSET
        await expect(page.locator("#integrity-badge")).to_have_text("Not yet verified")
        await expect(page.locator("#audit-panel")).to_be_visible()

        # The links handed out before the page was opened are listed from the server, newest first; only the
        # live one can be revoked.
        shares = page.locator("#shares-list li")
        await expect(shares).to_have_count(2)
        await expect(page.locator("#shares-count")).to_have_text("2")
        early_line = shares.filter(has_text="Mr Early Reader")
        lapsed_line = shares.filter(has_text="Old Reader")
        await expect(shares.first).to_contain_text("Mr Early Reader")
        await expect(early_line).to_have_attribute("data-status", "active")
        await expect(early_line).to_contain_text("Active")
        await expect(early_line).to_contain_text("by judge")
        early_revoke = early_line.get_by_role("button", name="Revoke the link for Mr Early Reader")
        await expect(early_revoke).to_be_visible()
        await expect(lapsed_line).to_have_attribute("data-status", "expired")
        await expect(lapsed_line).to_contain_text("Expired")
        await expect(lapsed_line.get_by_role("button")).to_have_count(0)

        # Play: the video element gets its media link and its position advances.
        video = page.locator("#recording-video")
        assert await video.get_attribute("src") is None  # no media link until someone plays
        await page.get_by_role("button", name="Play recording").click()
        await poll(page, "document.querySelector('#recording-video').currentTime", lambda t: t > 1.0, 15,
                   "playback to advance")
        start = await current_time(page)
        await asyncio.sleep(1.0)
        assert await current_time(page) > start + 0.3, "the video does not advance"
        assert "/api/recordings/h_browser/media?token=" in await video.get_attribute("src")
        assert await page.locator("#recording-video track").count() == 1
        # The transcript follows playback: the line being played is marked.
        await expect(page.locator("#transcript .t-line.current")).to_have_count(1)

        # Choosing the log note seeks the video to it; the note becomes the current line.
        at = await seek_by_clicking(page, note)
        assert abs(at - NOTE_OFFSET) <= 0.5, at
        await expect(note).to_have_class(has_class("current"))
        # And back to the witness's speaking turn.
        speech = page.locator('#transcript .t-line[data-kind="speech"]').first
        at = await seek_by_clicking(page, speech)
        assert abs(at - 2.0) <= 0.5, at
        await expect(speech).to_have_class(has_class("current"))
        await page.evaluate("document.querySelector('#recording-video').pause()")
        await seek_by_clicking(page, note)

        # Verify: every check passes and the page says so.
        await page.get_by_role("button", name="Verify").click()
        await expect(page.locator("#integrity-status")).to_contain_text("Verified", timeout=15000)
        await expect(page.locator("#integrity-badge")).to_have_text("Verified")
        checks = page.locator("#verify-checks li")
        assert await checks.count() > 3
        assert await page.locator("#verify-checks li.check-fail").count() == 0

        # Download: a file named after the case.
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Download MP4").click()
        download = await download_info.value
        assert download.suggested_filename == f"{CASE}.mp4"
        # The evidence package: one zip that the verify command checks offline against the court's key.
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Evidence package").click()
        package = await download_info.value
        assert package.suggested_filename == f"{CASE}-evidence.zip"
        saved = tmp_path / package.suggested_filename
        await package.save_as(saved)
        checked = subprocess.run([sys.executable, "-m", "hearing_server", "verify", str(saved), "--public-key",
                                  str(settings.signing_key_path.with_suffix(".pub"))],
                                 capture_output=True, text=True, timeout=120)
        assert checked.returncode == 0 and "0 failed" in checked.stdout, checked.stdout + checked.stderr

        # Share with a party.
        await page.get_by_label("Recipient").fill("Ms Ada Okafor (defendant's counsel)")
        await page.get_by_label("Valid for (hours)").fill("48")
        await page.get_by_role("button", name="Create link").click()
        await expect(page.locator("#share-result")).to_be_visible()
        share_url = await page.locator("#share-link").input_value()
        assert share_url.startswith(f"{base}/shared#token="), share_url
        await expect(shares).to_have_count(3)
        await expect(shares.first).to_contain_text("Ms Ada Okafor")
        await expect(shares.first).to_contain_text("by clerk")
        await expect(shares.first).to_have_attribute("data-status", "active")

        # The link made before the page was opened is revoked from here (two clicks: the first asks to
        # confirm), and stops working.
        await early_revoke.click()
        await expect(early_revoke).to_have_text("Confirm revoke")
        await early_revoke.click()
        await expect(early_line).to_have_attribute("data-status", "revoked")
        await expect(early_line).to_contain_text("Revoked")
        await expect(early_line.get_by_role("button")).to_have_count(0)
        await expect(page.locator("#share-result")).to_be_visible()  # Ada's new link is still shown
        client = ApiClient(base)
        try:
            status, body = await client.call("GET", "/api/shared", token=early_token)
            assert status == 401 and body["error"]["code"] == "token_revoked", (status, body)
        finally:
            await client.close()

        # The access log lists what happened here, newest first.
        audit = page.locator("#audit-rows")
        for text in ("Opened the record", "Played", "Verified: intact", "Downloaded",
                     "Made a share link for Ms Ada Okafor"):
            await expect(audit).to_contain_text(text)
        await page.locator("#transcript-scroll").evaluate("box => box.scrollTop = 0")
        await page.evaluate("window.scrollTo(0, 0)")
        await asyncio.sleep(0.5)
        shot = await screenshot(page, "archive")
        await page.screenshot(path=str(shot.with_name("archive-full.png")), full_page=True)

        # The party opens the link: summary, the video plays, the transcript seeks.
        party = await party_ctx.new_page()
        collect_console(party, log)
        await party.goto(share_url)
        await expect(party.locator("#rec-case")).to_have_text(CASE)
        await expect(party.locator("#shared-for")).to_contain_text("Ms Ada Okafor")
        await expect(party.locator("#rec-participants li")).to_have_count(2)
        await expect(party.locator("#transcript .t-line")).to_have_count(7)
        # Choosing a line before pressing play starts the recording there.
        party_note = party.locator('#transcript .t-line[data-kind="note"]').first
        at = await seek_by_clicking(party, party_note)
        assert abs(at - NOTE_OFFSET) <= 0.5, at
        await poll(party, "document.querySelector('#recording-video').currentTime",
                   lambda t: t > NOTE_OFFSET + 0.8, 15, "the party's playback to advance")
        await expect(party_note).to_have_class(has_class("current"))
        speech = party.locator('#transcript .t-line[data-kind="speech"]').first
        at = await seek_by_clicking(party, speech)
        assert abs(at - 2.0) <= 0.5, at
        await party.evaluate("document.querySelector('#recording-video').pause()")
        await asyncio.sleep(0.5)
        await screenshot(party, "shared")
        async with party.expect_download() as download_info:
            await party.get_by_role("button", name="Download MP4").click()
        assert (await download_info.value).suggested_filename == f"{CASE}.mp4"
        async with party.expect_download() as download_info:
            await party.get_by_role("button", name="Evidence package").click()
        assert (await download_info.value).suggested_filename == f"{CASE}-evidence.zip"

        # The clerk revokes the link (two clicks: the first asks to confirm); the party's page then says so.
        ada_line = shares.filter(has_text="Ms Ada Okafor")
        revoke = ada_line.get_by_role("button", name="Revoke the link for Ms Ada Okafor")
        await revoke.click()
        await expect(revoke).to_have_text("Confirm revoke")
        await revoke.click()
        await expect(ada_line).to_have_attribute("data-status", "revoked")
        await expect(ada_line).to_contain_text("Revoked")
        await expect(page.locator("#shares-list button")).to_have_count(0)
        await party.reload()
        await expect(party.locator("#link-problem")).to_be_visible()
        await expect(party.locator("#problem-title")).to_have_text("This link was withdrawn")
        await screenshot(party, "shared-revoked")
        await page.get_by_role("button", name="Refresh").click()
        for text in ("Opened through a share link", "Played through a share link",
                     "Downloaded through a share link", "Revoked a share link"):
            await expect(audit).to_contain_text(text)
        # The register is the server's: after a reload both revoked links show as revoked, the lapsed one as
        # expired, and nothing is left to revoke.
        await page.reload()
        await expect(page.locator("#rec-case")).to_have_text(CASE)
        await expect(shares).to_have_count(3)
        assert await shares.evaluate_all("items => items.map((li) => li.dataset.status)") == \
            ["revoked", "revoked", "expired"]
        await expect(shares.first).to_contain_text("Ms Ada Okafor")
        await expect(page.locator("#shares-list button")).to_have_count(0)
        await page.locator("#shares-list").scroll_into_view_if_needed()
        await screenshot(page, "archive-shares-revoked")

        # A judge may open recordings but not read the access log.
        judge = await judge_ctx.new_page()
        collect_console(judge, log)
        await sign_in(judge, base, "judge")
        row = judge.locator('#results tr[data-hearing-id="h_browser"]')
        await row.get_by_role("button", name="Open").click()
        await expect(judge.locator("#rec-case")).to_have_text(CASE)
        await expect(judge.locator("#transcript .t-line")).to_have_count(7)
        await expect(judge.locator("#audit-panel")).to_be_hidden()
        await expect(judge.locator("#share-panel")).to_be_visible()
        # A judge may share too, so the register of links is listed for them as well.
        await expect(judge.locator("#shares-list li")).to_have_count(3)
        await expect(judge.locator("#shares-list li[data-status=revoked]")).to_have_count(2)

        print("\n".join(log))
        assert not [line for line in log if line.startswith("pageerror")], log
    finally:
        await judge_ctx.close()
        await party_ctx.close()
        await clerk_ctx.close()


async def test_an_expired_or_broken_share_link_is_explained(archive_server, browser: Browser) -> None:
    from hearing_server.app import COURT
    from hearing_server.roles import Role
    from hearing_server.tokens import TokenKind

    base = base_url(archive_server)
    expired, _ = archive_server.app[COURT].tokens.issue(TokenKind.SHARE, "share_h_browser", Role.OBSERVER,
                                                        "h_browser", -60, name="Late Reader")
    ctx = await browser.new_context(**DESKTOP)
    try:
        page = await ctx.new_page()
        await page.goto(f"{base}/shared#token={expired}")
        await expect(page.locator("#problem-title")).to_have_text("This link has expired")
        await expect(page.locator("#recording-view")).to_be_hidden()
        page = await ctx.new_page()
        await page.goto(f"{base}/shared#token=not-a-token")
        await expect(page.locator("#problem-title")).to_have_text("This link cannot be used")
    finally:
        await ctx.close()


async def test_judge_console_logs_notes_and_pauses_the_recording(server, api, browser: Browser) -> None:
    judge_token = await api.login("judge")
    hearing = await api.new_hearing(judge_token, case_number="CV-2026-0555")
    base = base_url(server)
    log: list[str] = []
    ctx = await browser.new_context(**DESKTOP, permissions=["camera", "microphone"])
    try:
        page = await ctx.new_page()
        collect_console(page, log)
        await page.goto(f"{base}/judge")
        await page.get_by_label("Username").fill("judge")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.locator(".hearing-item", has_text="CV-2026-0555").click()
        await expect(page.locator("#h-status")).to_have_text("In session")
        await expect(page.locator("#conn-text")).to_have_text("Connected to the hearing", timeout=15000)
        await expect(page.locator("#h-rec")).to_have_text("● REC")
        archive_link = page.get_by_role("link", name="Recordings archive")
        await expect(archive_link).to_have_attribute("href", "/archive")

        # One click: an exhibit note, with the court's local time to the second (court.time_zone, UTC+5 by
        # default; the record keeps UTC); it arrives once (reply and signaling message).
        panel = page.locator("#notes-panel")
        await panel.get_by_role("button", name="Exhibit").click()
        notes = page.locator("#notes-list li")
        await expect(notes).to_have_count(1)
        await expect(notes.first).to_contain_text("Exhibit")
        await expect(notes.first.locator(".note-time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
        # A typed note of a chosen kind, and a free note with Enter.
        await panel.get_by_label("Note text").fill("Counsel objects to the question")
        await panel.get_by_role("button", name="Objection").click()
        await panel.get_by_label("Note text").fill("Witness shown the delivery note")
        await panel.get_by_label("Note text").press("Enter")
        await expect(notes).to_have_count(3)
        await expect(notes.nth(0)).to_contain_text("Witness shown the delivery note")  # newest first
        await expect(notes.nth(1)).to_contain_text("Counsel objects to the question")
        await asyncio.sleep(1.0)
        await expect(notes).to_have_count(3)
        await expect(panel.get_by_label("Note text")).to_have_value("")

        # Pause and resume the recording.
        await page.get_by_role("button", name="Pause recording").click()
        await expect(page.locator("#h-rec")).to_have_text("Recording paused")
        await expect(page.get_by_role("button", name="Resume recording")).to_be_visible()
        await screenshot(page, "judge-log-notes")
        await page.get_by_role("button", name="Resume recording").click()
        await expect(page.locator("#h-rec")).to_have_text("● REC")
        # Closed, the hearing leaves the console's live view: no notes panel, no recording indicator.
        await api.ok("POST", f"/api/hearings/{hearing['id']}/close", None, judge_token)
        await expect(page.locator("#h-status")).to_have_text("Closed")
        await expect(page.locator("#notes-panel")).to_be_hidden()
        await expect(page.locator("#h-rec")).to_be_hidden()
        assert not [line for line in log if line.startswith("pageerror")], log

        # The notes are in the finished recording's transcript, where the archive shows them.
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            status, transcript = await api.call("GET", f"/api/recordings/{hearing['id']}/transcript",
                                                token=judge_token)
            if status == 200:
                break
            assert asyncio.get_running_loop().time() < deadline, (status, transcript)
            await asyncio.sleep(0.5)
        logged = [(e["note_kind"], e["text"]) for e in transcript["entries"] if e["kind"] == "note"]
        assert logged == [("exhibit", "Exhibit shown"), ("objection", "Counsel objects to the question"),
                          ("note", "Witness shown the delivery note")], logged
        events = [e.get("event") for e in transcript["entries"] if e["kind"] == "event"]
        assert "recording_paused" in events and "recording_resumed" in events, events
    finally:
        await ctx.close()


def has_class(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){name}(\s|$)")


# -- the catalog: paging, filters, full-text search, retention, legal hold, tombstones, the access log ------

SYNTHETIC = 55  # catalog rows made without media: more than one page of 50 with the two real recordings
SYNTHETIC_FROM = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc).timestamp()
KEPT_UNTIL = datetime(2036, 12, 2, 12, 0, tzinfo=timezone.utc).timestamp()
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def synthetic(index: int) -> Manifest:
    """A catalog row for a recording that was never made: enough of a manifest for the catalog (its media
    does not exist, so it is only ever listed and opened, never played)."""
    opened = SYNTHETIC_FROM + index * 3600.0
    duration = 60.0 + index
    segment = SegmentEntry(index=1, file="segment-000001.mp4", start=0.0, end=duration, size=4096,
                           sha256="0" * 64, chain="1" * 64)
    return Manifest(hearing_id=f"h_syn_{index:02d}", case_number=f"SYN-2025-{index:04d}",
                    title=f"Synthetic hearing {index}", court="Regional Court", courtroom=f"Room {index % 3 + 1}",
                    judge="judge2", judge_name="Judge Bo Lindqvist", opened_at=utc_iso(opened),
                    closed_at=utc_iso(opened + duration), status="final",
                    participants=[{"id": f"p_{index}", "name": f"Party Number{index}", "role": "witness"}],
                    segments=[segment])


async def add_synthetic(server: TestServer) -> None:
    """55 rows in the catalog, h_syn_00 (oldest) to h_syn_54, with: h_syn_54 kept until 2036-12-02, h_syn_53
    on legal hold, h_syn_52 failed its verification, h_syn_51 deleted by retention (a tombstone), and log
    notes about a forklift in h_syn_50."""
    catalog = server.app[RECORDER].archive.catalog
    for index in range(SYNTHETIC):
        texts = [(12.0, "note", "The forklift was serviced in March"),
                 (3725.0, "ruling", "Forklift evidence admitted")] if index == 50 else []
        await catalog.add(synthetic(index), texts)
    await catalog.set_retention("h_syn_54", KEPT_UNTIL)
    await catalog.hold("h_syn_53", "Appeal pending", "judge")
    await catalog.set_integrity("h_syn_52", {"status": "failed", "checked_at": time.time(), "checks": 5,
                                             "failures": ["segment 000001: sha256 differs"]}, "clerk")
    await catalog.tombstone("h_syn_51", "retention period ended 2025-06-01")


async def shot(page: Page, name: str, full_page: bool = False) -> Path:
    path = Path(f"/tmp/archive-{name}.png")
    await page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path


async def search_for(page: Page, **fields: str) -> None:
    """Fill the search form (fields by input name; unnamed ones emptied) and search."""
    form = page.locator("#search-form")
    for name in ("case_number", "court", "courtroom", "judge", "participant", "text"):
        await form.locator(f'[name="{name}"]').fill(fields.get(name, ""))
    await form.locator('[name="match"]').select_option(fields.get("match", "contains"))
    await form.locator('[name="deleted"]').set_checked(fields.get("deleted") == "1")
    await page.get_by_role("button", name="Search", exact=True).click()


async def test_clerk_pages_filters_and_searches_the_words_of_the_catalog(archive_server, browser: Browser) -> None:
    await add_synthetic(archive_server)
    base = base_url(archive_server)
    log: list[str] = []
    ctx = await browser.new_context(**DESKTOP)
    try:
        page = await ctx.new_page()
        collect_console(page, log)
        await sign_in(page, base, "clerk")
        rows = page.locator("#results tr.result")
        count = page.locator("#results-count")
        # An empty search: 56 recordings (the tombstone left out), a page of 50, newest first.
        await expect(count).to_have_text("56 recordings")
        await expect(rows).to_have_count(50)
        await expect(page.locator("#pager")).to_be_visible()
        await expect(page.locator("#pager-where")).to_have_text("Page 1")
        await expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
        ids = await rows.evaluate_all("rows => rows.map((r) => r.dataset.hearingId)")
        assert ids[:2] == ["h_other", "h_browser"] and ids[2:5] == ["h_syn_54", "h_syn_53", "h_syn_52"], ids
        assert "h_syn_51" not in ids
        # Retention, legal hold and integrity in each row.
        assert "kept until 2036-12-02" in await rows.nth(2).locator(".r-kept").inner_text()
        await expect(rows.nth(3).locator(".r-kept .badge-hold")).to_have_text("Legal hold")
        await expect(rows.nth(4).locator(".r-record [data-integrity]")).to_have_attribute("data-integrity", "failed")
        await expect(rows.nth(4).locator(".r-record")).to_contain_text("Verify failed")
        await expect(rows.nth(5).locator(".r-kept")).to_have_text("kept for ever")
        await expect(rows.nth(1).locator(".r-record")).to_contain_text("Unverified")
        await shot(page, "search-desktop")

        # The next page: the six oldest; Previous comes back to the first page from the stack of cursors.
        await page.get_by_role("button", name="Next page").click()
        await expect(page.locator("#pager-where")).to_have_text("Page 2")
        await expect(rows).to_have_count(6)
        await expect(rows.last).to_have_attribute("data-hearing-id", "h_syn_00")
        await expect(page.locator("#results-note")).to_have_text("Showing 51–56, newest first.")
        await expect(page.get_by_role("button", name="Next page")).to_be_disabled()
        await expect(count).to_have_text("56 recordings")
        await page.get_by_role("button", name="Previous page").click()
        await expect(page.locator("#pager-where")).to_have_text("Page 1")
        await expect(rows).to_have_count(50)
        await expect(rows.first).to_have_attribute("data-hearing-id", "h_other")

        # Include deleted: the tombstone is listed, marked; opened, it has no player and no download.
        await search_for(page, deleted="1")
        await expect(count).to_have_text("57 recordings")
        deleted = page.locator('#results tr.result[data-hearing-id="h_syn_51"]')
        await expect(deleted.locator(".badge-deleted")).to_have_text("Deleted")
        await expect(deleted.locator(".r-kept")).to_contain_text("deleted 20")
        await deleted.get_by_role("button", name="Open").click()
        await expect(page.locator("#rec-case")).to_have_text("SYN-2025-0051")
        tombstone = page.locator("#tombstone")
        await expect(tombstone).to_be_visible()
        await expect(tombstone).to_contain_text("Deleted by retention on 20")
        await expect(tombstone).to_contain_text("retention period ended 2025-06-01")
        for name in ("Play recording", "Download MP4", "Evidence package", "Verify", "Create link"):
            await expect(page.get_by_role("button", name=name)).to_have_count(0)
        await expect(page.locator("#hold-place")).to_be_hidden()
        await expect(page.locator("#audit-panel")).to_be_visible()
        await expect(page.locator("#audit-rows")).to_contain_text("Opened the record")
        await shot(page, "tombstone-desktop")
        # Back: the same results, the same page.
        await page.get_by_role("button", name="Back to the results").click()
        await expect(count).to_have_text("57 recordings")
        await expect(deleted).to_be_visible()

        # The case number contains, or starts with, what was typed.
        await search_for(page, case_number="2025")
        await expect(count).to_have_text("54 recordings")  # 55 made, one deleted
        await search_for(page, case_number="2025", match="prefix")
        await expect(count).to_have_text("No recordings")
        await expect(page.locator("#results-note")).to_have_text("No recording matches this search.")
        await expect(page.locator("#pager")).to_be_hidden()
        await search_for(page, case_number="syn-2025-001", match="prefix")
        await expect(count).to_have_text("10 recordings")
        await expect(page.locator("#pager")).to_be_hidden()
        # Courtroom, participant, court and judge.
        await search_for(page, courtroom="room 2")
        in_room_2 = [i for i in range(SYNTHETIC) if i % 3 == 1 and i != 51]
        await expect(count).to_have_text(f"{len(in_room_2)} recordings")
        await search_for(page, participant="dana")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-hearing-id", "h_browser")
        await search_for(page, court="district", judge="Bo Lindqvist")
        await expect(count).to_have_text("No recordings")
        await search_for(page, court="regional", judge="Bo Lindqvist", courtroom="Room 3")
        await expect(count).to_have_text(f"{len([i for i in range(SYNTHETIC) if i % 3 == 2])} recordings")

        # Words in the log notes: each recording found shows where, as h:mm:ss, with the words marked.
        await search_for(page, text="forklift")
        await expect(count).to_have_text("1 recording")
        await expect(rows.first).to_have_attribute("data-hearing-id", "h_syn_50")
        hits = page.locator('#results tr.hits-row[data-hearing-id="h_syn_50"] li.hit')
        await expect(hits).to_have_count(2)
        await expect(hits.nth(0)).to_contain_text("0:00:12")
        await expect(hits.nth(0)).to_contain_text("The forklift was serviced in March")
        await expect(hits.nth(0).locator("mark")).to_have_text("forklift")
        await expect(hits.nth(1)).to_contain_text("1:02:05")
        await expect(hits.nth(1)).to_contain_text("Ruling")
        await expect(hits.nth(1).locator("mark")).to_have_text("Forklift")

        # A word of a real recording's exhibit note; choosing the hit opens the recording and plays from it.
        await search_for(page, text="delivery")
        await expect(rows).to_have_count(1)
        hit = page.locator('#results tr.hits-row[data-hearing-id="h_browser"] li.hit')
        await expect(hit).to_have_count(1)
        await expect(hit).to_contain_text("0:00:06")
        await expect(hit).to_contain_text("Exhibit 4: the delivery note")
        await expect(hit.locator(".hit-kind")).to_have_text("Exhibit")
        await shot(page, "text-search-desktop")
        await page.evaluate("""() => {
          window.__seekedAt = null;
          const video = document.querySelector('#recording-video');
          video.addEventListener('seeked', () => { window.__seekedAt = video.currentTime; }, { once: true });
        }""")
        await hit.get_by_role("button").click()
        await expect(page.locator("#rec-case")).to_have_text(CASE)
        at = await poll(page, "window.__seekedAt", lambda v: v is not None, 15, "the seek to the hit")
        assert abs(at - NOTE_OFFSET) <= 0.5, at
        note = page.locator('#transcript .t-line[data-kind="note"][data-note-kind="exhibit"]')
        await expect(note).to_have_class(has_class("current"))
        await page.evaluate("document.querySelector('#recording-video').pause()")
        # Back to the results of that search.
        await page.get_by_role("button", name="Back to the results").click()
        await expect(hit).to_be_visible()
        await expect(page.locator('#search-form [name="text"]')).to_have_value("delivery")

        # On a phone: the form and the results (cards) fit the width.
        phone_ctx = await browser.new_context(**PHONE)
        try:
            phone = await phone_ctx.new_page()
            collect_console(phone, log)
            await sign_in(phone, base, "clerk")
            await expect(phone.locator("#results tr.result")).to_have_count(50)
            await shot(phone, "search-phone")
            assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
            await phone.locator("#search-form [name=text]").fill("forklift")
            await phone.get_by_role("button", name="Search", exact=True).click()
            await expect(phone.locator("#results tr.result")).to_have_count(1)
            await phone.locator("#results-count").scroll_into_view_if_needed()
            await shot(phone, "text-search-phone")
            assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
        finally:
            await phone_ctx.close()
        assert not [line for line in log if line.startswith("pageerror")], log
    finally:
        await ctx.close()


async def test_more_than_ten_thousand_recordings_are_shown_a_page_at_a_time(server, browser: Browser) -> None:
    """10,050 rows straight into the catalog's table: the count says "more than 10,000" and the page only
    ever holds one page of results."""
    archive = server.app[RECORDER].archive
    now = time.time()
    rows = [{"hearing_id": f"h_many_{i:05d}", "case_number": f"BULK-{i:05d}", "case_key": f"bulk-{i:05d}",
             "title": f"Bulk hearing {i}", "court": "Regional Court", "court_key": "regional court",
             "opened_at": now - 86400 - i * 60.0, "opened_iso": utc_iso(now - 86400 - i * 60.0),
             "status": "final", "duration": 600.0, "segments": 1, "manifest_sha256": "0" * 64,
             "detail": {}, "indexed_at": now} for i in range(10_050)]
    async with archive.db.transaction() as conn:
        await conn.execute(insert(recordings), rows)
    base = base_url(server)
    ctx = await browser.new_context(**DESKTOP)
    try:
        page = await ctx.new_page()
        await sign_in(page, base, "clerk")
        count = page.locator("#results-count")
        await expect(count).to_have_text("More than 10,000 recordings")
        await expect(count).to_have_attribute("data-capped", "true")
        results = page.locator("#results tr.result")
        await expect(results).to_have_count(50)
        await expect(results.first).to_have_attribute("data-hearing-id", "h_many_00000")
        for page_number in (2, 3):
            await page.get_by_role("button", name="Next page").click()
            await expect(page.locator("#pager-where")).to_have_text(f"Page {page_number}")
            await expect(results).to_have_count(50)
            assert await page.locator("#results tr").count() == 50  # one page in the document, never more
        await expect(results.first).to_have_attribute("data-hearing-id", "h_many_00100")
        await expect(page.locator("#results-note")).to_have_text("Showing 101–150, newest first.")
        await page.get_by_role("button", name="Previous page").click()
        await expect(results.first).to_have_attribute("data-hearing-id", "h_many_00050")
        # A narrower search is counted exactly again.
        await search_for(page, case_number="BULK-0000", match="prefix")
        await expect(count).to_have_text("10 recordings")
        await expect(page.locator("#pager")).to_be_hidden()
    finally:
        await ctx.close()


async def test_a_judge_places_and_lifts_a_legal_hold_and_a_clerk_may_not(archive_server, browser: Browser) -> None:
    base = base_url(archive_server)
    log: list[str] = []
    judge_ctx = await browser.new_context(**DESKTOP)
    clerk_ctx = await browser.new_context(**DESKTOP)
    try:
        # A clerk sees the retention and that there is no hold, but no button to place one.
        clerk = await clerk_ctx.new_page()
        collect_console(clerk, log)
        await sign_in(clerk, base, "clerk")
        await clerk.locator('#results tr.result[data-hearing-id="h_other"]').get_by_role("button", name="Open").click()
        await expect(clerk.locator("#rec-case")).to_have_text("CR-2026-0007")
        await expect(clerk.locator("#retention-line")).to_have_text("Kept for ever (no retention period applies).")
        await expect(clerk.locator("#hold-line")).to_have_text("No legal hold.")
        await expect(clerk.get_by_role("button", name="Place legal hold")).to_have_count(0)
        await expect(clerk.locator("#hold-actions")).to_be_hidden()

        judge = await judge_ctx.new_page()
        collect_console(judge, log)
        await sign_in(judge, base, "judge")
        other = judge.locator('#results tr.result[data-hearing-id="h_other"]')
        await expect(other.locator(".r-kept")).to_have_text("kept for ever")
        await other.get_by_role("button", name="Open").click()
        await expect(judge.locator("#rec-case")).to_have_text("CR-2026-0007")
        await expect(judge.locator("#hold-badge")).to_be_hidden()
        # The reason is asked for; what is typed is shown as text, never as markup.
        await judge.get_by_role("button", name="Place legal hold").click()
        reason = "Appeal lodged <b>CA-2027-0012</b>"
        await judge.get_by_label("Reason for the hold").fill(reason)
        await judge.get_by_role("button", name="Place hold", exact=True).click()
        await expect(judge.locator("#hold-badge")).to_be_visible()
        await expect(judge.locator("#hold-badge")).to_have_text("Legal hold")
        await expect(judge.locator("#hold-line")).to_contain_text(f"Reason: {reason}")
        await expect(judge.locator("#hold-line")).to_contain_text("by judge")
        assert await judge.locator("#hold-line b").count() == 0
        await expect(judge.locator("#status")).to_contain_text("Legal hold placed")
        await expect(judge.locator("#hold-form")).to_be_hidden()
        await expect(judge.get_by_role("button", name="Place legal hold")).to_be_hidden()
        await expect(judge.get_by_role("button", name="Lift hold")).to_be_visible()
        client = ApiClient(base)
        try:
            clerk_token = await client.login("clerk")
            detail = await client.ok("GET", "/api/recordings/h_other", None, clerk_token)
            assert detail["legal_hold"] is True and detail["hold"]["reason"] == reason, detail
            assert detail["hold"]["by"] == "judge", detail
        finally:
            await client.close()
        await shot(judge, "hold-desktop")
        # The results row says so too, without searching again.
        await judge.get_by_role("button", name="Back to the results").click()
        await expect(other.locator(".r-kept .badge-hold")).to_have_text("Legal hold")
        await other.get_by_role("button", name="Open").click()

        # The clerk sees the hold (after a reload), still without a button.
        await clerk.reload()
        await expect(clerk.locator("#hold-badge")).to_be_visible()
        await expect(clerk.locator("#hold-line")).to_contain_text(f"Reason: {reason}")
        await expect(clerk.locator("#hold-actions")).to_be_hidden()
        await expect(clerk.locator("#audit-rows")).to_contain_text(f"Placed a legal hold: {reason}")

        # Lifting asks to confirm; then the hold is gone.
        lift = judge.get_by_role("button", name="Lift hold")
        await lift.click()
        await expect(judge.locator("#hold-lift")).to_have_text("Confirm lift hold")
        await judge.locator("#hold-lift").click()
        await expect(judge.locator("#hold-badge")).to_be_hidden()
        await expect(judge.locator("#hold-line")).to_have_text("No legal hold.")
        await expect(judge.get_by_role("button", name="Place legal hold")).to_be_visible()
        await expect(judge.locator("#status")).to_contain_text("Legal hold lifted")

        # A refusal is shown the way the page shows errors: here the recording was deleted meanwhile.
        await archive_server.app[RECORDER].archive.catalog.tombstone("h_other", "retention period ended 2026-01-01")
        await judge.get_by_role("button", name="Place legal hold").click()
        await judge.get_by_label("Reason for the hold").fill("Too late")
        await judge.get_by_role("button", name="Place hold", exact=True).click()
        status = judge.locator("#status")
        await expect(status).to_have_class(re.compile("statusline-error"))
        await expect(status).to_contain_text("Could not place the legal hold: recording not found (not_found)")
        await expect(judge.locator("#hold-badge")).to_be_hidden()
        # On a phone the recording's page (here its hold panel) fits the width.
        phone_ctx = await browser.new_context(**PHONE)
        try:
            phone = await phone_ctx.new_page()
            await sign_in(phone, base, "judge")
            await phone.locator('#results tr.result[data-hearing-id="h_browser"]').get_by_role(
                "button", name="Open").click()
            await expect(phone.locator("#rec-case")).to_have_text(CASE)
            await phone.get_by_role("button", name="Place legal hold").click()
            await phone.locator("#hold-panel").scroll_into_view_if_needed()
            await shot(phone, "hold-phone")
            assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
            await shot(phone, "recording-phone-full", full_page=True)
        finally:
            await phone_ctx.close()
        assert not [line for line in log if line.startswith("pageerror")], log
    finally:
        await clerk_ctx.close()
        await judge_ctx.close()


async def test_the_access_log_pages_back_to_older_entries(archive_server, browser: Browser) -> None:
    audit = archive_server.app[RECORDER].archive.audit
    for index in range(130):
        await audit.record("share_revoked", "h_other", "admin", "admin", "10.0.0.9", share_id=f"s_{index:03d}")
    base = base_url(archive_server)
    ctx = await browser.new_context(**DESKTOP)
    try:
        page = await ctx.new_page()
        await sign_in(page, base, "clerk")
        await page.locator('#results tr.result[data-hearing-id="h_other"]').get_by_role("button", name="Open").click()
        await expect(page.locator("#rec-case")).to_have_text("CR-2026-0007")
        entries = page.locator("#audit-rows tr")
        await expect(entries).to_have_count(100)
        older = page.get_by_role("button", name="Older entries")
        await expect(older).to_be_visible()
        await expect(page.locator("#audit-shown")).to_have_text("100 entries shown, newest first.")
        first = await entries.evaluate_all("rows => rows.map((r) => Number(r.dataset.seq))")
        await older.click()
        await expect(older).to_be_hidden()
        await expect(page.locator("#audit-shown")).to_contain_text("that is all of them")
        seqs = await entries.evaluate_all("rows => rows.map((r) => Number(r.dataset.seq))")
        assert len(seqs) >= 131 and seqs[:100] == first, seqs  # 130 made, the clerk's own view and more
        assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs), seqs
        # Sequence number and node in their own columns.
        last = entries.last
        await expect(last.locator(".audit-seq")).to_have_text(str(seqs[-1]))
        await expect(last.locator(".audit-node")).to_have_text(audit.node)
        await expect(last).to_contain_text("Revoked a share link")
        await page.locator(".audit-foot").scroll_into_view_if_needed()
        await shot(page, "audit-desktop")
        # Refresh shows the newest page again.
        await page.get_by_role("button", name="Refresh").click()
        await expect(entries).to_have_count(100)
        await expect(older).to_be_visible()
    finally:
        await ctx.close()
