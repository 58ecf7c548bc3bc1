"""The judge console's courtroom camera chooser, in Debian's Chromium: the courtroom PC joins a hearing with
two named cameras and a microphone; the judge sees both cameras online, takes one out of the picture, and sees
it turn "camera offline" when it stops sending pictures; a console opened later gets the list from the API."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import AsyncIterator

import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from playwright.async_api import Browser, Page, async_playwright, expect

from .helpers import PASSWORD, ApiClient, Participant, PatternTrack, ToneTrack
from .test_browser import CHROMIUM, CHROMIUM_ARGS, base_url, collect_console, screenshot

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 900}}
CASE = "CR-2026-0412"
BENCH, WITNESS, JUDGE_MIC = "Judge's bench", "Witness stand", "Judge"


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


class CourtroomPC(Participant):
    """The courtroom PC as the server sees it: a staff connection (role courtroom) that sends several named
    sources, one sendonly m-line each, named by mid in the offer's `sources`."""

    def __init__(self, base: str, token: str, hearing_id: str,
                 sources: list[tuple[str, MediaStreamTrack]]) -> None:
        super().__init__(base, token, hearing_id=hearing_id)
        self.sources = sources  # (name, track)

    async def start_media(self) -> None:
        self.pc = RTCPeerConnection()
        transceivers = [self.pc.addTransceiver(track, direction="sendonly") for _, track in self.sources]
        await self.pc.setLocalDescription(await self.pc.createOffer())
        names = {t.mid: name for t, (name, _) in zip(transceivers, self.sources)}
        assert None not in names and len(names) == len(self.sources), names
        count = len(self.messages)
        await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp, "sources": names})
        answer = await self.expect("answer", "error", after=count)
        assert answer["type"] == "answer", answer
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))


async def sign_in_and_open(page: Page, base: str, case_number: str, user: str = "judge") -> None:
    await page.goto(f"{base}/judge")
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.locator(".hearing-item", has_text=case_number).click()
    await expect(page.locator("#h-status")).to_have_text("In session")


async def listed_cameras(api: ApiClient, hearing_id: str, token: str) -> dict[str, dict]:
    data = await api.ok("GET", f"/api/hearings/{hearing_id}/cameras", token=token)
    return {c["label"]: c for c in data["cameras"]}


async def test_judge_chooses_courtroom_cameras_and_sees_one_go_offline(server, api: ApiClient,
                                                                      browser: Browser) -> None:
    judge_token = await api.login("judge")
    hearing = await api.new_hearing(judge_token, case_number=CASE)
    hid = hearing["id"]
    base = base_url(server)
    log: list[str] = []
    bench_track = PatternTrack((140, 60, 20))  # BGR: a blue picture
    witness_track = PatternTrack((40, 140, 40))  # a green one
    courtroom = CourtroomPC(base, await api.login("courtroom1"), hid,
                            [(BENCH, bench_track), (WITNESS, witness_track), (JUDGE_MIC, ToneTrack(440))])
    ctx = await browser.new_context(**DESKTOP, permissions=["camera", "microphone"])
    try:
        page = await ctx.new_page()
        collect_console(page, log)
        await sign_in_and_open(page, base, CASE)
        await expect(page.locator("#conn-text")).to_have_text("Connected to the hearing", timeout=30000)
        panel = page.locator("#cameras-panel")
        await expect(panel).to_be_hidden()  # no courtroom cameras yet: no panel

        # The courtroom PC joins with its two named cameras and a microphone; the "cameras" message brings
        # them to the open console, both online and in the picture.
        welcome = await courtroom.connect()
        assert welcome["type"] == "welcome" and welcome["state"] == "admitted", welcome
        await courtroom.start_media()
        await expect(panel).to_be_visible(timeout=10000)
        await expect(panel.get_by_role("heading")).to_contain_text("Courtroom cameras")
        rows = panel.locator(".camera-item")
        await expect(rows).to_have_count(2)
        bench, witness = rows.filter(has_text=BENCH), rows.filter(has_text=WITNESS)
        for row in (bench, witness):
            await expect(row).to_have_attribute("data-online", "true", timeout=10000)
            await expect(row.locator(".camera-state")).to_have_text("Online")
            await expect(row.get_by_role("checkbox", name="In the picture")).to_be_checked()
        await expect(page.locator("#cameras-count")).to_have_text("2")
        # In the courtroom's order; the microphone ("Judge") is not a camera, so not in the chooser.
        assert await rows.locator(".camera-name").all_text_contents() == [BENCH, WITNESS]
        await asyncio.sleep(1.5)  # let the composite show the courtroom's tiles
        await screenshot(page, "judge-courtroom-cameras-online")

        # Unticking "Witness stand" takes it out of the picture: the server says so.
        witness_box = witness.get_by_role("checkbox", name="In the picture")
        await witness_box.click()
        await expect(witness_box).not_to_be_checked()
        await expect(witness_box).to_be_enabled()
        await expect(witness).to_have_attribute("data-shown", "false")
        listed = await listed_cameras(api, hid, judge_token)
        assert listed[WITNESS]["shown"] is False and listed[BENCH]["shown"] is True, listed
        await expect(page.locator("#status")).to_contain_text("taken out of the picture")

        # The witness stand camera stops sending pictures: within a few seconds the console shows it offline,
        # in red; the bench camera stays online.
        witness_track.stop()
        stopped = time.monotonic()
        await expect(witness.locator(".camera-state")).to_have_text("camera offline", timeout=5000)
        took = time.monotonic() - stopped
        await expect(witness).to_have_attribute("data-online", "false")
        color = await witness.locator(".camera-state").evaluate("el => getComputedStyle(el).color")
        assert color == "rgb(168, 40, 31)", color  # --danger
        await expect(bench.locator(".camera-state")).to_have_text("Online")
        await expect(page.locator("#cameras-summary")).to_contain_text("1 of 2 cameras offline")
        listed = await listed_cameras(api, hid, judge_token)
        assert listed[WITNESS]["online"] is False and listed[BENCH]["online"] is True, listed
        print(f"camera offline shown {took:.1f} s after its track stopped")
        await asyncio.sleep(0.5)
        await screenshot(page, "judge-courtroom-cameras")

        # A console opened afresh gets the list as it is now from GET …/cameras (the "cameras" message only
        # comes on a change): court IT opens the hearing in a second console.
        admin_ctx = await browser.new_context(**DESKTOP)
        try:
            other = await admin_ctx.new_page()
            collect_console(other, log)
            await sign_in_and_open(other, base, CASE, user="admin")
            other_rows = other.locator("#cameras-panel .camera-item")
            await expect(other_rows).to_have_count(2)
            other_witness = other_rows.filter(has_text=WITNESS)
            other_bench = other_rows.filter(has_text=BENCH)
            await expect(other_witness.locator(".camera-state")).to_have_text("camera offline")
            await expect(other_witness.get_by_role("checkbox", name="In the picture")).not_to_be_checked()
            await expect(other_bench.locator(".camera-state")).to_have_text("Online")
            await expect(other_bench.get_by_role("checkbox", name="In the picture")).to_be_checked()
        finally:
            await admin_ctx.close()

        # Ticking it again puts it back in the picture.
        await witness.get_by_role("checkbox", name="In the picture").click()
        await expect(witness).to_have_attribute("data-shown", "true")
        listed = await listed_cameras(api, hid, judge_token)
        assert listed[WITNESS]["shown"] is True, listed

        # The courtroom PC leaves: the chooser goes with it.
        await courtroom.send({"type": "leave"})
        await courtroom.expect("bye")
        await expect(panel).to_be_hidden(timeout=10000)
        await api.ok("POST", f"/api/hearings/{hid}/close", None, judge_token)
        await expect(page.locator("#h-status")).to_have_text("Closed")
        assert not [line for line in log if line.startswith("pageerror")], log
    finally:
        print("\n".join(log))
        await courtroom.close()
        await ctx.close()
