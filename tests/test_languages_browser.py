"""A phone set to Kazakh joins: every word on its screens is Kazakh, its own Kazakh name is drawn as written in
the picture it receives, it comes back into its seat after closing its tab (same link), and Russian chosen on
the page stays chosen. Driven in Debian's Chromium in a phone viewport; screenshots in test-artifacts/."""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.async_api import Browser, expect

from hearing_server.i18n import catalog

from .page_text import latin_words, page_words
from .test_browser import (
    ARTIFACTS,
    FRAMES_DECODED,
    PHONE,
    base_url,
    browser,
    collect_console,
    poll,
    positive,
    screenshot,
)

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the fixture, shared with test_browser

NAME, ROLE, CASE = "Айгерім Бекова", "witness", "№2-123/2026"
DATA = ("Judge Amira Haddad",)

# The composite the phone receives, as its <video> shows it, in grey (the label is white on black).
GRAB_PICTURE = """() => {
  const video = document.querySelector('#remote');
  if (!video || !video.videoWidth) return '';
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  return canvas.toDataURL('image/png');
}"""


def assert_all_kazakh(text: str, where: str) -> None:
    """No English word on the screen (but the data it shows: the test court's judge has an English name)."""
    english_words = latin_words(text)
    assert not english_words, f"{where}: English on a Kazakh screen: {english_words} in {text!r}"
    assert re.search("[әғқңөұүһі]", text), f"{where}: no Kazakh letter in {text!r}"


def label_found(picture: np.ndarray, label: str) -> float:
    """How well the picture holds the label as OpenCV draws it (normalised correlation, best over the sizes
    of a 360p or 720p composite, white on black or, for a speaker, dark on green)."""
    best = 0.0
    for size in np.arange(0.4, 1.45, 0.025):
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, float(size), 1)
        canvas = np.zeros((th + base + 8, tw + 8), np.uint8)
        cv2.putText(canvas, label, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, float(size), 255, 1, cv2.LINE_AA)
        if canvas.shape[0] < picture.shape[0] and canvas.shape[1] < picture.shape[1]:
            for template in (canvas, 255 - canvas):
                best = max(best, float(cv2.matchTemplate(picture, template, cv2.TM_CCOEFF_NORMED).max()))
    return best


async def test_a_phone_in_kazakh_joins_rejoins_and_reads_its_name_in_the_picture(server, api, settings,
                                                                                 browser: Browser):
    kk = catalog("kk")
    base = base_url(server)
    judge = await api.login("judge")
    hearing = await api.ok("POST", "/api/hearings", {
        "case_number": CASE, "title": "Бекова – Нұрланов", "court": "Астана қаласының №2 аудандық соты",
        "courtroom": "Зал №3", "scheduled_start": "2026-12-07T09:00:00+05:00"}, judge)
    hid = hearing["id"]
    await api.ok("POST", f"/api/hearings/{hid}/open", None, judge)
    invite = await api.invite(judge, hid, NAME, ROLE)
    link = f"{base}/join#token={invite['token']}"
    pid = invite["participant"]["id"]
    log: list[str] = []
    context = await browser.new_context(locale="kk-KZ", permissions=["camera", "microphone"], **PHONE)
    try:
        phone = await context.new_page()
        collect_console(phone, log)
        await phone.goto(link)
        await expect(phone.locator("#setup-title")).to_have_text(kk["join.setup.title"])
        assert await phone.evaluate("document.documentElement.lang") == "kk"
        await expect(phone.locator("#invite-line")).to_contain_text(kk["role.witness"])
        # The device check: pickers, a level meter that moves with the (fake, beeping) microphone, a speaker test.
        await expect(phone.locator("#device-check")).to_be_visible()
        await poll(phone, "document.querySelector('#mic-level').value", lambda v: v > 0.05, 10, "the level meter")
        await phone.get_by_role("button", name=kk["devices.speaker_test"]).tap()
        await expect(phone.locator("#speaker-note")).to_be_visible()
        assert_all_kazakh(await page_words(phone, DATA), "the join page")
        await screenshot(phone, "kk-phone-join")

        await phone.get_by_role("button", name=kk["join.join_button"]).tap()
        await expect(phone.locator("#lobby-title")).to_have_text(kk["join.lobby.title"])
        assert_all_kazakh(await page_words(phone, DATA), "the waiting room")
        await screenshot(phone, "kk-phone-waiting")

        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
        await expect(phone.get_by_role("button", name=kk["join.leave"], exact=True)).to_be_visible(timeout=10000)
        await poll(phone, FRAMES_DECODED, positive, 20, "the composite on the phone")
        await poll(phone, "document.querySelector('#remote').videoWidth", positive, 10, "the phone's video")
        picture = None
        drawn = 0.0
        label = f"{NAME}  ({kk['role.witness']})"
        for _ in range(20):  # the phone's own tile appears once its camera reaches the server
            data = await phone.evaluate(GRAB_PICTURE)
            if data:
                png = np.frombuffer(base64.b64decode(data.split(",", 1)[1]), np.uint8)
                picture = cv2.imdecode(png, cv2.IMREAD_GRAYSCALE)
                drawn = label_found(picture, label)
                if drawn > 0.8:
                    break
            await phone.wait_for_timeout(500)
        assert picture is not None
        cv2.imwrite(str(screenshot_path("kk-phone-composite")), picture)
        replaced = label_found(picture, "?" * len(NAME) + f"  ({'?' * len(kk['role.witness'])})")
        assert drawn > 0.8 and replaced < drawn - 0.2, (drawn, replaced)
        assert_all_kazakh(await page_words(phone, DATA), "the hearing")
        await screenshot(phone, "kk-phone-hearing")

        # Its own voice is heard by the server: marked as speaking in the list, in words too.
        await expect(phone.locator(".person-speaking .speaking-tag")).to_have_text(kk["person.speaking"],
                                                                                   timeout=10000)
        # The court's mute is not the person's switch; a raised hand reaches the court.
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/mute", token=judge)
        mute = phone.locator("#mute-button")
        await expect(mute).to_be_disabled()
        await expect(mute).to_contain_text(kk["join.muted_by_court"])
        await phone.keyboard.press("m")  # the shortcut cannot undo the court's mute either
        await expect(mute).to_contain_text(kk["join.muted_by_court"])
        await phone.get_by_role("button", name=kk["join.raise_hand"]).tap()
        await expect(phone.locator(".hand-tag")).to_have_text(kk["person.hand_raised"])
        people = (await api.ok("GET", f"/api/hearings/{hid}/participants", token=judge))["participants"]
        assert [p["hand_raised"] for p in people if p["id"] == pid] == [True]
        await screenshot(phone, "kk-phone-muted-hand-raised")
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/unmute", token=judge)
        await expect(mute).to_be_enabled()
        await expect(phone.get_by_role("button", name=kk["join.raise_hand"])).to_be_visible()  # the floor given
        await expect(phone.locator("#connection-line")).to_be_visible(timeout=10000)
        # Sideways: the picture takes the screen's height, the controls stay within reach beside it.
        await phone.set_viewport_size({"width": 844, "height": 390})
        stage = await phone.locator("#stage").bounding_box()
        leave = await phone.get_by_role("button", name=kk["join.leave"], exact=True).bounding_box()
        assert stage is not None and leave is not None
        assert stage["height"] >= 330 and leave["y"] + leave["height"] <= 390 and leave["x"] >= stage["width"], \
            (stage, leave)
        await screenshot(phone, "kk-phone-landscape")
        await phone.set_viewport_size(PHONE["viewport"])

        # The tab is closed; the same link opened again: back in the seat, no new link, no lobby.
        await phone.close()
        phone = await context.new_page()
        collect_console(phone, log)
        await phone.goto(link)
        await phone.get_by_role("button", name=kk["join.join_button"]).tap()
        await expect(phone.get_by_role("button", name=kk["join.leave"], exact=True)).to_be_visible(timeout=10000)
        await poll(phone, FRAMES_DECODED, positive, 20, "the composite after rejoining")
        participants = (await api.ok("GET", f"/api/hearings/{hid}/participants", token=judge))["participants"]
        assert [p["state"] for p in participants if p["id"] == pid] == ["admitted"]
        await screenshot(phone, "kk-phone-rejoined")

        # After a long drop (longer than the grace period) the same link leads to the waiting room, and the
        # page says why; the court sees "returning — admitted at …".
        settings.media.reconnect_grace_seconds = 0.3
        await phone.close()
        await asyncio.sleep(1.0)
        phone = await context.new_page()
        collect_console(phone, log)
        await phone.goto(link)
        await phone.get_by_role("button", name=kk["join.join_button"]).tap()
        await expect(phone.locator("#lobby-title")).to_have_text(kk["join.lobby.title"], timeout=10000)
        await expect(phone.locator("#banner")).to_have_text(kk["join.returning.away_too_long"])
        entrant = (await api.ok("GET", f"/api/hearings/{hid}/lobby", token=judge))["entrants"][0]
        assert entrant["returning"] == "away_too_long" and entrant["admitted_at"]
        await screenshot(phone, "kk-phone-back-in-the-waiting-room")
        settings.media.reconnect_grace_seconds = 8
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
        await expect(phone.get_by_role("button", name=kk["join.leave"], exact=True)).to_be_visible(timeout=10000)

        # Russian chosen on the page: at once, and still after a reload.
        ru = catalog("ru")
        await phone.locator("#language-select").select_option("ru")
        await expect(phone.locator("#people-title")).to_have_text(ru["join.people_title"])
        await expect(phone.get_by_role("button", name=ru["join.leave"], exact=True)).to_be_visible()
        await phone.reload()  # the session brings it straight back into the hearing, in Russian
        await expect(phone.get_by_role("button", name=ru["join.leave"], exact=True)).to_be_visible(timeout=10000)
        await expect(phone.locator("#people-title")).to_have_text(ru["join.people_title"])
        assert await phone.evaluate("document.documentElement.lang") == "ru"
        await screenshot(phone, "ru-phone-after-reload")
        assert not [line for line in log if line.startswith("pageerror")], log
    finally:
        await context.close()


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"
