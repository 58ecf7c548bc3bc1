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
from pathlib import Path
from typing import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from hearing_server.app import RECORDER, create_app
from hearing_server.store import MemoryStore

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
    # Links handed out before the page is opened: one that lapsed long ago (straight into the register, the
    # audit log, as the server writes it) and a live one the judge made through the API.
    await archive_server.app[RECORDER].audit.record(
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
        await expect(page.locator("#results tr")).to_have_count(2)
        await page.get_by_label("Case number").fill("0931")
        await page.get_by_role("button", name="Search").click()
        rows = page.locator("#results tr")
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

        # One click: an exhibit note, with its UTC time; it arrives once (reply and signaling message).
        panel = page.locator("#notes-panel")
        await panel.get_by_role("button", name="Exhibit").click()
        notes = page.locator("#notes-list li")
        await expect(notes).to_have_count(1)
        await expect(notes.first).to_contain_text("Exhibit")
        await expect(notes.first).to_contain_text("UTC")
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
