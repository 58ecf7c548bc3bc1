"""Offline composite: the project's own recording pipeline against the ffmpeg CLI doing the same job.

Four synthetic inputs (640×480 @ 15 fps, moving pictures, each with its own sine tone, H.264 at ~1 Mb/s
+ AAC in MP4) are made once with the ffmpeg CLI and cached under bench/.cache/. Then, one after the other,
as fast as possible:

  ours    PyAV decode → yuv420p planes (to_i420: views, no colour conversion) → hearing_server
          VideoCompositor drawing in I420 (4 tiles with name + role, caption bar, UTC clock) straight into
          the frame CompositeEncoder hands to libx264, as the mixer does ; AudioSource/AudioMixer full mix
          → recorder.segments.SegmentWriter (fMP4 segments: the same packets + AAC)
          in a child process, so its CPU time is exactly the child's (os.wait4)
  ffmpeg  scale + pad + drawtext labels → xstack 2×2 → caption bar, amix (normalize=0: a plain sum, as ours),
          libx264 with CompositeEncoder's settings (preset, tune, profile, level, bitrate, VBV, keyint,
          scenecut, threads) + AAC at the recording bitrate

Prints: pipeline | CPU-s | wall-s | real-time factor | output MB | CPU ratio ours/ffmpeg, a per-stage
breakdown of ours (CPU-ms per output frame) and an ffprobe check of both outputs.

    .venv/bin/python bench/recorder.py [--seconds 60] [--preset superfast] [--threads 1]
        [--profile py-spy|pyinstrument] [--native]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# As bench/common.py has them. The measured child imports only what the pipeline needs: common pulls in
# the test servers' helpers (asyncio, urllib, …), ~0.1 CPU-s that ffmpeg's process has no counterpart for.
BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
CACHE = BENCH_DIR / ".cache"
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))  # ahead of bench/: `recorder` is the package, not this file

WIDTH, HEIGHT, IN_W, IN_H, FPS = 1280, 720, 640, 480, 15
CASE = "CV-2026-0142"
CLOCK0 = 1795839711  # a fixed UTC start, so both pipelines draw the same clock
SOURCES = [  # (lavfi video source, tone Hz, name, role)
    (f"testsrc2=size={IN_W}x{IN_H}:rate={FPS}", 440, "Judge Amira Haddad", "judge"),
    (f"mandelbrot=size={IN_W}x{IN_H}:rate={FPS}", 660, "Ana Silva", "plaintiff"),
    (
        f"life=size={IN_W}x{IN_H}:rate={FPS}:mold=10:ratio=0.3:life_color=#00ff40:death_color=#a03020",
        880,
        "Ben Okafor",
        "defendant",
    ),
    (
        f"cellauto=size={IN_W}x{IN_H}:rate={FPS}:rule=110:random_fill_ratio=0.5,hue=h=90*t",
        1100,
        "Chen Wei",
        "witness",
    ),
]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


# -- inputs ---------------------------------------------------------------------------------------------


def make_inputs(seconds: int) -> list[Path]:
    folder = CACHE / "recorder-inputs"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, (video, tone, _, _) in enumerate(SOURCES):
        path = folder / f"input{index}-{seconds}s-1M.mp4"
        paths.append(path)
        if path.exists():
            continue
        tmp = path.with_suffix(".partial.mp4")
        cmd = [
            "ffmpeg",
            "-y",
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            video,
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={tone}:sample_rate=48000",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            # about what a phone camera sends at 640×480: decoding cost follows the bitrate
            "-b:v",
            "1000k",
            "-maxrate",
            "1500k",
            "-bufsize",
            "2000k",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "30",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-ac",
            "1",
            "-shortest",
            "-f",
            "mp4",
            str(tmp),
        ]
        print(f"making {path.relative_to(REPO)} …", flush=True)
        subprocess.run(cmd, check=True)
        tmp.replace(path)
    return paths


# -- ours (runs in the child) ---------------------------------------------------------------------------


def run_ours(
    inputs: list[Path], out: Path, seconds: int, preset: str, threads: int, profiled: bool = False
) -> dict:
    from datetime import datetime, timezone

    import av

    from hearing_server.config import MediaSettings, RecordingSettings
    from hearing_server.media.audio_mixer import BLOCK, RATE, AudioMixer, AudioSource
    from hearing_server.media.compositor import Caption, Tile, VideoCompositor, to_i420
    from hearing_server.media.encoder import VIDEO_TIME_BASE, CompositeEncoder
    from recorder.segments import SegmentWriter

    media, recording = MediaSettings(), RecordingSettings()
    stages = dict.fromkeys(
        [
            "decode video",
            "to_i420 (frame planes)",
            "compose (I420, into the frame)",
            "encode (x264)",
            "decode audio",
            "mix audio",
            "mux + AAC (SegmentWriter)",
        ],
        0.0,
    )
    # Process CPU time (all threads: cv2's workers count for the stage that waits for them). Not under a
    # profiler: sampling a process that reads its own CPU clock ~10 times a frame skews the profile.
    clock = time.process_time
    staged = not profiled

    def timed(stage: str, fn, *args):
        if not staged:
            return fn(*args)
        t = clock()
        try:
            return fn(*args)
        finally:
            stages[stage] += clock() - t

    def decode_video(frames):  # named, so that a profile shows decoding under its own name
        return next(frames, None)

    def decode_audio(frames):
        return next(frames, None)

    def compose(tiles, caption):  # as HearingMixer._render: into a new frame of the encoder's
        frame = encoder.frame()
        compositor.compose_into(to_i420(frame), tiles, caption)
        return frame

    out.mkdir(parents=True, exist_ok=True)
    segments: list[dict] = []
    writer = SegmentWriter(
        out,
        WIDTH,
        HEIGHT,
        FPS,
        recording.segment_seconds,
        recording.audio_bitrate,
        0,
        lambda s: segments.append({"path": str(s.path), "start": s.start, "end": s.end, "size": s.size}),
    )
    encoder = CompositeEncoder(
        WIDTH, HEIGHT, FPS, media.video_bitrate, media.keyframe_interval_seconds, preset, threads
    )
    compositor = VideoCompositor(WIDTH, HEIGHT)
    mixer = AudioMixer()
    video_in = [av.open(str(p)) for p in inputs]
    audio_in = [av.open(str(p)) for p in inputs]
    video_frames = [c.decode(video=0) for c in video_in]
    audio_frames = [c.decode(audio=0) for c in audio_in]
    sources = []
    for index in range(len(inputs)):
        source = AudioSource(key=f"mic{index}", participant_id=f"p{index}")
        mixer.sources[source.key] = source
        sources.append(source)
    pushed = [0.0] * len(inputs)  # seconds of each input's sound handed to the mixer
    mixed = 0  # samples mixed
    latest: list = [None] * len(inputs)
    packets_out = 0
    started = time.monotonic()
    total = seconds * FPS
    for n in range(total):
        t_end = (n + 1) / FPS
        for i, frames in enumerate(video_frames):
            frame = timed("decode video", decode_video, frames)
            if frame is not None:
                latest[i] = timed("to_i420 (frame planes)", to_i420, frame)
        tiles = [Tile(f"cam{i}", SOURCES[i][2], SOURCES[i][3], latest[i]) for i in range(len(inputs))]
        clock_text = datetime.fromtimestamp(CLOCK0 + n // FPS, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        frame = timed("compose (I420, into the frame)", compose, tiles, Caption(CASE, clock_text, True))
        packets, _ = timed("encode (x264)", encoder.encode, frame, n * 90000 // FPS, n == 0)
        for packet in packets:
            timed("mux + AAC (SegmentWriter)", writer.write_video, packet)
            packets_out += 1
        # Sound up to the end of this picture (plus a little), never more than the 200 ms jitter buffer.
        for i, frames in enumerate(audio_frames):
            while pushed[i] < t_end + 0.03:
                frame = timed("decode audio", decode_audio, frames)
                if frame is None:
                    pushed[i] = float("inf")
                    break
                timed("mix audio", sources[i].push_frame, frame)
                pushed[i] = float(frame.time or 0) + frame.samples / frame.sample_rate
        while mixed + BLOCK <= int(t_end * RATE):
            block = timed("mix audio", mixer.mix, [])
            timed("mux + AAC (SegmentWriter)", writer.write_audio, block.full, mixed)
            mixed += BLOCK
    # Delayed frames (none with zerolatency and no B-frames, but do not lose any).
    for packet in encoder._context.encode(None):
        packet.time_base = VIDEO_TIME_BASE
        timed("mux + AAC (SegmentWriter)", writer.write_video, packet)
        packets_out += 1
    timed("mux + AAC (SegmentWriter)", writer.close)
    for c in video_in + audio_in:
        c.close()
    return {
        "frames": total,
        "packets": packets_out,
        "segments": segments,
        "wall": time.monotonic() - started,
        "stages": stages if staged else {},
        "process_cpu": time.process_time(),
    }


# -- ffmpeg ---------------------------------------------------------------------------------------------


def ffmpeg_command(inputs: list[Path], out: Path, seconds: int, preset: str, threads: int) -> list[str]:
    from hearing_server.config import MediaSettings, RecordingSettings

    media, recording = MediaSettings(), RecordingSettings()
    gop = max(1, int(round(media.keyframe_interval_seconds * FPS)))
    kbps = media.video_bitrate // 1000
    # The compositor's geometry at 1280×720: a 36 px bar; 2×2 cells of 640×342 with a 3 px border; the
    # 640×480 picture letterboxed into 634×336 → 448×336 at x+93.
    labels = os.path.exists(FONT)
    parts = []
    for i, (_, _, name, role) in enumerate(SOURCES):
        chain = f"[{i}:v]scale=448:336:flags=area,pad=634:336:93:0:black,pad=640:342:3:3:color=0x141820"
        if labels:
            chain += (
                f",drawtext=fontfile={FONT}:fontsize=14:fontcolor=white:box=1:boxcolor=black:boxborderw=5"
                f":x=8:y=h-th-8:text='{name}  ({role})'"
            )
        parts.append(chain + f"[v{i}]")
    tail = "[v0][v1][v2][v3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0,pad=1280:720:0:36:black"
    if labels:
        tail += (
            f",drawtext=fontfile={FONT}:fontsize=15:fontcolor=white:x=12:y=11:text='Case {CASE}'"
            f",drawtext=fontfile={FONT}:fontsize=15:fontcolor=white:x=w-tw-12:y=11"
            f":text='%{{pts\\:gmtime\\:{CLOCK0}\\:%Y-%m-%d %H\\\\\\:%M\\\\\\:%S}} UTC'"
            f",drawbox=x=593:y=11:w=14:h=14:color=red:t=fill"
            f",drawtext=fontfile={FONT}:fontsize=15:fontcolor=red:x=614:y=11:text='REC'"
        )
    parts.append(tail + "[v]")
    parts.append("[0:a][1:a][2:a][3:a]amix=inputs=4:normalize=0[a]")
    script = out.parent / "ffmpeg-filter.txt"
    script.write_text(";\n".join(parts) + "\n")
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-nostdin", "-nostats"]
    for path in inputs:
        cmd += ["-i", str(path)]
    cmd += [
        "-filter_complex_script",
        str(script),
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-t",
        str(seconds),
        "-c:v",
        "libx264",
        "-preset",
        preset,
        "-tune",
        "zerolatency",
        "-profile:v",
        "baseline",
        "-level",
        "3.1",
        "-pix_fmt",
        "yuv420p",
        "-b:v",
        f"{kbps}k",
        "-g",
        str(gop),
        "-bf",
        "0",
        "-threads",
        str(threads),
        "-x264-params",
        f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1:vbv-maxrate={kbps}:vbv-bufsize={kbps}",
        "-c:a",
        "aac",
        "-b:a",
        str(recording.audio_bitrate),
        "-ac",
        "1",
        "-ar",
        "48000",
        "-f",
        "mp4",
        str(out),
    ]
    return cmd


# -- checks ---------------------------------------------------------------------------------------------


def probe(path: Path) -> dict:
    result = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=codec_type,codec_name,profile,width,height,sample_rate,channels,"
            "nb_read_packets:format=duration",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode:
        return {"error": result.stderr.strip()[:200]}
    return json.loads(result.stdout)


def check(label: str, info: dict, seconds: int) -> list:
    if "error" in info:
        return [(label, "ffprobe", "FAIL", info["error"])]
    streams = {s["codec_type"]: s for s in info.get("streams", [])}
    video, audio = streams.get("video", {}), streams.get("audio", {})
    duration = float(info.get("format", {}).get("duration", 0) or 0)
    frames = int(video.get("nb_read_packets", 0) or 0)
    rows = [
        (
            label,
            "video",
            "ok"
            if video.get("codec_name") == "h264"
            and (video.get("width"), video.get("height")) == (WIDTH, HEIGHT)
            else "FAIL",
            f"{video.get('codec_name')} {video.get('profile')} {video.get('width')}x{video.get('height')}",
        ),
        (
            label,
            "audio",
            "ok" if audio.get("codec_name") == "aac" and audio.get("sample_rate") == "48000" else "FAIL",
            f"{audio.get('codec_name')} {audio.get('sample_rate')} Hz {audio.get('channels')} ch",
        ),
        (
            label,
            "duration",
            "ok" if abs(duration - seconds) <= 0.5 else "FAIL",
            f"{duration:.2f} s of {seconds}",
        ),
        (
            label,
            "video frames",
            "ok" if abs(frames - seconds * FPS) <= 1 else "FAIL",
            f"{frames} of {seconds * FPS}",
        ),
    ]
    return rows


# -- main -----------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--preset", default=None, help="x264 preset (default: MediaSettings.x264_preset)")
    ap.add_argument("--threads", type=int, default=None, help="x264 threads (default: MediaSettings)")
    ap.add_argument(
        "--profile",
        choices=["py-spy", "pyinstrument"],
        help="profile the ours child (its CPU figure then includes the profiler's overhead)",
    )
    ap.add_argument("--native", action="store_true", help="py-spy: include native (C) frames")
    ap.add_argument("--only", choices=["ours", "ffmpeg"], help="run one pipeline only")
    ap.add_argument("--child-ours", help=argparse.SUPPRESS)
    args = ap.parse_args()

    from hearing_server.config import MediaSettings

    media = MediaSettings()
    preset = args.preset or media.x264_preset
    threads = args.threads if args.threads is not None else media.encoder_threads
    inputs = make_inputs(args.seconds)
    work = CACHE / "recorder-out"

    if args.child_ours:
        out = Path(args.child_ours)
        if os.environ.get("BENCH_PYINSTRUMENT"):
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
            profiler.start()
            result = run_ours(inputs, out, args.seconds, preset, threads, profiled=True)
            profiler.stop()
            Path(os.environ["BENCH_PYINSTRUMENT"]).write_text(
                profiler.output_text(unicode=False, color=False, show_all=False)
            )
        else:
            result = run_ours(
                inputs, out, args.seconds, preset, threads, bool(os.environ.get("BENCH_PROFILED"))
            )
        print("RESULT " + json.dumps(result))
        return 0

    from common import py_spy, run_measured, summarize_collapsed, table  # the parent only

    print(
        f"composite of 4 × {IN_W}x{IN_H}@{FPS} → {WIDTH}x{HEIGHT}@{FPS}, {args.seconds} s, "
        f"x264 preset {preset}, threads {threads}, {media.video_bitrate // 1000} kb/s, "
        f"keyint {media.keyframe_interval_seconds:g} s; {os.cpu_count()} cores",
        flush=True,
    )
    rows, checks, measured = [], [], {}
    profiles = CACHE / "profiles"
    if args.only != "ours":
        out = work / "ffmpeg" / "composite.mp4"
        shutil.rmtree(out.parent, ignore_errors=True)
        out.parent.mkdir(parents=True)
        m = run_measured(
            ffmpeg_command(inputs, out, args.seconds, preset, threads), timeout=60 + args.seconds * 10
        )
        if m.returncode:
            print(f"ffmpeg failed ({m.returncode})")
            return 1
        measured["ffmpeg"] = (m, out.stat().st_size)
        checks += check("ffmpeg", probe(out), args.seconds)
    if args.only != "ffmpeg":
        out = work / "ours"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--seconds",
            str(args.seconds),
            "--preset",
            preset,
            "--threads",
            str(threads),
            "--child-ours",
            str(out),
        ]
        env = dict(os.environ)
        spy_out = profiles / "recorder-ours.pyspy.txt"
        text_out = profiles / "recorder-ours.pyinstrument.txt"
        if args.profile:
            profiles.mkdir(parents=True, exist_ok=True)
        if args.profile == "py-spy":
            spy = py_spy()
            if spy is None:
                sys.exit("py-spy is not installed")
            env["BENCH_PROFILED"] = "1"
            cmd = (
                [spy, "record", "--format", "raw", "--rate", "200", "-o", str(spy_out)]
                + (["--native"] if args.native else [])
                + ["--"]
                + cmd
            )
        elif args.profile == "pyinstrument":
            env["BENCH_PYINSTRUMENT"] = str(text_out)
        m = run_measured(cmd, timeout=120 + args.seconds * 20, env=env, cwd=str(REPO))
        line = next((x for x in m.stdout.splitlines() if x.startswith("RESULT ")), None)
        if m.returncode or line is None:
            print(m.stdout[-2000:])
            print(f"ours failed ({m.returncode})")
            return 1
        result = json.loads(line[len("RESULT ") :])
        size = sum(s["size"] for s in result["segments"])
        measured["ours"] = (m, size)
        # One file from the segments, by the project's own remux (no re-encode), for the checks.
        from recorder.remux import remux

        joined = work / "ours-joined.mp4"
        t = time.monotonic()
        remux([Path(s["path"]) for s in result["segments"]], joined)
        remux_s = time.monotonic() - t
        checks += check("ours (remuxed)", probe(joined), args.seconds)
        bad = [s for s in result["segments"] if len(probe(Path(s["path"])).get("streams", [])) != 2]
        checks.append(
            (
                "ours",
                f"{len(result['segments'])} segments",
                "ok" if not bad else "FAIL",
                f"each h264+aac: {len(result['segments']) - len(bad)}/{len(result['segments'])}; "
                f"clock {result['segments'][0]['start']:.2f}–{result['segments'][-1]['end']:.2f} s; "
                f"remux {remux_s:.2f} s",
            )
        )
        stages = result["stages"]
        frames = result["frames"]
        staged = sum(stages.values())
        if stages:
            table(
                ["stage (ours)", "CPU-ms / frame", "share %"],
                [(k, 1000 * v / frames, 100 * v / staged) for k, v in stages.items()]
                + [
                    ("total of stages", 1000 * staged / frames, 100.0),
                    ("whole child process (incl. start-up)", 1000 * m.cpu / frames, float("nan")),
                ],
                "Ours, per stage (process CPU time while the stage ran)",
            )
    ffmpeg_cpu = measured["ffmpeg"][0].cpu if "ffmpeg" in measured else float("nan")
    for name, (m, size) in measured.items():
        rows.append(
            (
                name + (" (profiled)" if name == "ours" and args.profile else ""),
                m.cpu,
                m.wall,
                args.seconds / m.wall,
                size / 1e6,
                m.maxrss_mb,
                m.cpu / ffmpeg_cpu,
            )
        )
    table(
        [
            "pipeline",
            "CPU-s",
            "wall-s",
            "real-time factor",
            "output MB",
            "peak RSS MB",
            "CPU ratio ours/ffmpeg",
        ],
        rows,
        f"Offline composite, {args.seconds} s of 4 inputs",
    )
    table(["output", "check", "result", "detail"], checks, "ffprobe checks")
    if args.profile == "py-spy" and spy_out.exists():
        summarize_collapsed(spy_out, 15, "py-spy, ours pipeline")
        print(f"raw profile: {spy_out}")
    elif args.profile == "pyinstrument" and text_out.exists():
        print(text_out.read_text()[:6000])
        print(f"full profile: {text_out}")
    return 0 if all(c[2] == "ok" for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
