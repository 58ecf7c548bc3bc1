"""A party in Debian's Chromium (Playwright, fake camera and microphone, a phone viewport) that opens its join
link, joins, and reports what its hearing connection receives, in the same JSON lines as
tests/remote_party.py — run inside a ShapedLink's namespace by bench/weak_link.py --party browser.

    python bench/browser_party.py --join-url URL --seconds 120

Counters come from the page's own peer connection (window.__hearing.pc.getStats()): frames decoded, keyframes
decoded, the longest gap between decoded frames (sampled every 0.5 s, and Chrome's freeze counters), and the
audio samples received without concealment (counted as 20 ms frames).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import async_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

STATS = """async () => {
  const pc = window.__hearing && window.__hearing.pc;
  if (!pc) return null;
  const stats = await pc.getStats();
  const out = {connection: pc.connectionState, video_frames: 0, keyframes: 0, audio_samples: 0, concealed: 0,
               freeze_seconds: 0, audio_buffer_delay: 0, audio_buffer_emitted: 0, rtt: null};
  stats.forEach((s) => {
    if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) {
      out.rtt = s.currentRoundTripTime;
    }
    if (s.type !== 'inbound-rtp') return;
    if (s.kind === 'video') {
      out.video_frames += s.framesDecoded || 0;
      out.keyframes += s.keyFramesDecoded || 0;
      out.freeze_seconds += s.totalFreezesDuration || 0;
    } else if (s.kind === 'audio') {
      out.audio_samples += s.totalSamplesReceived || 0;
      out.concealed += s.concealedSamples || 0;
      out.audio_buffer_delay += s.jitterBufferDelay || 0;  // seconds, summed over every sample emitted
      out.audio_buffer_emitted += s.jitterBufferEmittedCount || 0;
    }
  });
  return out;
}"""


def say(**message: object) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main(join_url: str, seconds: float, screenshots: Path | None = None) -> None:
    async with async_playwright() as playwright:
        # The server is reached at the shaped link's address over plain HTTP, which is not a secure context:
        # without this the page gets no camera or microphone and the weak link carries no uplink at all.
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(join_url))
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*ARGS, f"--unsafely-treat-insecure-origin-as-secure={origin}"])
        # bypass_csp: Playwright polls wait_for_function with eval, which the page's CSP (rightly) forbids
        context = await browser.new_context(permissions=["camera", "microphone"], bypass_csp=True, **PHONE)
        page = await context.new_page()
        await page.goto(join_url)
        await page.get_by_role("button", name="Join hearing").tap()
        await page.wait_for_function("window.__hearing && window.__hearing.pc", timeout=30000)
        say(event="welcome", participant_id="")  # the bench finds them in the lobby by name
        deadline = time.monotonic() + seconds
        last_frames, last_change = 0, time.monotonic()
        recent_freeze = 0.0
        note, note_since, shot = "", time.monotonic(), set()
        while time.monotonic() < deadline:
            stats = await page.evaluate(STATS) or {}
            now = time.monotonic()
            frames = stats.get("video_frames", 0)
            if frames != last_frames:
                last_frames, last_change = frames, now
            recent_freeze = max(recent_freeze, now - last_change)
            heard = stats.get("audio_samples", 0) - stats.get("concealed", 0)
            shown = (await page.locator("#link-note").text_content() or "") \
                if await page.locator("#link-note").count() else ""
            if shown != note:
                note, note_since = shown, now
            if screenshots is not None and note not in shot and now - note_since >= 4.0:
                # What the phone shows once a message has stood for a while (its picture has arrived)
                shot.add(note)
                await page.screenshot(path=str(screenshots / f"phone-{len(shot)}.png"))
            say(event="status", at=time.time(), connection=stats.get("connection", "none"), video_frames=frames,
                keyframes=stats.get("keyframes", 0), audio_frames=heard / 960, recent_freeze=round(recent_freeze, 2),
                admitted=await page.evaluate("window.__hearing.state") == "hearing", note=shown,
                audio_buffer_delay=stats.get("audio_buffer_delay", 0), rtt=stats.get("rtt"),
                audio_buffer_emitted=stats.get("audio_buffer_emitted", 0))
            recent_freeze = now - last_change
            await asyncio.sleep(0.5)
        await browser.close()
    say(event="done")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--join-url", required=True)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--screenshots", type=Path, default=None,
                        help="a folder: the phone's screen is saved once for each weak-connection message")
    args = parser.parse_args()
    asyncio.run(main(args.join_url, args.seconds, args.screenshots))
