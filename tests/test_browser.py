"""The browser pages, driven in Debian's Chromium: the judge console and the phone join page, end to end."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from hearing_server.app import SETTINGS

from .helpers import PASSWORD, ApiClient

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}

# Sums framesDecoded over the inbound video of the page's hearing connection (window.__hearing.pc).
FRAMES_DECODED = """async () => {
  const pc = window.__hearing && window.__hearing.pc;
  if (!pc) return 0;
  const stats = await pc.getStats();
  let frames = 0;
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
  });
  return frames;
}"""

# What the page heard on its hearing connection: Chromium's decoded inbound audio (the mix-minus, Opus).
AUDIO_HEARD = """async () => {
  const pc = window.__hearing && window.__hearing.pc;
  if (!pc) return null;
  const stats = await pc.getStats();
  let heard = null;
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      heard = {energy: s.totalAudioEnergy || 0, samples: s.totalSamplesReceived || 0,
               concealed: s.concealedSamples || 0, codec: (stats.get(s.codecId) || {}).mimeType || ''};
    }
  });
  return heard;
}"""


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


def base_url(server: Any) -> str:
    return str(server.make_url("")).rstrip("/")


async def poll(page: Page, script: str, predicate, timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = await page.evaluate(script)
        if predicate(value):
            return value
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what or script[:60]}: last value {value!r}")


def video_width(selector: str) -> str:
    return f"(document.querySelector({selector!r}) || {{}}).videoWidth || 0"


def positive(value: Any) -> bool:
    return bool(value) and value > 0


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def drop_connection(server: Any, name: str) -> None:
    """Cut a participant's signaling connection at the TCP level, as a lost network would."""
    from hearing_server.app import ROOMS

    for room in server.app[ROOMS].rooms.values():
        for pid, conn in room.connections.items():
            person = room.people.get(pid)
            if person is not None and person.name == name:
                transport = conn.ws._req.transport if conn.ws._req is not None else None
                assert transport is not None
                transport.abort()
                return
    raise AssertionError(f"{name} is not connected")


def collect_console(page: Page, sink: list[str]) -> None:
    page.on("console",
            lambda m: sink.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: sink.append(f"pageerror: {e}"))
    page.on("response", lambda r: sink.append(f"http {r.status}: {r.url}") if r.status >= 400 else None)


async def test_judge_admits_a_phone_and_both_see_the_hearing(server, browser: Browser) -> None:
    base = base_url(server)
    log: list[str] = []
    judge_ctx = await browser.new_context(viewport={"width": 1280, "height": 800},
                                          permissions=["camera", "microphone"])
    phone_ctx = await browser.new_context(permissions=["camera", "microphone"], **PHONE)
    try:
        judge = await judge_ctx.new_page()
        collect_console(judge, log)
        await judge.goto(f"{base}/judge")
        await judge.get_by_label("Username").fill("judge")
        await judge.get_by_label("Password").fill("not the password")
        await judge.get_by_role("button", name="Sign in").click()
        # API errors ({error: {code, message}}) reach the status line.
        await expect(judge.locator("#status")).to_contain_text("Wrong username or password")
        await screenshot(judge, "judge-sign-in-error")
        await judge.get_by_label("Password").fill(PASSWORD)
        await judge.get_by_role("button", name="Sign in").click()
        await expect(judge.locator("#user-name")).to_contain_text("Judge Amira Haddad")

        # A new hearing, through the form.
        await judge.get_by_role("button", name="New hearing").click()
        form = judge.locator("#create-form")
        await form.get_by_label("Case number").fill("CV-2026-0931")
        await form.get_by_label("Title", exact=True).fill("Lindqvist v. Harbour Freight AB")
        await form.get_by_label("Court", exact=True).fill("District Court")
        await form.get_by_label("Courtroom").fill("Courtroom 2")
        await form.get_by_label("Scheduled start").fill("2026-11-30T09:30")
        await form.get_by_role("button", name="Create hearing").click()
        await expect(judge.locator("#h-title")).to_have_text("Lindqvist v. Harbour Freight AB")
        await expect(judge.locator("#h-status")).to_have_text("Scheduled")

        await judge.get_by_role("button", name="Open hearing").click()
        await expect(judge.locator("#h-status")).to_have_text("In session")
        await expect(judge.locator("#conn-text")).to_have_text("Connected to the hearing", timeout=15000)

        # An invitation, through the form; the page shows the link and its QR code.
        invite = judge.locator("#invite-form")
        await invite.get_by_label("Full name").fill("Dana Phone")
        await invite.get_by_label("Role").select_option("witness")
        await invite.get_by_label("Phone").fill("+46 70 123 45 67")
        await invite.get_by_role("button", name="Create invitation").click()
        link_box = judge.locator("#invite-link")
        await expect(judge.locator("#invite-result")).to_be_visible()
        link = await link_box.input_value()
        assert link.startswith(f"{base}/join#token="), link
        assert (await judge.locator("#invite-qr").get_attribute("src")).startswith("data:image/svg+xml")

        # The phone opens the link, types a name and joins: the waiting room, with its own camera.
        phone = await phone_ctx.new_page()
        collect_console(phone, log)
        await phone.goto(link)
        name = phone.get_by_label("Your full name")
        await expect(name).to_have_value("Dana Phone")
        await name.fill("Dana M. Phone")
        await poll(phone, video_width("#setup-self"), positive, 10, "self view")
        await phone.get_by_role("button", name="Join hearing").tap()
        await expect(phone.get_by_text("Please wait, the court will admit you shortly")).to_be_visible()
        await poll(phone, video_width("#lobby-self"), positive, 10, "lobby self view")

        # The judge sees the entrant in the lobby, with a live camera preview that decodes frames.
        card = judge.locator(".entrant", has_text="Dana Phone")
        await expect(card).to_be_visible(timeout=10000)
        await expect(card).to_contain_text("Dana M. Phone")
        await expect(card).to_contain_text("Witness")
        await poll(judge, video_width(".entrant video"), positive, 20, "lobby preview frames")
        await asyncio.sleep(0.5)
        shots = [await screenshot(judge, "judge-lobby-preview"), await screenshot(phone, "phone-waiting")]

        await card.get_by_role("button", name="Admit").click()
        await expect(phone.get_by_role("button", name="Leave")).to_be_visible(timeout=10000)
        await expect(judge.locator(".roster-item", has_text="Dana Phone")).to_be_visible(timeout=10000)
        await expect(judge.locator(".entrant")).to_have_count(0)
        stored = await phone.evaluate("Object.keys(sessionStorage)")
        assert len([key for key in stored if key.startswith("court.session.")]) == 1

        # Both pages decode the composite picture.
        judge_frames = await poll(judge, FRAMES_DECODED, positive, 20, "judge composite frames")
        phone_frames = await poll(phone, FRAMES_DECODED, positive, 20, "phone composite frames")
        await poll(phone, video_width("#remote"), positive, 10, "phone video")
        # Each hears the other's (fake, beeping) microphone through their mix-minus: decoded, not concealment.
        for page, who in ((phone, "phone"), (judge, "judge")):
            heard = await poll(page, AUDIO_HEARD, lambda h: bool(h) and h["energy"] > 0.01 and h["samples"] > 48000,
                               20, f"{who} hearing the other side")
            assert heard["codec"].lower() == "audio/opus" and heard["concealed"] < heard["samples"] / 2, heard
        await asyncio.sleep(1.5)  # let the composite show both cameras
        shots += [await screenshot(judge, "judge-in-hearing"), await screenshot(phone, "phone-in-hearing")]
        print(f"frames decoded: judge {judge_frames}, phone {phone_frames}")

        # The network drops under the phone: it comes back into the hearing on its own, with its session.
        await phone.evaluate("() => { window.__firstPc = window.__hearing.pc; }")
        drop_connection(server, "Dana Phone")
        await expect(phone.locator("#banner")).to_contain_text("Reconnecting", timeout=5000)
        await poll(phone, "!!window.__hearing.pc && window.__hearing.pc !== window.__firstPc", bool, 15,
                   "a new peer connection after the drop")
        await poll(phone, FRAMES_DECODED, positive, 20, "phone frames after reconnecting")
        await expect(phone.get_by_role("button", name="Leave")).to_be_visible()
        await expect(phone.locator("#banner")).to_be_hidden(timeout=10000)

        # The court mutes the witness; the witness turns the camera off; recess; the hearing closes.
        row = judge.locator(".roster-item", has_text="Dana Phone")
        await row.get_by_role("button", name="Mute Dana Phone").click()
        await expect(phone.locator("#hearing-note")).to_have_text("The court muted your microphone.")
        await expect(row).to_contain_text("Muted by court")
        await phone.get_by_role("button", name="Camera off").tap()
        await expect(row).to_contain_text("Camera off")
        await judge.get_by_role("button", name="Recess").click()
        await expect(phone.locator("#hearing-note")).to_contain_text("recess")
        await expect(judge.locator("#recess-banner")).to_be_visible()
        await judge.get_by_role("button", name="Close hearing").click()
        await judge.get_by_role("button", name="Confirm: close hearing").click()
        await expect(judge.locator("#h-status")).to_have_text("Closed")
        await expect(phone.get_by_role("heading", name="The hearing has ended")).to_be_visible()
        print("\n".join(log))
        assert not [line for line in log if line.startswith("pageerror")], log
        for shot in shots:
            assert shot.stat().st_size > 10_000

        # The hearing held through these pages left a court record that Chromium and ffprobe both play.
        hid = await judge.evaluate("() => window.__hearing.hearingId || window.__hearing.hearing_id || ''")
        await check_the_record(server, judge, hid)
    finally:
        await phone_ctx.close()
        await judge_ctx.close()


async def check_the_record(server: Any, page: Page, hid: str) -> None:
    settings = server.app[SETTINGS]
    api = ApiClient(base_url(server))
    try:
        clerk = await api.login("clerk")
        if not hid:
            hid = (await api.ok("GET", "/api/hearings", token=clerk))["hearings"][0]["id"]
        folder = settings.recordings_path / hid
        deadline = time.monotonic() + 30
        while not (folder / "manifest.json").exists():
            assert time.monotonic() < deadline, "the browser hearing's recording was not finalised"
            await asyncio.sleep(0.3)
        probe = json.loads(subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,start_time,duration",
             "-of", "json", str(folder / "hearing.mp4")], capture_output=True, text=True, check=True).stdout)
        streams = {s["codec_type"]: s for s in probe["streams"]}
        assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
        # In sync: both streams start together on the hearing clock and run as long as each other.
        assert abs(float(streams["video"]["start_time"]) - float(streams["audio"]["start_time"])) < 0.1, streams
        assert abs(float(streams["video"]["duration"]) - float(streams["audio"]["duration"])) < 0.5, streams
        link = await api.ok("POST", f"/api/recordings/{hid}/links", {"purpose": "play"}, clerk)
        played = await page.evaluate("""async (url) => {
          const video = document.createElement('video');
          video.muted = true; video.src = url; document.body.appendChild(video);
          await video.play();
          await new Promise((resolve) => setTimeout(resolve, 1500));
          const result = {time: video.currentTime, width: video.videoWidth, error: video.error && video.error.code};
          video.remove();
          return result;
        }""", base_url(server) + link["url"])
        assert played["error"] is None and played["width"] == settings.media.width and played["time"] > 0.5, played
    finally:
        await api.close()


async def test_refused_camera_is_explained_and_the_person_can_still_join(server, api,
                                                                         browser: Browser) -> None:
    judge = await api.login("judge")
    hearing = await api.new_hearing(judge, case_number="CR-2026-0077")
    invitation = await api.invite(judge, hearing["id"], "Omar Refused", "defendant")
    ctx = await browser.new_context(**PHONE)
    try:
        # The person says no to the camera and microphone prompt.
        await ctx.add_init_script("""
          navigator.mediaDevices.getUserMedia = () =>
            Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
        """)
        phone = await ctx.new_page()
        await phone.goto(invitation["join_url"])
        notice = phone.locator("#media-notice")
        await expect(notice).to_be_visible()
        await expect(notice).to_contain_text("Camera and microphone are blocked")
        await expect(notice).to_contain_text("You can still join")
        await expect(phone.get_by_label("Your full name")).to_have_value("Omar Refused")
        join = phone.get_by_role("button", name="Join hearing")
        await expect(join).to_be_enabled()
        await screenshot(phone, "phone-camera-refused")
        await join.tap()
        await expect(phone.get_by_text("Please wait, the court will admit you shortly")).to_be_visible()
        note = phone.locator("#lobby-media-note")
        await expect(note).to_contain_text("cannot check your identity on camera")
        # Receive-only: the offer (recvonly audio and video) is still answered and connects.
        await poll(phone, "window.__hearing.pc && window.__hearing.pc.connectionState",
                   lambda state: state == "connected", 10, "a receive-only connection")
        lobby = await api.ok("GET", f"/api/hearings/{hearing['id']}/lobby", token=judge)
        assert [e["stated_name"] for e in lobby["entrants"]] == ["Omar Refused"]
        # The court says no: a clear final screen, and no reconnecting after the 4403 close.
        pid = lobby["entrants"][0]["id"]
        await api.ok("POST", f"/api/hearings/{hearing['id']}/participants/{pid}/reject",
                     {"reason": "identity could not be checked"}, judge)
        await expect(phone.get_by_role("heading", name="The court did not admit you")).to_be_visible()
        await expect(phone.locator("#final-text")).to_contain_text("identity could not be checked")
        await asyncio.sleep(1.5)
        await expect(phone.locator("#banner")).to_be_hidden()
    finally:
        await ctx.close()


# Rewrites the fingerprint in every offer the page sends: the handshake completes on Chromium's side, and the
# server, which checks the certificate against the offer, refuses it — a forced DTLS failure.
TAMPER_FINGERPRINT = """
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    try {
      const message = JSON.parse(data);
      if (message.type === 'offer') {
        window.__offersSent = (window.__offersSent || 0) + 1;
        message.sdp = message.sdp.replace(/(a=fingerprint:sha-256 )([0-9A-F]{2})/g,
          (all, head, pair) => head + (pair === '00' ? '11' : '00'));
        data = JSON.stringify(message);
      }
    } catch (e) {}
    return send.call(this, data);
  };
"""


async def test_a_failed_media_connection_is_shown_on_both_pages(server, api, browser: Browser) -> None:
    from .test_courtroom_console import sign_in_and_open

    token = await api.login("judge")
    hearing = await api.new_hearing(token, case_number="CV-2026-0616")
    invitation = await api.invite(token, hearing["id"], "Pavel Fingerprint", "defendant")
    judge_ctx = await browser.new_context(viewport={"width": 1280, "height": 800},
                                          permissions=["camera", "microphone"])
    phone_ctx = await browser.new_context(permissions=["camera", "microphone"], **PHONE)
    log: list[str] = []
    try:
        judge = await judge_ctx.new_page()
        await sign_in_and_open(judge, base_url(server), "CV-2026-0616")
        await expect(judge.locator("#conn-text")).to_have_text("Connected to the hearing", timeout=15000)
        await phone_ctx.add_init_script(TAMPER_FINGERPRINT)
        phone = await phone_ctx.new_page()
        collect_console(phone, log)
        await phone.goto(invitation["join_url"])
        await phone.get_by_role("button", name="Join hearing").tap()
        await expect(phone.get_by_text("Please wait, the court will admit you shortly")).to_be_visible()
        card = judge.locator(".entrant", has_text="Pavel Fingerprint")
        await expect(card).to_be_visible(timeout=10000)
        await card.get_by_role("button", name="Admit").click()

        # The judge's roster: admitted, online, but "Not connected (media failed)", the reason on hover.
        row = judge.locator(".roster-item", has_text="Pavel Fingerprint")
        flag = row.locator(".flag-media-failed")
        await expect(flag).to_have_text("Not connected (media failed)", timeout=20000)
        assert (await flag.get_attribute("title")).startswith("DTLS fingerprint mismatch")
        await expect(row.locator(".presence")).to_have_class("presence offline")
        # The phone says the connection failed and keeps retrying (each new offer fails the same way).
        await expect(phone.locator("#banner")).to_contain_text("The connection to the hearing failed",
                                                                 timeout=20000)
        await screenshot(judge, "judge-media-failed")
        await screenshot(phone, "phone-media-failed")
        assert any("media connection failed: DTLS fingerprint mismatch" in line for line in log), log
        await poll(phone, "window.__offersSent || 0", lambda n: n >= 2, 20, "a retry with a new offer")
        # Retrying is a new offer on the same signaling connection: the court never saw the party leave.
        assert (await phone.evaluate("window.__hearing.state")) == "hearing"
        await expect(row.locator(".flag-warn", has_text="Connection lost")).to_have_count(0)
    finally:
        await phone_ctx.close()
        await judge_ctx.close()
