"""The judge's console in Kazakh at 1366×768: someone waiting before the hearing is opened shows at once (with
a badge and a chime), Lock/Recess/Close and the note form are in view without scrolling, the people invited and
not yet here are listed with a way to give them a new link, a raised hand can be lowered, the page reflows at
200 % zoom, and the closed hearing links to its recording. Driven in Debian's Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from hearing_server.i18n import catalog

from .helpers import PASSWORD, Participant
from .page_text import latin_words, page_words
from .test_browser import base_url, browser, collect_console, screenshot
from .waiting import until

pytestmark = pytest.mark.browser
__all__ = ["browser"]

DESKTOP = {"width": 1366, "height": 768}
# What the page shows that is data, not its own words: the test accounts' and parties' names, the case.
DATA = ("Judge Amira Haddad", "Ana Silva", "Ben Okafor", "Haddad v. Northwind Ltd", "CV-2026-0142",
        "District Court", "Courtroom 3", "judge", "ben@example.org", "Wi-Fi")


async def in_view(page: Page, selector: str) -> None:
    box = await page.locator(selector).bounding_box()
    assert box is not None, selector
    viewport = page.viewport_size or DESKTOP
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (selector, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (selector, box)


async def test_the_judges_console_in_kazakh_at_1366_by_768(server, api, browser: Browser) -> None:
    kk = catalog("kk")
    base = base_url(server)
    judge_token = await api.login("judge")
    hearing = await api.new_hearing(judge_token, open_it=False)
    hid = hearing["id"]
    early = await api.invite(judge_token, hid, "Ana Silva")
    await api.ok("POST", f"/api/hearings/{hid}/invites", {"name": "Ben Okafor", "role": "witness",
                                                          "email": "ben@example.org"}, judge_token)
    ana = Participant(base, early["token"], name="Ana Silva", tone=600.0)
    log: list[str] = []
    context = await browser.new_context(locale="kk-KZ", viewport=DESKTOP, permissions=["camera", "microphone"])
    try:
        assert (await ana.connect())["state"] == "lobby"  # arrives before the hearing is opened
        page = await context.new_page()
        collect_console(page, log)
        await page.goto(f"{base}/judge")
        await page.locator("#login-username").fill("judge")
        await page.locator("#login-password").fill(PASSWORD)
        await page.locator("#login-submit").click()
        await page.locator(".hearing-item").first.click()

        # Waiting before the hearing is opened: in the lobby panel at once, with a badge and a chime.
        card = page.locator(".entrant", has_text="Ana Silva")
        await expect(card).to_be_visible(timeout=10000)
        await expect(page.locator("#lobby-badge")).to_be_visible()
        assert re.match(r"^\(1\) ", await page.title()), await page.title()
        assert await page.evaluate("window.__hearing.chimes || 0") >= 1
        await expect(card.get_by_role("button", name=kk["lobby.admit"])).to_be_disabled()
        invited = page.locator(".invited-item", has_text="Ben Okafor")
        await expect(invited).to_be_visible()
        await screenshot(page, "kk-judge-before-opening")

        await page.get_by_role("button", name=kk["judge.action.open"]).click()
        await expect(page.locator("#h-status")).to_have_text(kk["status.open"])
        await expect(page.locator("#conn-text")).to_have_text(kk["judge.conn.connected"], timeout=15000)
        await card.get_by_role("button", name=kk["lobby.admit"]).click()
        await expect(page.locator(".roster-item", has_text="Ana Silva")).to_be_visible(timeout=10000)
        await ana.expect("admitted")
        await ana.start_media()

        # Everything the judge needs is in view without scrolling.
        await screenshot(page, "kk-judge-layout")
        for selector in ('[data-action="lock"]', '[data-action="recess"]', '[data-action="close"]', "#note-text",
                         "#note-form button[type=submit]"):
            await in_view(page, selector)
        english = latin_words(await page_words(page, DATA))
        assert not english, english

        # A raised hand, seen and lowered; who speaks is marked.
        await ana.send({"type": "hand", "raised": True})
        row = page.locator(".roster-item", has_text="Ana Silva")
        await expect(row.locator(".flag-hand")).to_have_text(kk["roster.hand_raised"], timeout=10000)
        await expect(row.locator(".flag-speaking")).to_be_visible(timeout=10000)
        await screenshot(page, "kk-judge-in-hearing")
        await row.get_by_role("button", name=kk["roster.lower_hand"]).click()
        await expect(row.locator(".flag-hand")).to_have_count(0, timeout=10000)
        await until(lambda: any(not p["hand_raised"] for m in ana.of_type("roster")[-1:]
                                for p in m["participants"] if p["name"] == "Ana Silva"), 5.0,
                    what="Ana's hand lowered")

        # A new link for the one not yet here: the old one stops working.
        button = invited.get_by_role("button", name=kk["invited.show_link"])
        await button.click()
        await screenshot(page, "kk-judge-new-link-armed")
        await invited.get_by_role("button", name=kk["invited.confirm_new_link"]).click()
        await expect(page.locator("#invite-result")).to_be_visible()
        assert "/join#token=" in await page.locator("#invite-link").input_value()

        # At 200 % zoom (a 683×384 CSS-pixel window) the page reflows instead of spilling sideways.
        await page.set_viewport_size({"width": 683, "height": 384})
        overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, overflow
        await screenshot(page, "kk-judge-zoom-200")
        controls = await page.locator(".hearing-controls").bounding_box()
        side = await page.locator("#side-column").bounding_box()
        assert controls and side and controls["y"] + controls["height"] <= side["y"], (controls, side)
        await page.set_viewport_size(DESKTOP)

        await page.get_by_role("button", name=kk["judge.action.close"]).click()
        await page.get_by_role("button", name=kk["judge.confirm_close"]).click()
        await expect(page.locator("#h-status")).to_have_text(kk["status.closed"])
        link = page.locator("#recording-link")
        await expect(link).to_be_visible()
        assert await link.get_attribute("href") == f"/archive#recording={hid}"
        await screenshot(page, "kk-judge-closed")
        assert not [line for line in log if line.startswith("pageerror")], log
    finally:
        await ana.close()
        await context.close()
