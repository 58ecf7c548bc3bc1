"""The C way to the same job, side by side: server CPU-seconds per hearing-minute of one four-party hearing
with its 1280×720 @ 15 composite record.

  ours   the real server (python -m hearing_server, media.workers = --workers) with one hearing of four
         aiortc clients, exactly as `bench/live.py --k 1 --seconds S --light-clients`: live composite, four
         mix-minus, the record. CPU of the server process and its media workers over the measured window.
  C way  Janus VideoRoom (C) as the SFU with record = true: the same four aiortc clients publishing the same
         pre-encoded 640×360 @ 15 H.264 + Opus (bench/clients.py), each also subscribing to the other three
         (one max-bundle PeerConnection of 6 m-lines, received and counted, not decoded, as a light client);
         Janus' CPU over the same window (/proc/PID/stat). Then janus-pp-rec for each .mjr (no transcoding)
         and the ffmpeg CLI composing the record: each tile at the compositor's geometry with its label, the
         caption bar, xstack + amix (normalize=0), libx264 at the server's defaults (preset, tune, profile,
         level, bitrate, VBV, keyint, scenecut, threads — from hearing_server.config) and AAC at
         recording.audio_bitrate; CPU from each child's rusage, per minute of what it processed.

Janus never gathers loopback candidates, so the C way runs in a private network namespace (`unshare -n`)
with a veth pair whose both ends stay in it; Janus is told `ice_enforce_list` = the veth and loads only the
HTTP transport and the VideoRoom plugin. Needs root and the Debian packages janus, janus-tools, ffmpeg and
iproute2 (the script says what is missing; it installs nothing).

Prints: pipeline | server CPU-s per hearing-minute | parts, then the ratio ours / C way, with the machine's
busy cores during each measured part (others' jobs included).

    .venv/bin/python bench/c_way.py [--seconds 60] [--workers 2] [--pairs 1] [--only ours|c] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))  # ahead of bench/: `recorder` is the package, not bench/recorder.py

from clients import (  # noqa: E402
    _COUNT_ONLY,
    SEND_FPS,
    SEND_H,
    SEND_W,
    CompositeReader,
    PacketAudioTrack,
    PacketVideoTrack,
    sender_media,
)
from common import CACHE, MachineLoad, need_psutil, psutil, run_measured, table  # noqa: E402

PEOPLE = [  # as bench/live.py
    ("Ana Silva", "plaintiff"),
    ("Ben Okafor", "defendant"),
    ("Chen Wei", "witness"),
    ("Dana Lopez", "lawyer"),
]
CASE = "BENCH-1-1"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # as bench/recorder.py
JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
ROOM = 1234
VETH = ("cwj0", "cwj1")
JANUS_ADDR, CLIENT_ADDR = "10.77.0.1", "10.77.0.2"
JANUS_HTTP = "http://127.0.0.1:8088/janus"
TOOLS = {"janus": "janus", "janus-pp-rec": "janus-tools", "ffmpeg": "ffmpeg", "ffprobe": "ffmpeg",
         "ip": "iproute2", "unshare": "util-linux"}


def defaults() -> dict:
    """The server's embedded defaults the C way must match."""
    from hearing_server.config import Settings

    settings = Settings()
    media, recording = settings.media, settings.recording
    return {
        "width": media.width,
        "height": media.height,
        "fps": media.fps,
        "bitrate": media.video_bitrate,
        "preset": media.x264_preset,
        "threads": media.encoder_threads,
        "keyint_seconds": media.keyframe_interval_seconds,
        "audio_bitrate": recording.audio_bitrate,
    }


def missing_tools() -> list[str]:
    missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    for folder, name in (("plugins", "libjanus_videoroom.so"), ("transports", "libjanus_http.so")):
        if not (JANUS_LIB / folder / name).exists() and "janus" not in missing:
            missing.append("janus")
    return missing


# -- ours: bench/live.py, K = 1 ----------------------------------------------------------------------


def run_ours(args: argparse.Namespace) -> dict:
    import live

    ns = argparse.Namespace(
        size="1280x720",
        bitrate=None,
        fps=15,
        workers=args.workers,
        profile=None,
        native=False,
        light_clients=True,
        join_timeout=30.0,
        warmup=args.warmup,
        seconds=args.seconds,
        keep=args.keep,
    )
    result = asyncio.run(asyncio.wait_for(live.run_k(1, ns, CompositeReader()), args.seconds + 180))
    if "per_client" not in result:
        return {"error": result.get("error") or "no measurement"}
    cpu = result["server_cpu"] / 100 * result["seconds"]
    return {
        "per_minute": cpu / (result["seconds"] / 60),
        "cpu": cpu,
        "seconds": result["seconds"],
        "loss": result["loss"],
        "busy": result["machine_busy"],
        "error": result.get("error", ""),
    }


# -- the C way: parent side --------------------------------------------------------------------------


def run_c_way(args: argparse.Namespace, work: Path) -> dict:
    """This script again, inside `unshare -n`, with --child-janus; its result comes back as a JSON file."""
    out = work / "result.json"
    cmd = ["unshare", "-n", sys.executable, str(Path(__file__).resolve()), "--child-janus", str(work),
           "--seconds", str(args.seconds), "--warmup", str(args.warmup)]
    try:
        subprocess.run(cmd, cwd=str(REPO), timeout=args.seconds * 4 + 300, check=False)
    except subprocess.TimeoutExpired:
        return {"error": "the C way timed out"}
    if not out.exists():
        return {"error": f"no result (see {work}/janus.log)"}
    return json.loads(out.read_text())


# -- the C way: inside the namespace ---------------------------------------------------------------


def sh(*cmd: str) -> None:
    subprocess.run(list(cmd), check=True)


def setup_namespace() -> None:
    if not Path("/proc/self/ns/net").exists():
        raise RuntimeError("no network namespaces")
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", VETH[0], "type", "veth", "peer", "name", VETH[1])
    sh("ip", "addr", "add", f"{JANUS_ADDR}/24", "dev", VETH[0])
    sh("ip", "addr", "add", f"{CLIENT_ADDR}/24", "dev", VETH[1])
    sh("ip", "link", "set", VETH[0], "up")
    sh("ip", "link", "set", VETH[1], "up")


def write_janus_config(folder: Path, rec_dir: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)

    def others(kind: str, keep: str) -> str:
        names = sorted(p.name for p in (JANUS_LIB / kind).glob("*.so") if p.name != keep)
        return ",".join(names)

    (folder / "janus.jcfg").write_text(
        f"""general: {{
	configs_folder = "{folder}"
	plugins_folder = "{JANUS_LIB}/plugins"
	transports_folder = "{JANUS_LIB}/transports"
	events_folder = "{JANUS_LIB}/events"
	loggers_folder = "{JANUS_LIB}/loggers"
	debug_level = 4
	admin_secret = "{uuid.uuid4().hex}"
	session_timeout = 0
}}
media: {{
	ipv6 = false
	rtp_port_range = "20000-40000"
}}
nat: {{
	nice_debug = false
	ignore_mdns = true
	ice_enforce_list = "{VETH[0]}"
}}
plugins: {{
	disable = "{others("plugins", "libjanus_videoroom.so")}"
}}
transports: {{
	disable = "{others("transports", "libjanus_http.so")}"
}}
loggers: {{
	disable = "{others("loggers", "")}"
}}
events: {{
	broadcast = false
	disable = "{others("events", "")}"
}}
"""
    )
    (folder / "janus.transport.http.jcfg").write_text(
        """general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = 8088
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
"""
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text(
        f"""general: {{
}}
room-{ROOM}: {{
	description = "bench"
	publishers = 6
	bitrate = 0
	fir_freq = 0
	audiocodec = "opus"
	videocodec = "h264"
	record = true
	rec_dir = "{rec_dir}"
}}
"""
    )
    return folder / "janus.jcfg"


class JanusSession:
    """One Janus API session over the HTTP transport: requests, and a long poll for the asynchronous
    answers and events."""

    def __init__(self, http: "aiohttp.ClientSession") -> None:  # noqa: F821
        self.http = http
        self.id = 0
        self.pending: dict[str, asyncio.Future] = {}
        self.events: list[dict] = []
        self._poll: asyncio.Task | None = None

    async def _post(self, path: str, body: dict) -> dict:
        async with self.http.post(JANUS_HTTP + path, json=body) as response:
            return await response.json(content_type=None)

    async def create(self) -> None:
        answer = await self._post("", {"janus": "create", "transaction": uuid.uuid4().hex})
        self.id = answer["data"]["id"]
        self._poll = asyncio.create_task(self._long_poll())

    async def _long_poll(self) -> None:
        while True:
            try:
                async with self.http.get(f"{JANUS_HTTP}/{self.id}?maxev=10") as response:
                    events = await response.json(content_type=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                waiter = self.pending.get(event.get("transaction", ""))
                if waiter is not None and event.get("janus") in ("event", "success", "error") and not waiter.done():
                    waiter.set_result(event)
                elif event.get("janus") != "keepalive":
                    self.events.append(event)

    async def attach(self) -> int:
        answer = await self._post(
            f"/{self.id}", {"janus": "attach", "plugin": "janus.plugin.videoroom", "transaction": uuid.uuid4().hex}
        )
        return answer["data"]["id"]

    async def message(self, handle: int, body: dict, jsep: dict | None = None, timeout: float = 20) -> dict:
        tx = uuid.uuid4().hex
        waiter = asyncio.get_running_loop().create_future()
        self.pending[tx] = waiter
        request = {"janus": "message", "transaction": tx, "body": body}
        if jsep is not None:
            request["jsep"] = jsep
        try:
            answer = await self._post(f"/{self.id}/{handle}", request)
            if answer.get("janus") != "ack":
                event = answer
            else:
                event = await asyncio.wait_for(waiter, timeout)
        finally:
            self.pending.pop(tx, None)
        data = event.get("plugindata", {}).get("data", {})
        if event.get("janus") == "error" or "error" in data:
            raise RuntimeError(f"Janus: {event.get('error') or data.get('error')}")
        return event

    async def destroy(self) -> None:
        try:
            await self._post(f"/{self.id}", {"janus": "destroy", "transaction": uuid.uuid4().hex})
        except Exception:
            pass
        if self._poll is not None:
            self._poll.cancel()


class JanusClient:
    """A participant of the SFU: publishes the pre-encoded media and subscribes to the other three."""

    def __init__(self, http: "aiohttp.ClientSession", sender: int) -> None:  # noqa: F821
        self.session = JanusSession(http)
        self.sender = sender
        self.feed = 0
        self.pub = None
        self.sub = None
        self.video_out: PacketVideoTrack | None = None
        self.measuring = False
        self.video_frames = 0  # received during the window, all three feeds
        self.audio_frames = 0
        self._tasks: list[asyncio.Task] = []

    @staticmethod
    def _pc() -> "RTCPeerConnection":  # noqa: F821
        from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection

        return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))

    async def publish(self) -> None:
        from aiortc import RTCRtpSender, RTCSessionDescription

        await self.session.create()
        handle = await self.session.attach()
        name = PEOPLE[self.sender][0]
        joined = await self.session.message(handle, {"request": "join", "ptype": "publisher", "room": ROOM,
                                                     "display": name})
        self.feed = joined["plugindata"]["data"]["id"]
        self.pub = self._pc()
        self.video_out = PacketVideoTrack(self.sender)
        self.pub.addTransceiver(PacketAudioTrack(self.sender), direction="sendonly")
        video = self.pub.addTransceiver(self.video_out, direction="sendonly")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        video.setCodecPreferences([c for c in codecs if c.mimeType.lower() in ("video/h264", "video/rtx")])
        await self.pub.setLocalDescription(await self.pub.createOffer())
        offer = self.pub.localDescription
        answer = await self.session.message(
            handle, {"request": "publish", "audiocodec": "opus", "videocodec": "h264"},
            {"type": offer.type, "sdp": offer.sdp, "trickle": False},
        )
        await self.pub.setRemoteDescription(RTCSessionDescription(answer["jsep"]["sdp"], answer["jsep"]["type"]))
        # Janus takes subscribers for a feed only once its PeerConnection is up ("webrtcup").
        deadline = time.monotonic() + 20
        while not any(e.get("janus") == "webrtcup" and e.get("sender") == handle for e in self.session.events):
            if time.monotonic() > deadline:
                raise RuntimeError(f"publisher {self.sender}: no webrtcup (ICE {self.pub.iceConnectionState})")
            await asyncio.sleep(0.05)

    async def subscribe(self, feeds: list[int]) -> None:
        from aiortc import RTCSessionDescription

        handle = await self.session.attach()
        attached = await self.session.message(
            handle, {"request": "join", "ptype": "subscriber", "room": ROOM, "streams": [{"feed": f} for f in feeds]}
        )
        self.sub = self._pc()

        @self.sub.on("track")
        def on_track(track) -> None:  # noqa: ANN001
            _COUNT_ONLY.add(id(track._queue))  # received and counted, not decoded
            self._tasks.append(asyncio.create_task(self._consume(track)))

        await self.sub.setRemoteDescription(RTCSessionDescription(attached["jsep"]["sdp"], attached["jsep"]["type"]))
        await self.sub.setLocalDescription(await self.sub.createAnswer())
        local = self.sub.localDescription
        await self.session.message(handle, {"request": "start"}, {"type": local.type, "sdp": local.sdp,
                                                                   "trickle": False})

    async def _consume(self, track) -> None:  # noqa: ANN001
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                await track.recv()
            except MediaStreamError:
                _COUNT_ONLY.discard(id(track._queue))
                return
            if self.measuring:
                if track.kind == "video":
                    self.video_frames += 1
                else:
                    self.audio_frames += 1

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for pc in (self.sub, self.pub):
            if pc is not None:
                try:
                    await asyncio.wait_for(pc.close(), 10)
                except Exception:
                    pass
        await self.session.destroy()


def cpu_of(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def janus_live(janus: subprocess.Popen, seconds: float, warmup: float) -> dict:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        deadline = time.monotonic() + 30
        while True:
            try:
                async with http.get(JANUS_HTTP + "/info") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if janus.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Janus did not start (see janus.log)")
            await asyncio.sleep(0.2)
        clients = [JanusClient(http, sender) for sender in range(len(PEOPLE))]
        try:
            await asyncio.wait_for(asyncio.gather(*(c.publish() for c in clients)), 60)
            feeds = [c.feed for c in clients]
            await asyncio.wait_for(
                asyncio.gather(*(c.subscribe([f for f in feeds if f != c.feed]) for c in clients)), 60
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not all(c.sub.connectionState == "connected" for c in clients):
                await asyncio.sleep(0.1)
            await asyncio.sleep(warmup)
            for c in clients:
                c.measuring = True
            sent0 = [c.video_out.sent for c in clients]
            load = MachineLoad()
            cpu0, t0 = cpu_of(janus.pid), time.monotonic()
            await asyncio.sleep(seconds)
            cpu1, t1 = cpu_of(janus.pid), time.monotonic()
            busy = load.busy_cores()
            for c in clients:
                c.measuring = False
            window = t1 - t0
            expected = 3 * SEND_FPS * window  # three feeds' frames per subscriber
            received = [c.video_frames for c in clients]
            return {
                "janus_cpu": cpu1 - cpu0,
                "window": window,
                "busy": 100.0 * busy,
                "sent_per_client": sum(c.video_out.sent - s for c, s in zip(clients, sent0)) / len(clients),
                "received_per_client": sum(received) / len(clients),
                "loss": sum(max(0.0, 100.0 * (expected - r) / expected) for r in received) / len(received),
                "audio_per_client": sum(c.audio_frames for c in clients) / len(clients),
                "janus_rss_mb": psutil.Process(janus.pid).memory_info().rss / 2**20,
                "feeds": [c.feed for c in clients],
            }
        finally:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
            await asyncio.sleep(1.0)  # Janus closes the recordings as the PeerConnections hang up


def compose_command(videos: list[tuple[Path, float]], audios: list[tuple[Path, float]], out: Path,
                    seconds: float, d: dict, script: Path) -> list[str]:
    """ffmpeg CLI: the record at the compositor's geometry and the server's x264/AAC settings."""
    from hearing_server.media.compositor import BAR, grid

    width, height, fps = d["width"], d["height"], d["fps"]
    gop = max(1, int(round(d["keyint_seconds"] * fps)))
    kbps = d["bitrate"] // 1000
    scale = height / 720
    bar, pad = int(BAR * scale), max(2, int(3 * scale))
    labels = os.path.exists(FONT)
    parts, layout = [], []
    for i, ((path, offset), (x, y, w, h)) in enumerate(zip(videos, grid(len(videos), width, height, bar))):
        iw, ih = w - 2 * pad, h - 2 * pad
        fit = min(iw / SEND_W, ih / SEND_H)
        nw, nh = max(2, int(SEND_W * fit)) // 2 * 2, max(2, int(SEND_H * fit)) // 2 * 2
        chain = (
            f"[{i}:v]setpts=PTS-STARTPTS,tpad=start_duration={offset:.3f}:color=black,fps={fps},"
            f"scale={nw}:{nh}:flags=area,pad={w}:{h}:{pad + (iw - nw) // 2}:{pad + (ih - nh) // 2}:color=0x141820"
        )
        if labels:
            name, role = PEOPLE[i]
            chain += (
                f",drawtext=fontfile={FONT}:fontsize=14:fontcolor=white:box=1:boxcolor=black:boxborderw=5"
                f":x=8:y=h-th-8:text='{name}  ({role})'"
            )
        parts.append(chain + f"[v{i}]")
        layout.append(f"{x}_{y - bar}")
    tail = (
        "".join(f"[v{i}]" for i in range(len(videos)))
        + f"xstack=inputs={len(videos)}:layout={'|'.join(layout)}:fill=black,pad={width}:{height}:0:{bar}:black"
    )
    if labels:
        tail += (
            f",drawtext=fontfile={FONT}:fontsize=15:fontcolor=white:x=12:y=11:text='Case {CASE}'"
            f",drawtext=fontfile={FONT}:fontsize=15:fontcolor=white:x=w-tw-12:y=11"
            f":text='%{{pts\\:gmtime\\:{int(time.time())}\\:%Y-%m-%d %H\\\\\\:%M\\\\\\:%S}} UTC'"
            f",drawbox=x={width // 2 - 47}:y=11:w=14:h=14:color=red:t=fill"
            f",drawtext=fontfile={FONT}:fontsize=15:fontcolor=red:x={width // 2 - 26}:y=11:text='REC'"
        )
    parts.append(tail + "[v]")
    n = len(videos)
    for j, (_, offset) in enumerate(audios):
        parts.append(f"[{n + j}:a]asetpts=PTS-STARTPTS,adelay={int(offset * 1000)}:all=1[a{j}]")
    parts.append("".join(f"[a{j}]" for j in range(len(audios))) + f"amix=inputs={len(audios)}:normalize=0[a]")
    script.write_text(";\n".join(parts) + "\n")
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-nostdin", "-nostats"]
    for path, _ in videos + audios:
        cmd += ["-i", str(path)]
    cmd += [
        "-filter_complex_script", str(script), "-map", "[v]", "-map", "[a]", "-t", f"{seconds:.3f}",
        "-c:v", "libx264", "-preset", d["preset"], "-tune", "zerolatency", "-profile:v", "baseline",
        "-level", "3.1", "-pix_fmt", "yuv420p", "-b:v", f"{kbps}k", "-g", str(gop), "-bf", "0",
        "-threads", str(d["threads"]),
        "-x264-params",
        f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1:vbv-maxrate={kbps}:vbv-bufsize={kbps}",
        "-c:a", "aac", "-b:a", str(d["audio_bitrate"]), "-ac", "1", "-ar", "48000",
        "-f", "mp4", str(out),
    ]
    return cmd


def probe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,width,height,nb_frames",
         "-of", "json", str(path)], capture_output=True, text=True, check=False,
    ).stdout
    return json.loads(out or "{}")


def child_janus(work: Path, seconds: float, warmup: float) -> int:
    """Runs inside `unshare -n`: the namespace, Janus and its clients, janus-pp-rec, ffmpeg."""
    result: dict = {"error": ""}
    janus = None
    try:
        d = defaults()
        setup_namespace()
        rec = work / "rec"
        rec.mkdir(parents=True, exist_ok=True)
        config = write_janus_config(work / "janus-conf", rec)
        log = (work / "janus.log").open("ab")
        janus = subprocess.Popen(["janus", "-C", str(config), "-F", str(config.parent), "-o"],
                                 stdout=log, stderr=subprocess.STDOUT)
        result.update(asyncio.run(janus_live(janus, seconds, warmup)))
        janus.send_signal(signal.SIGINT)
        try:
            janus.wait(timeout=20)
        except subprocess.TimeoutExpired:
            janus.kill()
            janus.wait(timeout=10)
        janus = None

        # janus-pp-rec: each .mjr to its container (no transcoding); the first-packet time aligns them.
        mjrs = sorted(rec.glob("*.mjr"))
        if len(mjrs) != 2 * len(PEOPLE):
            raise RuntimeError(f"expected {2 * len(PEOPLE)} .mjr files, found {[m.name for m in mjrs]}")
        pp_cpu, pp_busy, recorded, tracks = 0.0, MachineLoad(), [], {}
        for mjr in mjrs:
            header = run_measured(["janus-pp-rec", "-j", str(mjr)], timeout=60)
            pp_cpu += header.cpu
            info = json.loads(header.stdout[header.stdout.index("{"):].splitlines()[0])
            kind = "video" if info.get("t") == "v" else "audio"
            target = mjr.with_suffix(".mp4" if kind == "video" else ".opus")
            conv = run_measured(["janus-pp-rec", str(mjr), str(target)], timeout=300,
                                stderr=subprocess.DEVNULL)
            if conv.returncode != 0 or not target.exists():
                raise RuntimeError(f"janus-pp-rec {mjr.name} failed ({conv.returncode})")
            pp_cpu += conv.cpu
            user = mjr.name.split("-user-", 1)[1].split("-", 1)[0]
            tracks.setdefault(user, {})[kind] = (target, info.get("u") or info.get("s"))
            duration = float(probe(target).get("format", {}).get("duration") or 0)
            recorded.append(duration)
        pp_busy_pct = 100.0 * pp_busy.busy_cores()
        order = {str(feed): sender for sender, feed in enumerate(result["feeds"])}
        users = sorted(tracks, key=lambda u: order.get(u, len(order)))  # tile i = sender i, as ours
        if len(users) != len(PEOPLE) or any(len(tracks[u]) != 2 for u in users):
            raise RuntimeError(f"recordings per publisher: {tracks}")
        start = min(t[1] for u in users for t in tracks[u].values())
        videos = [(tracks[u]["video"][0], (tracks[u]["video"][1] - start) / 1e6) for u in users]
        audios = [(tracks[u]["audio"][0], (tracks[u]["audio"][1] - start) / 1e6) for u in users]
        # The composed record: as long as the measured window, from the first recorded packet on.
        out = work / "record.mp4"
        cmd = compose_command(videos, audios, out, seconds, d, work / "ffmpeg-filter.txt")
        load = MachineLoad()
        composed = run_measured(cmd, timeout=seconds * 20 + 120)
        busy = 100.0 * load.busy_cores()
        if composed.returncode != 0:
            raise RuntimeError(f"ffmpeg failed ({composed.returncode}): {' '.join(cmd)}")
        info = probe(out)
        result.update(
            pp_cpu=pp_cpu,
            pp_busy=pp_busy_pct,
            recorded_seconds=sum(recorded) / len(recorded),
            ffmpeg_cpu=composed.cpu,
            ffmpeg_wall=composed.wall,
            ffmpeg_busy=busy,
            composed_seconds=float(info.get("format", {}).get("duration") or 0),
            streams=[(s.get("codec_name"), s.get("width"), s.get("height"), s.get("nb_frames"))
                     for s in info.get("streams", [])],
            offsets=[round(o, 3) for _, o in videos],
        )
    except Exception as exc:  # reported by the parent, with the log's location
        result["error"] = f"{exc.__class__.__name__}: {exc}"
    finally:
        if janus is not None and janus.poll() is None:
            janus.kill()
            janus.wait(timeout=10)
        (work / "result.json").write_text(json.dumps(result))
    return 0


# -- main ------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="measured window of each pipeline")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--workers", type=int, default=2, help="ours: media.workers of the server (0 = in-process)")
    ap.add_argument("--pairs", type=int, default=1, help="ours then C way, this many times")
    ap.add_argument("--only", choices=["ours", "c"], help="run one pipeline only")
    ap.add_argument("--keep", action="store_true", help="keep the temp folders (logs, .mjr, record.mp4)")
    ap.add_argument("--child-janus", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_janus:
        return child_janus(Path(args.child_janus), args.seconds, args.warmup)

    need_psutil()
    if args.only != "ours":
        missing = missing_tools()
        if missing:
            sys.exit(f"the C way needs: apt-get install -y {' '.join(missing)}   (or run with --only ours)")
        if os.geteuid() != 0:
            sys.exit("the C way needs root (unshare -n, ip link); or run with --only ours")
    d = defaults()
    for sender in range(len(PEOPLE)):
        sender_media(sender)  # pre-encode (cached) before anything is measured
    print(
        f"c_way: one hearing of {len(PEOPLE)} aiortc clients (640x360@15 H.264 pre-encoded + Opus), "
        f"{args.seconds:g} s window after {args.warmup:g} s warm-up; record {d['width']}x{d['height']}@{d['fps']}, "
        f"x264 {d['preset']} {d['bitrate'] // 1000} kb/s, threads {d['threads']}, AAC "
        f"{d['audio_bitrate'] // 1000} kb/s; ours with media.workers = {args.workers}; {os.cpu_count()} cores",
        flush=True,
    )
    rows, ratios = [], []
    for pair in range(args.pairs):
        ours: dict = {}
        c: dict = {}
        if args.only != "c":
            print(f"\n== pair {pair + 1}: ours (bench/live.py --k 1 --light-clients --workers {args.workers})",
                  flush=True)
            ours = run_ours(args)
            if ours.get("error") and "per_minute" not in ours:
                rows.append((f"ours #{pair + 1}", float("nan"), f"failed: {ours['error']}"))
            else:
                rows.append((
                    f"ours #{pair + 1}: server + media workers (live composite, 4 mix-minus, record)",
                    ours["per_minute"],
                    f"{ours['cpu']:.1f} CPU-s over {ours['seconds']:.1f} s; loss {ours['loss']:.1f} %; "
                    f"machine busy {ours['busy']:.0f} %" + (f"; {ours['error']}" if ours.get("error") else ""),
                ))
        if args.only != "ours":
            print(f"\n== pair {pair + 1}: the C way (Janus VideoRoom in a network namespace, janus-pp-rec, "
                  f"ffmpeg CLI)", flush=True)
            work = Path(tempfile.mkdtemp(prefix="bench-c-way-", dir=CACHE if CACHE.exists() else None))
            c = run_c_way(args, work)
            if c.get("error"):
                rows.append((f"C way #{pair + 1}", float("nan"), f"failed: {c['error']} ({work})"))
                print(f"C way failed: {c['error']} — kept {work}")
            else:
                live = c["janus_cpu"] / (c["window"] / 60)
                pp = c["pp_cpu"] / (c["recorded_seconds"] / 60)
                compose = c["ffmpeg_cpu"] / (c["composed_seconds"] / 60)
                c["per_minute"] = live + pp + compose
                rows.append((
                    f"C way #{pair + 1}: Janus VideoRoom + janus-pp-rec + ffmpeg CLI compose",
                    c["per_minute"],
                    f"Janus live {live:.2f} (SFU loss {c['loss']:.1f} %, busy {c['busy']:.0f} %) + "
                    f"janus-pp-rec {pp:.2f} + ffmpeg {compose:.2f} ({c['ffmpeg_cpu']:.1f} CPU-s for "
                    f"{c['composed_seconds']:.1f} s, busy {c['ffmpeg_busy']:.0f} %)",
                ))
                print(
                    f"C way: window {c['window']:.1f} s, frames sent/client {c['sent_per_client']:.0f}, SFU video "
                    f"frames received/client {c['received_per_client']:.0f} (3 feeds), audio frames/client "
                    f"{c['audio_per_client']:.0f}, Janus RSS {c['janus_rss_mb']:.0f} MB; .mjr → "
                    f"{c['recorded_seconds']:.1f} s each; record.mp4 {c['composed_seconds']:.2f} s {c['streams']}; "
                    f"tile offsets {c['offsets']} s",
                    flush=True,
                )
                if not args.keep:
                    shutil.rmtree(work, ignore_errors=True)
                else:
                    print(f"kept {work}")
        if "per_minute" in ours and "per_minute" in c:
            ratios.append(ours["per_minute"] / c["per_minute"])
    table(
        ["pipeline", "server CPU-s per hearing-minute", "parts"],
        rows,
        "One four-party hearing with its 1280x720@15 record (CPU-s of all cores; machine busy % of one core "
        "summed over all cores, others' jobs included)",
        2,
    )
    if ratios:
        print("\nours / C way: " + ", ".join(f"{r:.2f}×" for r in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
