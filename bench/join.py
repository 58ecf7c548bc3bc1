"""Join time in a real browser: open a join link → first decoded frame of the hearing, N times.

Headless Debian Chromium through Playwright (/usr/bin/chromium, fake camera and microphone, the flags of
tests/test_browser.py), against the real server in a subprocess. A judge (an aiortc client sending a
pre-encoded camera into the hearing, so the composite has a live picture) watches the lobby and admits
every entrant the moment the server reports them — the court at its fastest — so the figure is the system's
own latency, not a clerk's.

For each run: a fresh browser context (no cache), a new invitation; `page.goto(join link)`, wait for the
camera preview (as a person would), press "Join hearing", then poll getStats() every 50 ms until
framesDecoded > 0 on the inbound video. Phases are measured from the start of the navigation. After each run
the person is removed through the API, so the composite does not grow with departed guests.

    .venv/bin/python bench/join.py [--runs 10] [--size 1280x720]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clients import BenchParticipant, sender_media  # noqa: E402
from common import BenchServer, media_env, percentile, table  # noqa: E402

from tests.helpers import ApiClient  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # as tests/test_browser.py
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
PROBE = """async () => {
  const h = window.__hearing;
  let frames = 0;
  const pc = h && h.pc;
  if (pc) {
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
    });
  }
  const self = document.querySelector('#setup-self');
  return {state: h ? h.state : '', frames, camera: self ? self.videoWidth : 0,
          ready: !!document.querySelector('#name') && !!document.querySelector('#name').value};
}"""


class AutoAdmit:
    """Admits every lobby entrant as soon as a `lobby` message names them; remembers when."""

    def __init__(self, api: ApiClient, judge_token: str, hearing_id: str, judge: BenchParticipant) -> None:
        self.api, self.token, self.hid, self.judge = api, judge_token, hearing_id, judge
        self.admitted: dict[str, tuple[str, float]] = {}  # invitation name -> (participant id, admitted at)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        seen = 0
        while True:
            messages = self.judge.messages
            while seen < len(messages):
                message = messages[seen]
                seen += 1
                if message.get("type") != "lobby":
                    continue
                for entrant in message.get("entrants", []):
                    if entrant["state"] == "waiting" and entrant["name"] not in self.admitted:
                        self.admitted[entrant["name"]] = (entrant["id"], 0.0)
                        await self.api.ok(
                            "POST",
                            f"/api/hearings/{self.hid}/participants/{entrant['id']}/admit",
                            token=self.token,
                        )
                        self.admitted[entrant["name"]] = (entrant["id"], time.monotonic())
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def one_run(
    browser, api: ApiClient, judge_token: str, hid: str, admit: AutoAdmit, index: int, timeout: float
) -> dict:
    name = f"Guest {index + 1:02d}"
    invitation = await api.invite(judge_token, hid, name, "witness")
    context = await browser.new_context(permissions=["camera", "microphone"])
    marks: dict[str, float] = {}
    try:
        page = await context.new_page()
        t0 = time.monotonic()
        await page.goto(invitation["join_url"])
        marks["load"] = time.monotonic() - t0
        deadline = t0 + timeout
        clicked = False
        while time.monotonic() < deadline:
            probe = await page.evaluate(PROBE)
            now = time.monotonic() - t0
            if not clicked and probe["ready"] and probe["camera"] > 0:
                marks["clicked"] = now  # the press, once the preview plays; click() itself returns later
                await page.locator("#join-button").click()
                clicked = True
            if probe["state"] == "lobby" and "lobby" not in marks:
                marks["lobby"] = now
            if probe["state"] == "hearing" and "hearing" not in marks:
                marks["hearing"] = now
            if probe["frames"] > 0:
                marks["frame"] = now
                break
            await asyncio.sleep(0.05)
        if name in admit.admitted and admit.admitted[name][1]:
            marks["admitted"] = admit.admitted[name][1] - t0
        return marks
    finally:
        if name in admit.admitted:
            try:
                await api.call(
                    "POST",
                    f"/api/hearings/{hid}/participants/{admit.admitted[name][0]}/remove",
                    {"reason": "benchmark run over"},
                    judge_token,
                )
            except Exception:
                pass
        await context.close()


async def main_async(args: argparse.Namespace) -> int:
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (scripts/setup-test-env.sh installs Debian's chromium)")
        return 1
    width, height = (int(v) for v in args.size.split("x"))
    sender_media(0)
    tmp = Path(tempfile.mkdtemp(prefix="bench-join-"))
    server = BenchServer(tmp / "data", media_env(width, height)).start()
    api = ApiClient(server.url)
    judge = None
    admit = None
    runs: list[dict] = []
    try:
        token = await api.login("judge")
        hearing = await api.new_hearing(token, case_number="BENCH-JOIN-1")
        hid = hearing["id"]
        judge = BenchParticipant(server.url, token, 0, hearing_id=hid)
        assert (await judge.connect())["state"] == "admitted"
        await judge.start_media()
        admit = AutoAdmit(api, token, hid, judge)
        admit.start()
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for index in range(args.runs):
                    marks = await asyncio.wait_for(
                        one_run(browser, api, token, hid, admit, index, args.timeout), args.timeout + 30
                    )
                    runs.append(marks)
                    print(
                        f"run {index + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in marks.items()),
                        flush=True,
                    )
            finally:
                await browser.close()
    finally:
        if admit is not None:
            await admit.stop()
        if judge is not None:
            await judge.close()
        await api.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    phases = ["load", "clicked", "lobby", "admitted", "hearing", "frame"]
    table(
        ["run"] + [f"{p} s" for p in phases],
        [[i + 1] + [m.get(p) for p in phases] for i, m in enumerate(runs)],
        "Per run, seconds from the start of navigation (load: page load event; clicked: 'Join hearing' "
        "pressed, as soon as the own camera preview plays; lobby: waiting room seen (admission is usually "
        "faster than the 50 ms poll); admitted: the API admit returned; hearing: hearing screen; "
        "frame: first decoded remote frame)",
    )
    total = [m["frame"] for m in runs if "frame" in m]
    after_click = [m["frame"] - m["clicked"] for m in runs if "frame" in m and "clicked" in m]
    after_admit = [m["frame"] - m["admitted"] for m in runs if "frame" in m and "admitted" in m]
    rows = []
    for label, values in (
        ("link opened → first frame", total),
        ("'Join hearing' → first frame", after_click),
        ("admitted → first frame", after_admit),
    ):
        rows.append(
            (
                label,
                len(values),
                percentile(values, 50),
                percentile(values, 95),
                min(values, default=float("nan")),
                max(values, default=float("nan")),
            )
        )
    table(
        ["span", "runs", "median s", "p95 s", "min s", "max s"],
        rows,
        f"Join in headless Chromium, {len(runs)} runs ({len(total)} reached a frame), composite {args.size}",
    )
    return 0 if len(total) == args.runs else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--size", default="1280x720", help="composite size (server media.width x height)")
    ap.add_argument("--timeout", type=float, default=30.0, help="per run")
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
