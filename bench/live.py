"""Live hearings under load: K hearings × 4 aiortc participants against the real server in a subprocess.

For each K (a fresh server each time, on a free loopback port, advertising 127.0.0.1, its own temp data
folder, recording on as by default): a judge creates and opens K hearings over the HTTP API and invites four
people to each; every person joins (hello → lobby), is admitted, sends an offer, and then sends 640×360 @ 15
fps H.264 + Opus for `--seconds` while receiving the composite and its mix-minus. The sending is pre-encoded
(see bench/clients.py) so that the load generator, on the same 2-core machine, costs as little as possible.

Per K it prints, over the measured window: frames sent / received per client (received = composite frames
decoded), loss against the server's frame rate, glass-to-glass latency read from bar codes in the composite,
server CPU (% of one core, server + media workers) and CPU-s per hearing-minute, server RSS per participant,
offer → first composite frame (median / p95), signaling `ping` → `pong` RTT, the load generator's own CPU and
the whole machine's busy cores (others' jobs included). Then the largest K with < 2 % mean loss.

    .venv/bin/python bench/live.py [--k 1,2,4,6] [--seconds 30] [--size 1280x720]
        [--light-clients] [--workers N] [--nodes M] [--profile py-spy [--native]]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clients import BenchParticipant, CompositeReader, sender_media  # noqa: E402
from common import (  # noqa: E402
    CACHE,
    BenchServer,
    MachineLoad,
    ProcSampler,
    media_env,
    median,
    need_psutil,
    percentile,
    self_cpu,
    summarize_collapsed,
    table,
)

from tests.helpers import ApiClient  # noqa: E402

PEOPLE = [
    ("Ana Silva", "plaintiff"),
    ("Ben Okafor", "defendant"),
    ("Chen Wei", "witness"),
    ("Dana Lopez", "lawyer"),
]
LOSS_LIMIT = 2.0


async def join_hearing(
    api: ApiClient,
    judge: str,
    bases: list[str],
    index: int,
    k: int,
    light: bool,
    reader: CompositeReader,
    timeout: float,
) -> list[BenchParticipant]:
    hearing = await api.new_hearing(judge, case_number=f"BENCH-{k}-{index + 1}")
    hid = hearing["id"]
    peers: dict = {}
    clients = []
    for sender, (name, role) in enumerate(PEOPLE):
        invite = await api.invite(judge, hid, name, role)
        # Several nodes: each person reaches a node of their own, as behind a load balancer that is not
        # sticky; whoever lands off the carrier is relayed there.
        clients.append(
            BenchParticipant(
                bases[(index + sender) % len(bases)],
                invite["token"],
                sender,
                name=name,
                light=light and sender > 0,
                peers=peers,
                reader=reader,
            )
        )

    async def one(client: BenchParticipant) -> None:
        welcome = await client.connect()
        assert welcome.get("state") == "lobby", welcome
        await api.ok("POST", f"/api/hearings/{hid}/participants/{client.participant_id}/admit", token=judge)
        await client.expect("admitted")
        await client.start_media()

    try:
        await asyncio.wait_for(asyncio.gather(*(one(c) for c in clients)), timeout)
    except BaseException:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        raise
    return clients


async def forget_keys(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def run_k(k: int, args: argparse.Namespace, reader: CompositeReader) -> dict:
    width, height = (int(v) for v in args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-live-k{k}-"))
    profile = CACHE / "profiles" / f"live-server-k{k}.pyspy.txt" if args.profile else None
    env = media_env(width, height, args.bitrate, workers=args.workers)
    prefix = f"bench-live:{uuid.uuid4().hex[:8]}:"
    if args.nodes > 1:  # one court system: one Redis, one shared data folder (accounts, keys, spool)
        env.update(COURTROOM_STATE_BACKEND="redis", COURTROOM_STATE_REDIS_URL=args.redis_url,
                   COURTROOM_STATE_KEY_PREFIX=prefix)
    servers = []
    for number in range(args.nodes):
        node_env = dict(env, COURTROOM_NODE_NODE_ID=f"n{number + 1}") if args.nodes > 1 else env
        node = BenchServer(tmp / "data", node_env, profile=profile if number == 0 else None, native=args.native)
        node.log = tmp / (f"server-n{number + 1}.log" if args.nodes > 1 else "server.log")
        servers.append(node)
        try:
            node.start()
        except BaseException:  # the nodes already up must not outlive the benchmark
            for started in servers:
                started.stop()
            raise
    server = servers[0]
    sampler = ProcSampler([s.pid for s in servers], 0.5).start()
    clients: list[BenchParticipant] = []
    api = ApiClient(server.url)
    result: dict = {"k": k, "joined": 0, "error": ""}
    try:
        idle = sampler.snap()
        judge = await api.login("judge")
        join_started = time.monotonic()
        for index in range(k):
            try:
                clients += await join_hearing(
                    api, judge, [s.url for s in servers], index, k, args.light_clients, reader, args.join_timeout
                )
            except Exception as exc:  # a join that fails is a result, not a crash of the benchmark
                result["error"] = f"hearing {index + 1}: {exc.__class__.__name__}: {str(exc)[:120]}"
                break
        result["joined"] = len(clients)
        # Every client's first composite frame, bounded.
        deadline = time.monotonic() + args.join_timeout
        while time.monotonic() < deadline and not all(c.stats.first_frame_at for c in clients):
            await asyncio.sleep(0.1)
        result["join_seconds"] = time.monotonic() - join_started
        first = [c.stats.first_frame_at - c.stats.offer_at for c in clients if c.stats.first_frame_at]
        result["no_first_frame"] = sum(1 for c in clients if not c.stats.first_frame_at)
        await asyncio.sleep(args.warmup)

        # The measured window.
        for c in clients:
            c.stats.measuring = True
        before = {id(c): (c.video_out.sent if c.video_out else 0, c.stats.frames) for c in clients}
        load = MachineLoad()
        cpu0, s0 = self_cpu(), sampler.snap()
        started = time.monotonic()
        end = started + args.seconds
        while time.monotonic() < end:
            await asyncio.gather(
                *(c.ping() for c in clients if c.ws is not None and not c.ws.closed), return_exceptions=True
            )
            await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
        s1, cpu1 = sampler.snap(), self_cpu()
        busy = load.busy_cores()
        window = sampler.window(s0, s1)
        for c in clients:
            c.stats.measuring = False
        await asyncio.sleep(0.5)  # late pongs
        seconds = s1.at - s0.at
        expected = args.fps * seconds
        per_client = []
        for c in clients:
            sent0, got0 = before[id(c)]
            sent = (c.video_out.sent if c.video_out else 0) - sent0
            got = c.stats.frames - got0
            per_client.append((sent, got, max(0.0, 100.0 * (expected - got) / expected)))
        latencies = [x for c in clients for x in c.stats.latencies]
        rtts = [x for c in clients for x in c.stats.rtts()]
        people = max(1, len(clients))
        log = "".join(s.log.read_text(errors="replace") for s in servers if s.log.exists())
        result.update(
            seconds=seconds,
            expected=expected,
            per_client=per_client,
            sent=median([p[0] for p in per_client]),
            received=median([p[1] for p in per_client]),
            received_min=min((p[1] for p in per_client), default=0),
            loss=sum(p[2] for p in per_client) / people if per_client else 100.0,
            loss_max=max((p[2] for p in per_client), default=100.0),
            server_cpu=window.cpu_percent,
            # CPU-seconds of the server and its media workers over the window, per hearing and minute
            cpu_s_per_hearing_minute=window.cpu_percent / 100 * seconds / (k * seconds / 60),
            rss=window.rss_mb_mean,
            rss_idle=idle.rss / 2**20,
            rss_per_person=(window.rss_mb_mean - idle.rss / 2**20) / people,
            rss_total_per_person=window.rss_mb_mean / people,
            fds=window.fds_max,
            threads=s1.threads,
            first_median=median(first),
            first_p95=percentile(first, 95),
            rtt_median=median(rtts),
            rtt_p95=percentile(rtts, 95),
            pings=len(rtts),
            latency_median=median(latencies),
            latency_p95=percentile(latencies, 95),
            latency_n=len(latencies),
            client_cpu=100.0 * (cpu1 - cpu0) / seconds,
            machine_busy=100.0 * busy,
            behind=log.count("behind the hearing clock"),
            tracebacks=log.count("Traceback"),
        )
        return result
    finally:
        sampler.stop()
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        await api.close()
        for node in servers:
            node.stop()
        if args.nodes > 1:
            await forget_keys(args.redis_url, prefix)
        if profile is not None and profile.exists():
            result["profile"] = profile
        if args.keep:
            print(f"kept {tmp} (server.log, data/)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


async def main_async(args: argparse.Namespace) -> int:
    need_psutil()
    ks = [int(v) for v in args.k.split(",") if v.strip()]
    for sender in range(len(PEOPLE)):
        sender_media(sender)  # pre-encode (cached) before anything is measured
    reader = CompositeReader()
    print(
        f"live: K hearings × {len(PEOPLE)} aiortc clients, composite {args.size} @ {args.fps} fps, "
        f"{args.seconds:g} s window after {args.warmup:g} s warm-up; clients send 640x360@15 H.264 "
        f"(pre-encoded, ~600 kb/s) + Opus; {'light' if args.light_clients else 'all'} clients decode video",
        flush=True,
    )
    results = []
    for k in ks:
        print(f"\n== K={k}: {k * len(PEOPLE)} participants", flush=True)
        try:
            result = await asyncio.wait_for(
                run_k(k, args, reader), args.seconds + args.join_timeout * (k + 2) + 60
            )
        except asyncio.TimeoutError:
            result = {"k": k, "joined": 0, "error": "timed out"}
        results.append(result)
        if "per_client" in result:
            table(
                ["client", "frames sent", "composite frames received", "loss %"],
                [
                    (f"h{i // len(PEOPLE) + 1}/{PEOPLE[i % len(PEOPLE)][0]}", s, g, loss)
                    for i, (s, g, loss) in enumerate(result["per_client"])
                ],
                f"K={k}: per client, {result['seconds']:.1f} s window, expected {result['expected']:.0f} "
                f"composite frames each",
                1,
            )
        if "per_client" in result:
            print(
                f"K={k}: server CPU-s per hearing-minute {result['cpu_s_per_hearing_minute']:.2f} "
                f"({result['server_cpu'] / 100 * result['seconds']:.1f} CPU-s over {result['seconds']:.1f} s, "
                f"{k} hearing{'s' if k > 1 else ''}, server + media workers)"
            )
        if result.get("error"):
            print(f"K={k}: {result['error']}")
        if result.get("profile"):
            summarize_collapsed(result["profile"], 15, f"py-spy, server, K={k}")
            print(f"raw profile: {result['profile']}")

    rows = []
    for r in results:
        if "per_client" not in r:
            rows.append((r["k"], r["joined"]) + (float("nan"),) * 15 + (r.get("error", ""),))
            continue
        rows.append(
            (
                r["k"],
                r["joined"],
                r["sent"],
                r["received"],
                r["loss"],
                r["loss_max"],
                r["server_cpu"],
                r["cpu_s_per_hearing_minute"],
                r["rss"],
                r["rss_per_person"],
                r["first_median"],
                r["first_p95"],
                r["rtt_median"] * 1000,
                r["latency_median"] * 1000,
                r["latency_p95"] * 1000,
                r["client_cpu"],
                r["machine_busy"],
                f"behind×{r['behind']}"
                + (f", {r['no_first_frame']} no frame" if r["no_first_frame"] else "")
                + (f", tracebacks×{r['tracebacks']}" if r["tracebacks"] else "")
                + (f", {r['error']}" if r["error"] else ""),
            )
        )
    table(
        [
            "K",
            "clients",
            "sent/client",
            "recv/client",
            "loss % mean",
            "loss % max",
            "server CPU %",
            "CPU-s/hearing-min",
            "server RSS MB",
            "RSS MB/participant",
            "offer→1st frame s med",
            "p95",
            "ping RTT ms med",
            "latency ms med",
            "latency ms p95",
            "client CPU %",
            "machine busy %",
            "notes",
        ],
        rows,
        "Live hearings (CPU % of one core; machine busy % of one core summed over all cores, others' jobs "
        "included; RSS/participant above the idle server)",
        1,
    )
    good = [
        r["k"] for r in results if "per_client" in r and r["loss"] < LOSS_LIMIT and r["joined"] == r["k"] * 4
    ]
    print(
        f"\nlargest K with < {LOSS_LIMIT:g} % mean loss: {max(good) if good else 'none'}"
        f" (of K = {', '.join(str(k) for k in ks)}; the clients run on the same machine)"
    )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", default="1,2,4,6", help="comma-separated numbers of simultaneous hearings")
    ap.add_argument("--seconds", type=float, default=30.0, help="measured window per K")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--size", default="1280x720", help="composite size (server media.width x height)")
    ap.add_argument("--bitrate", type=int, default=None, help="composite bitrate (default: the server's)")
    ap.add_argument("--fps", type=int, default=15, help="the server's composite frame rate (media.fps)")
    ap.add_argument("--workers", type=int, default=0,
                    help="media worker processes (media.workers): 0 = the hearings in the server's own process "
                         "(the figures before workers), -1 = one per core")
    ap.add_argument("--nodes", type=int, default=1,
                    help="nodes (servers) on this machine sharing one Redis; each person of a hearing joins "
                         "through another node (relayed to the carrier). CPU and RSS are summed over them")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/15", help="the Redis of --nodes > 1")
    ap.add_argument("--join-timeout", type=float, default=30.0)
    ap.add_argument(
        "--light-clients",
        action="store_true",
        help="only the first client of each hearing decodes the composite; the others count "
        "whole frames (less load-generator CPU on a small machine)",
    )
    ap.add_argument("--keep", action="store_true", help="keep each K's temp folder (server log, recordings)")
    ap.add_argument("--profile", choices=["py-spy"], help="run the server under py-spy record")
    ap.add_argument(
        "--native",
        action="store_true",
        help="py-spy --native (C frames too; pauses the server to unwind them: it then falls behind)",
    )
    args = ap.parse_args()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
