"""Every page, in every language, passes axe-core's WCAG 2.1 AA rules with no violation: the join page (the
check screen), the judge's sign-in and console, the archive's sign-in and the shared-recording page."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from hearing_server.i18n import LANGUAGES, catalog

from .accessibility import assert_accessible
from .helpers import PASSWORD
from .test_browser import PHONE, base_url, browser, screenshot

pytestmark = pytest.mark.browser
__all__ = ["browser"]

LOCALES = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-GB"}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_page_passes_wcag_21_aa(server, api, browser: Browser, language: str) -> None:
    words = catalog(language)
    base = base_url(server)
    judge = await api.login("judge")
    hearing = await api.new_hearing(judge)
    invite = await api.invite(judge, hearing["id"], "Ana Silva")
    phone = await browser.new_context(locale=LOCALES[language], permissions=["camera", "microphone"], **PHONE)
    desk = await browser.new_context(locale=LOCALES[language], viewport={"width": 1366, "height": 768},
                                     permissions=["camera", "microphone"])
    try:
        page = await phone.new_page()
        await page.goto(f"{base}/join#token={invite['token']}")
        await expect(page.locator("#setup-title")).to_have_text(words["join.setup.title"])
        await expect(page.locator("#device-check")).to_be_visible()
        await assert_accessible(page, f"join ({language})")
        await screenshot(page, f"a11y-{language}-join")
        await page.get_by_role("button", name=words["join.join_button"]).tap()
        await expect(page.locator("#lobby-title")).to_have_text(words["join.lobby.title"])
        await assert_accessible(page, f"waiting room ({language})")

        console = await desk.new_page()
        await console.goto(f"{base}/judge")
        await expect(console.locator("#login-title")).to_have_text(words["judge.sign_in"])
        await assert_accessible(console, f"judge sign-in ({language})")
        await console.locator("#login-username").fill("judge")
        await console.locator("#login-password").fill(PASSWORD)
        await console.locator("#login-submit").click()
        await console.locator(".hearing-item").first.click()
        await expect(console.locator(".entrant")).to_be_visible(timeout=10000)
        await assert_accessible(console, f"judge console ({language})")
        await screenshot(console, f"a11y-{language}-judge")

        archive = await desk.new_page()
        await archive.goto(f"{base}/archive")
        await expect(archive.locator("#language-select")).to_be_visible()
        await assert_accessible(archive, f"archive ({language})")
        await screenshot(archive, f"a11y-{language}-archive")
        shared = await phone.new_page()
        await shared.goto(f"{base}/shared")
        await expect(shared.locator("#language-select")).to_be_visible()
        await assert_accessible(shared, f"shared recording ({language})")
        await screenshot(shared, f"a11y-{language}-shared")
    finally:
        await phone.close()
        await desk.close()
