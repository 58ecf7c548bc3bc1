"""Soak: one four-party hearing for a long time; does the server's memory or file-descriptor count creep up?

The real server in a subprocess (recording on, as by default), four aiortc participants sending pre-encoded
640×360 @ 15 fps H.264 + Opus and receiving the composite (bench/clients.py). Every `--interval` seconds:
server RSS, open fds, threads, CPU % over the interval, composite frames received (all clients) and the size
of the data folder (recordings grow by design). At the end: the samples, least-squares slopes (MB/hour,
fds/hour) over all samples and over the samples after the warm-up, and a verdict.

    .venv/bin/python bench/soak.py [--minutes 30] [--interval 10] [--size 1280x720]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clients import BenchParticipant, CompositeReader, sender_media  # noqa: E402
from common import BenchServer, ProcSampler, least_squares_slope, media_env, need_psutil, table  # noqa: E402
from live import PEOPLE, join_hearing  # noqa: E402

from tests.helpers import ApiClient  # noqa: E402

MAX_MINUTES = 24 * 60  # bounded, whatever is asked

# The verdict's thresholds: growth that would matter over a long court day.
RSS_MB_PER_HOUR = 20.0
FDS_PER_HOUR = 5.0


def folder_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total / 1e6


async def main_async(args: argparse.Namespace) -> int:
    need_psutil()
    minutes = min(args.minutes, MAX_MINUTES)
    width, height = (int(v) for v in args.size.split("x"))
    for sender in range(len(PEOPLE)):
        sender_media(sender)
    tmp = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    server = BenchServer(tmp / "data", media_env(width, height)).start()
    sampler = ProcSampler(server.pid, 3600)  # snapshots on demand only
    api = ApiClient(server.url)
    clients: list[BenchParticipant] = []
    samples = []
    try:
        token = await api.login("judge")
        clients = await join_hearing(api, token, server.url, 0, 1, False, CompositeReader(), 60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(c.stats.first_frame_at for c in clients):
            await asyncio.sleep(0.1)
        print(
            f"soak: one hearing, {len(clients)} participants, {minutes:g} min, a sample every "
            f"{args.interval:g} s; composite {args.size}",
            flush=True,
        )
        start = time.monotonic()
        end = start + minutes * 60
        previous = sampler.snap()
        frames_before = sum(c.stats.frames for c in clients)
        while True:
            now = time.monotonic()
            snap = sampler.snap()
            frames = sum(c.stats.frames for c in clients)
            cpu = (
                100.0 * (snap.cpu - previous.cpu) / max(1e-9, snap.at - previous.at)
                if samples
                else float("nan")
            )
            rate = (
                (frames - frames_before) / max(1e-9, snap.at - previous.at) / max(1, len(clients))
                if samples
                else float("nan")
            )
            samples.append(
                {
                    "t": now - start,
                    "rss": snap.rss / 2**20,
                    "fds": snap.fds,
                    "threads": snap.threads,
                    "cpu": cpu,
                    "fps": rate,
                    "data": folder_mb(server.data_dir),
                    "alive": sum(1 for c in clients if c.ws is not None and not c.ws.closed),
                }
            )
            s = samples[-1]
            print(
                f"  {s['t'] / 60:6.2f} min  RSS {s['rss']:7.1f} MB  fds {s['fds']:4d}  "
                f"threads {s['threads']:3d}  CPU {s['cpu']:5.1f} %  composite {s['fps']:5.2f} fps/client  "
                f"data {s['data']:7.1f} MB",
                flush=True,
            )
            previous, frames_before = snap, frames
            if now >= end:
                break
            await asyncio.sleep(min(args.interval, max(0.0, end - time.monotonic())))
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        await api.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    table(
        [
            "t min",
            "RSS MB",
            "fds",
            "threads",
            "server CPU %",
            "composite fps/client",
            "data MB",
            "clients up",
        ],
        [
            (s["t"] / 60, s["rss"], s["fds"], s["threads"], s["cpu"], s["fps"], s["data"], s["alive"])
            for s in samples
        ],
        "Soak samples",
        2,
    )
    hours = [s["t"] / 3600 for s in samples]
    warm = [i for i, s in enumerate(samples) if s["t"] >= min(args.warmup * 60, samples[-1]["t"] / 3)]
    rows = []
    for label, idx in (
        ("all samples", range(len(samples))),
        (f"after warm-up (t ≥ {samples[warm[0]]['t'] / 60:.1f} min)" if warm else "after warm-up", warm),
    ):
        xs = [hours[i] for i in idx]
        rows.append(
            (
                label,
                len(xs),
                least_squares_slope(xs, [samples[i]["rss"] for i in idx]),
                least_squares_slope(xs, [samples[i]["fds"] for i in idx]),
                least_squares_slope(xs, [samples[i]["threads"] for i in idx]),
            )
        )
    table(["fit", "samples", "RSS MB/hour", "fds/hour", "threads/hour"], rows, "Least-squares slopes", 2)
    rss_slope, fds_slope = rows[-1][2], rows[-1][3]
    span = samples[-1]["t"] / 60
    fps = [s["fps"] for s in samples[1:] if s["fps"] == s["fps"]]
    if len(samples) < 4 or span < 5:
        verdict = (
            f"inconclusive: {span:.1f} min and {len(samples)} samples are too few for a trend (smoke run)"
        )
    elif rss_slope > RSS_MB_PER_HOUR or fds_slope > FDS_PER_HOUR:
        verdict = (
            f"SUSPECT LEAK: after warm-up RSS grows {rss_slope:.1f} MB/h (limit {RSS_MB_PER_HOUR:g}), "
            f"fds {fds_slope:.1f}/h (limit {FDS_PER_HOUR:g})"
        )
    else:
        verdict = (
            f"no leak seen: after warm-up RSS {rss_slope:+.1f} MB/h (limit {RSS_MB_PER_HOUR:g}), "
            f"fds {fds_slope:+.1f}/h (limit {FDS_PER_HOUR:g})"
        )
    if fps and min(fps) < 0.9 * 15:
        verdict += f"; composite dipped to {min(fps):.1f} fps/client at times"
    if samples[-1]["alive"] < len(clients):
        verdict += f"; only {samples[-1]['alive']} of {len(clients)} clients still connected at the end"
    print(f"\nverdict: {verdict}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--warmup", type=float, default=5.0, help="minutes left out of the 'after warm-up' fit")
    ap.add_argument("--size", default="1280x720", help="composite size (server media.width x height)")
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
