"""One party on a weak link, the others on clean ones: what each receives, and what the record keeps.

A real server (a subprocess, listening on the host end of a veth pair); a control party on the host (aiortc,
a detailed moving picture so that the composite needs its whole bit rate); a weak party — Debian's Chromium on
the join page (bench/browser_party.py, the default) or aiortc (tests/remote_party.py, `--party aiortc`) —
inside a network namespace whose link is shaped by `tc tbf` in both directions
(tests/netns.py; the kernel here has tbf, not netem). One hearing, in phases: first unshaped (the baseline of
this run), then the weak party's link at each rate in turn. Per phase it prints, for the weak party: composite
frames a second, longest freeze, share of its audio decoded, keyframes received, its layer (from the roster),
its sound's latency (Chromium's getStats: half the round trip plus its jitter buffer's delay) and what the link
added to it;
for the control party: frames a second and keyframes; for the record: keyframes and sharpness (mean luma
gradient of hearing.mp4 over the phase) as a ratio to the unshaped phase.

    sudo .venv/bin/python bench/weak_link.py [--rates 3000,1000,600,300] [--phase-seconds 30] [--size 640x360]
        [--party browser|aiortc]

Needs root (network namespaces). Targets (issue 17): at 600 kbit/s ≥ 10 fps and ≥ 98 % of audio decoded; at
300 kbit/s ≥ 98 % audio and a picture at least every 2 s; the control party's picture, its keyframes and
the record's sharpness within 5 % of the unshaped phase whatever the weak link does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BenchServer, media_env, table  # noqa: E402

from recorder.transcript import utc_epoch  # noqa: E402
from tests.helpers import ApiClient, DetailTrack  # noqa: E402
from tests.netns import ShapedLink, available  # noqa: E402
from tests.remote_party import MeasuredParticipant, RemoteParty  # noqa: E402

UNSHAPED = 100_000  # kbit/s (100 Mbit/s): the baseline phase
SHOTS = Path(__file__).parent / ".cache" / "weak_link"  # the phone's screen, once per weak-connection message


async def admit(api: ApiClient, judge: str, hid: str, pid: str) -> None:
    await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)


def phase_delta(events: list[dict], start: float, end: float) -> dict:
    """The weak party's counters over [start, end] (its status lines carry cumulative counts)."""
    inside = [e for e in events if e["event"] == "status" and start <= e["at"] <= end]
    if len(inside) < 2:
        return {}
    first, last = inside[0], inside[-1]
    seconds = last["at"] - first["at"]
    return {"seconds": seconds,
            "fps": (last["video_frames"] - first["video_frames"]) / seconds,
            "keyframes": last["keyframes"] - first["keyframes"],
            "audio": (last["audio_frames"] - first["audio_frames"]) / (seconds * 50) * 100,
            "freeze": max(e["recent_freeze"] for e in inside),
            "latency": audio_latency(first, last, inside)}


def audio_latency(first: dict, last: dict, inside: list[dict]) -> float | None:
    """The sound's delay from our sender to the weak party's ear, in ms, from its browser's getStats: half
    the round trip (the link is shaped alike both ways) plus the time its jitter buffer held each sample.
    None for a party that does not report them (aiortc)."""
    emitted = last.get("audio_buffer_emitted", 0) - first.get("audio_buffer_emitted", 0)
    rtts = [e["rtt"] for e in inside if e.get("rtt") is not None]
    if emitted <= 0 or not rtts:
        return None
    held = (last["audio_buffer_delay"] - first["audio_buffer_delay"]) / emitted
    return (sum(rtts) / len(rtts) / 2 + held) * 1000


def sharpness(luma: np.ndarray) -> float:
    luma = luma.astype(np.int16)
    return float(np.abs(np.diff(luma, axis=1)).mean() + np.abs(np.diff(luma, axis=0)).mean())


def record_phases(mp4: Path, windows: list[tuple[float, float]]) -> list[tuple[int, float, float]]:
    """(keyframes, mean luma gradient of the whole picture, of the control party's tile) of the record within
    each window of the hearing clock. The control party was admitted first: its tile is the left half. The
    whole picture includes the weak party's tile, whose content changes with its own link (a held picture,
    a placeholder), so the control's tile is the fair measure of what the weak link does to the others."""
    out: list[tuple[list[int], list[float], list[float]]] = [([0], [], []) for _ in windows]
    decoded = 0
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            at = float(packet.pts * stream.time_base)
            index = next((i for i, (a, b) in enumerate(windows) if a <= at < b), None)
            frames = packet.decode()
            if index is None:
                continue
            out[index][0][0] += int(packet.is_keyframe)
            for frame in frames:
                decoded += 1
                if decoded % 5 == 0:
                    luma = frame.to_ndarray(format="gray")
                    h, w = luma.shape
                    out[index][1].append(sharpness(luma))
                    out[index][2].append(sharpness(luma[h // 8:h * 7 // 8, : w // 2]))
    return [(keys[0], float(np.mean(whole)) if whole else 0.0, float(np.mean(tile)) if tile else 0.0)
            for keys, whole, tile in out]


async def run(args: argparse.Namespace) -> int:
    rates = [int(r) for r in args.rates.split(",")]
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="weak-link-") as scratch, ShapedLink(UNSHAPED) as link:
        env = media_env(width=width, height=height, bitrate=args.bitrate)
        env["COURTROOM_MEDIA_WORKERS"] = "0"
        server = BenchServer(Path(scratch) / "data", env=env, host=link.host_ip, log_level="INFO").start()
        api = ApiClient(server.url)
        control = weak = None
        try:
            judge = await api.login("judge")
            hearing = await api.new_hearing(judge, "CV-2026-0600")
            hid = hearing["id"]
            invite = await api.ok("POST", f"/api/hearings/{hid}/invites", {"name": "Ana Control",
                                                                            "role": "plaintiff"}, judge)
            control = MeasuredParticipant(server.url, invite["token"], tone=500.0, video_track=DetailTrack())
            await control.connect()
            await control.start_media()
            await admit(api, judge, hid, control.of_type("welcome")[0]["participant"]["id"])
            invite = await api.ok("POST", f"/api/hearings/{hid}/invites", {"name": "Wes Weak", "role": "witness"},
                                  judge)
            seconds = (args.phase_seconds + 5) * (len(rates) + 2)
            weak = RemoteParty(link, server.url, invite["token"], seconds=seconds)
            if args.party == "browser":
                weak.command = link.command(sys.executable, str(Path(__file__).with_name("browser_party.py")),
                                            "--join-url", invite["join_url"], "--seconds", str(seconds),
                                            "--screenshots", str(SHOTS))
                SHOTS.mkdir(parents=True, exist_ok=True)
            await weak.start()
            weak_id = ""
            for _ in range(600):
                if weak.last("welcome"):
                    weak_id = weak.last("welcome")["participant_id"]
                    lobby = (await api.ok("GET", f"/api/hearings/{hid}/lobby", token=judge))["entrants"]
                    weak_id = weak_id or next((e["id"] for e in lobby if e["name"] == "Wes Weak"), "")
                    if weak_id:
                        break
                await asyncio.sleep(0.1)
            if not weak_id:
                raise SystemExit(f"the weak party did not reach the lobby: {await weak.stop()}")
            await admit(api, judge, hid, weak_id)
            await asyncio.sleep(5.0)  # both receiving

            phases = []
            for rate in [UNSHAPED] + rates:
                link.shape(rate)
                await asyncio.sleep(min(5.0, args.phase_seconds / 4))  # settle: layers move, estimates adapt
                start, frames0, keys0 = time.time(), control.video_frames, control.keyframes
                await asyncio.sleep(args.phase_seconds)
                end = time.time()
                rosters = control.of_type("roster")
                layer = next((p.get("link", "?") for p in rosters[-1]["participants"] if p["id"] == weak_id), "?") \
                    if rosters else "?"
                phases.append({"rate": rate, "start": start, "end": end, "layer": layer,
                               "says": weak.last("status").get("note", ""),
                               "control_fps": (control.video_frames - frames0) / (end - start),
                               "control_keys": control.keyframes - keys0})
        finally:
            if weak is not None:
                await weak.stop()
            if control is not None:
                await control.close()
        await api.ok("POST", f"/api/hearings/{hid}/close", token=judge)
        folder = Path(scratch) / "data" / "recordings" / hid
        for _ in range(300):
            if (folder / "manifest.json").exists():
                break
            await asyncio.sleep(0.2)
        transcript = json.loads((folder / "transcript.json").read_text())
        opened = next(e for e in transcript["entries"] if e.get("event") == "opened")
        zero = (utc_epoch(opened["at"]) or 0.0) - opened["offset"]  # the hearing clock's 0, in UTC
        record = record_phases(folder / "hearing.mp4", [(p["start"] - zero, p["end"] - zero) for p in phases])
        await api.close()
        server.stop()
        # Why the weak party moved between layers, as the server logged it (the log goes with the scratch folder)
        kept = Path(__file__).parent / ".cache" / "weak_link-server.log"
        kept.parent.mkdir(exist_ok=True)
        kept.write_bytes(server.log.read_bytes())
        moves = [line.strip() for line in server.log.read_text(errors="replace").splitlines()
                 if "layer (" in line]

    base_keys, base_sharp, base_tile = record[0]
    base_control = phases[0]["control_fps"], phases[0]["control_keys"]
    rows = []
    base_latency = phase_delta(weak.events, phases[0]["start"], phases[0]["end"]).get("latency")
    for phase, (keys, sharp, tile) in zip(phases, record):
        delta = phase_delta(weak.events, phase["start"], phase["end"])
        latency = delta.get("latency")
        rows.append(["unshaped" if phase["rate"] == UNSHAPED else f"{phase['rate']} kbit/s",
                     delta.get("fps", 0.0), delta.get("freeze", 0.0), delta.get("audio", 0.0),
                     delta.get("keyframes", 0), phase["layer"],
                     "-" if latency is None else f"{latency:.0f}",
                     "-" if latency is None or base_latency is None else f"{latency - base_latency:+.0f}",
                     phase["control_fps"], phase["control_fps"] / base_control[0] if base_control[0] else 0,
                     phase["control_keys"], keys, tile / base_tile if base_tile else 0.0,
                     sharp / base_sharp if base_sharp else 0.0, phase["says"] or "-"])
    print(f"weak party: {args.party}")
    table(["weak party's link", "fps", "longest freeze s", "audio decoded %", "keyframes", "layer",
           "audio latency ms", "added ms",
           "control fps", "control fps ratio", "control keyframes", "record keyframes",
           "record: control tile sharpness ratio", "record: whole picture sharpness ratio", "the phone says"],
          rows, title=f"One weak party, {args.phase_seconds:g} s a phase, composite {args.size} at "
                      f"{args.bitrate // 1000} kbit/s (ratios: to the unshaped phase of this run)")
    print("layer moves (server log):", *moves or ["none"], sep="\n  ")
    print(f"unshaped record: {base_keys} keyframes, sharpness {base_sharp:.2f} whole, {base_tile:.2f} the control's "
          "tile (mean |luma gradient|)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="3000,1000,600,300")
    parser.add_argument("--phase-seconds", type=float, default=30.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--bitrate", type=int, default=600_000)
    parser.add_argument("--party", choices=("aiortc", "browser"), default="browser",
                        help="the weak party: Chromium (the join page, as a phone) or aiortc (tests/remote_party.py)")
    args = parser.parse_args()
    why = available()
    if why:
        raise SystemExit(f"bench/weak_link.py: {why}")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
