"""Shared pieces of the benchmarks: the server in a subprocess, staff accounts, CPU/RSS sampling, CPU time of
child processes, profiles, and plain-text tables.

Benchmarks print tables; they never assert on timings (the machines are shared and noisy: compare CPU time and
ratios, not wall clock).
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CACHE = BENCH / ".cache"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # hearing_server, recorder and tests.helpers / tests.servers

from tests.servers import free_port, wait_http  # noqa: E402

PASSWORD = "correct horse battery"

try:
    import psutil
except ImportError:  # pragma: no cover - the bench extra installs it
    psutil = None  # type: ignore[assignment]


def need_psutil() -> None:
    if psutil is None:
        sys.exit("psutil is missing: make bench-... installs it (pip install -e '.[test,bench]')")


# -- numbers and tables --------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100); NaN for no values."""
    data = sorted(v for v in values if v is not None and not math.isnan(v))
    if not data:
        return float("nan")
    if len(data) == 1:
        return data[0]
    k = (len(data) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "", digits: int = 2) -> str:
    """A Markdown-style table with aligned columns, printed and returned."""
    cells = [[fmt(c, digits) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))

    def line(values: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))
            + " |"
        )

    out = []
    if title:
        out.append(f"\n{title}")
    out.append(line(headers))
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out.extend(line(row) for row in cells)
    text = "\n".join(out)
    print(text, flush=True)
    return text


def least_squares_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    if n < 2:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return float("nan")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


# -- CPU time of a child process ------------------------------------------------------------------------


@dataclass
class Measured:
    returncode: int
    user: float
    system: float
    wall: float
    maxrss_mb: float
    stdout: str = ""

    @property
    def cpu(self) -> float:
        return self.user + self.system


def run_measured(
    cmd: Sequence[str], timeout: float | None = None, capture: bool = True, **popen: Any
) -> Measured:
    """Run a command and return the CPU time of exactly that child (os.wait4), its wall time and peak RSS.

    The child's own waited-for children are included in its rusage, as the kernel counts them."""
    start = time.monotonic()
    process = subprocess.Popen(list(cmd), stdout=subprocess.PIPE if capture else None, **popen)
    watchdog = threading.Timer(timeout, process.kill) if timeout else None
    if watchdog is not None:
        watchdog.start()
    out = b""
    try:
        if capture:
            assert process.stdout is not None
            out = process.stdout.read()  # to EOF first (a full pipe would block the child), then reap
    finally:
        _, status, usage = os.wait4(process.pid, 0)
        if watchdog is not None:
            watchdog.cancel()
    wall = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        process.returncode,
        usage.ru_utime,
        usage.ru_stime,
        wall,
        usage.ru_maxrss / 1024,
        out.decode(errors="replace"),
    )


# -- sampling a running process -------------------------------------------------------------------------


@dataclass
class Snapshot:
    at: float  # monotonic
    cpu: float  # user + system seconds of the process
    rss: int
    fds: int
    threads: int


@dataclass
class Window:
    seconds: float
    cpu_percent: float  # of one core
    rss_mb_mean: float
    rss_mb_max: float
    fds_max: int


class ProcSampler:
    """Samples one process and its children — the server and its media workers — (CPU time, RSS, open fds,
    threads) every `interval` seconds in a thread."""

    def __init__(self, pid: int | list[int], interval: float = 0.5) -> None:
        need_psutil()
        # Several pids: several nodes on this machine, summed.
        self.processes = [psutil.Process(p) for p in (pid if isinstance(pid, list) else [pid])]
        self.process = self.processes[0]
        self.interval = interval
        self.samples: list[Snapshot] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def snap(self) -> Snapshot:
        cpu, rss, fds, threads = 0.0, 0, 0, 0
        tree = [p for root in self.processes for p in (root, *root.children(recursive=True))]
        for process in tree:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    cpu += times.user + times.system
                    rss += process.memory_info().rss
                    fds += process.num_fds()
                    threads += process.num_threads()
            except psutil.NoSuchProcess:
                if process in self.processes:
                    raise
        return Snapshot(time.monotonic(), cpu, rss, fds, threads)

    def start(self) -> "ProcSampler":
        def run() -> None:
            while not self._stop.is_set():
                try:
                    snapshot = self.snap()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    return
                with self._lock:
                    self.samples.append(snapshot)
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=run, name="sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def window(self, first: Snapshot, last: Snapshot) -> Window:
        with self._lock:
            inside = [s for s in self.samples if first.at <= s.at <= last.at] + [first, last]
        seconds = max(1e-9, last.at - first.at)
        rss = [s.rss / 2**20 for s in inside]
        return Window(
            seconds,
            100.0 * (last.cpu - first.cpu) / seconds,
            sum(rss) / len(rss),
            max(rss),
            max(s.fds for s in inside),
        )


class MachineLoad:
    """Busy share of the whole machine (all cores), to tell the benchmark's own load from everyone else's."""

    def __init__(self) -> None:
        need_psutil()
        self._start = psutil.cpu_times()
        self._at = time.monotonic()

    def busy_cores(self) -> float:
        """Average number of busy cores since construction."""
        now = psutil.cpu_times()
        idle = (now.idle + getattr(now, "iowait", 0.0)) - (
            self._start.idle + getattr(self._start, "iowait", 0.0)
        )
        total = sum(now) - sum(self._start)
        cores = psutil.cpu_count() or 1
        return cores * (1 - idle / total) if total > 0 else float("nan")


def self_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the server -----------------------------------------------------------------------------------------


def add_staff(data_dir: Path) -> None:
    """The same accounts tests/conftest.add_staff makes, in the data folder the server will read."""
    from hearing_server.roles import Role
    from hearing_server.users import UserDirectory

    data_dir.mkdir(parents=True, exist_ok=True)
    if (data_dir / "users.json").exists():
        return  # several nodes share one data folder: made by the first
    users = UserDirectory(data_dir / "users.json")
    users.add("judge", Role.JUDGE, PASSWORD, "Judge Amira Haddad")
    users.add("judge2", Role.JUDGE, PASSWORD, "Judge Bo Lindqvist")
    users.add("clerk", Role.CLERK, PASSWORD, "Clerk Carmen Ortiz")
    users.add("admin", Role.ADMIN, PASSWORD, "Court IT")
    users.add("courtroom1", Role.COURTROOM, PASSWORD, "Courtroom 1 PC", courtroom="Courtroom 3")


def media_env(
    width: int | None = None,
    height: int | None = None,
    bitrate: int | None = None,
    preset: str | None = None,
    threads: int | None = None,
    workers: int | None = None,
) -> dict[str, str]:
    """Environment overrides for the server's media settings; None keeps the embedded default."""
    env = {}
    for name, value in (
        ("WIDTH", width),
        ("HEIGHT", height),
        ("VIDEO_BITRATE", bitrate),
        ("X264_PRESET", preset),
        ("ENCODER_THREADS", threads),
        ("WORKERS", workers),
    ):
        if value is not None:
            env[f"COURTROOM_MEDIA_{name}"] = str(value)
    return env


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


class BenchServer:
    """`python -m hearing_server` on a free loopback port, advertising 127.0.0.1 as its ICE host address,
    with its own data folder and the test staff accounts. Optionally run under `py-spy record`."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        profile: Path | None = None,
        native: bool = False,
        host: str = "127.0.0.1",
        log_level: str = "WARNING",
    ) -> None:
        self.data_dir = data_dir
        self.log_level = log_level
        self.host = host  # bench/weak_link.py: the host end of a shaped link
        self.port = free_port()
        self.env = {**os.environ, "COURTROOM_MEDIA_ICE_ADDRESSES": host, **(env or {})}
        self.profile = profile
        self.native = native
        self.log = data_dir.parent / "server.log"
        self.process: subprocess.Popen | None = None
        self.pid = 0  # the server's own pid (not py-spy's)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> "BenchServer":
        add_staff(self.data_dir)
        cmd = [
            sys.executable,
            "-m",
            "hearing_server",
            "--data-dir",
            str(self.data_dir),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--log-level",
            self.log_level,
        ]
        if self.profile is not None:
            spy = py_spy()
            if spy is None:
                raise SystemExit("py-spy is not installed (pip install -e '.[test,bench]')")
            self.profile.parent.mkdir(parents=True, exist_ok=True)
            # --native cannot be combined with --nonblocking (py-spy pauses the process to unwind C stacks)
            cmd = (
                [spy, "record", "--format", "raw", "--rate", "100", "-o", str(self.profile)]
                + (["--native"] if self.native else ["--nonblocking"])
                + ["--"]
                + cmd
            )
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO)
        )
        self.pid = self.process.pid
        if self.profile is not None:
            need_psutil()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                children = psutil.Process(self.process.pid).children()
                if children:
                    self.pid = children[0].pid
                    break
                time.sleep(0.05)
        wait_http(self.url + "/api/health", timeout=timeout, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)  # with py-spy: the server; py-spy then writes its file
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> "BenchServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- profiles --------------------------------------------------------------------------------------------


def _frame_name(frame: str) -> str:
    """'encode (av/codec/context.py:123)' -> 'encode (av/codec/context.py)'."""
    if frame.endswith(")") and " (" in frame:
        name, where = frame[:-1].split(" (", 1)
        where = where.rsplit(":", 1)[0] if ":" in where else where
        for marker in ("site-packages/", str(REPO) + "/", "lib/python3.11/"):
            if marker in where:
                where = where.split(marker, 1)[1]
        return f"{name} ({where})"
    return frame


def _is_python(frame: str) -> bool:
    return frame.endswith(".py)") or "(<frozen" in frame


def _library(frame: str) -> str:
    """The shared library (or source kind) of a native frame: 'libx264', 'cv2', 'numpy', 'av (Cython)'..."""
    where = frame[frame.rfind("(") + 1 : -1] if frame.endswith(")") else frame
    base = where.rsplit("/", 1)[-1]
    if ".so" in base:
        base = base.split(".so")[0]
        if base.startswith("lib") and "-" in base:
            base = base.rsplit("-", 1)[0]  # libavcodec-5e6b81c2 -> libavcodec
        if where.startswith("numpy/"):
            return "numpy"
        if where.startswith("cv2/"):
            return "cv2 (OpenCV)"
        return base
    if base.endswith((".c", ".h")):
        return "Cython/C glue (av, aiortc)"
    return base or "?"


def summarize_collapsed(path: Path, top: int = 15, title: str = "") -> list[str]:
    """Summaries of a py-spy 'raw' (collapsed stacks) profile, printed as tables:
    - Python functions by self time, where native time counts for the Python function that called it
      (so `_draw_tile` owns the cv2.resize below it);
    - Python functions by inclusive time;
    - with --native stacks: the library the sampled instruction was in (libx264, libavcodec, cv2, numpy...).
    Samples are of busy threads only (py-spy leaves idle ones out), summed over all threads."""
    owner: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    total = 0
    native = False
    for raw in path.read_text(errors="replace").splitlines():
        stack, _, count = raw.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += n
        python = [f for f in frames if _is_python(f)]
        owner[python[-1] if python else "(native only: " + _library(frames[-1]) + ")"] += n
        for name in set(python):
            inclusive[name] += n
        if not _is_python(frames[-1]):
            native = native or ".so" in frames[-1] or "[vdso]" in frames[-1]
            libraries[_library(frames[-1])] += n
        else:
            libraries["Python interpreter"] += n
    out: list[str] = []
    if not total:
        print(f"{path}: no samples")
        return out
    out.append(
        table(
            ["self %", "Python function (incl. the native code it called)"],
            [(100.0 * c / total, n) for n, c in owner.most_common(top)],
            f"{title}: {total} samples of busy threads; top {top} by self time",
            1,
        )
    )
    out.append(
        table(
            ["total %", "Python function (inclusive)"],
            [(100.0 * c / total, n) for n, c in inclusive.most_common(top + 10)],
            f"{title}: top {top + 10} by inclusive time",
            1,
        )
    )
    if native:
        out.append(
            table(
                ["self %", "where the CPU was (library of the sampled instruction)"],
                [(100.0 * c / total, n) for n, c in libraries.most_common(12)],
                f"{title}: by library",
                1,
            )
        )
    return out


@dataclass
class Stopwatch:
    started: float = field(default_factory=time.monotonic)

    def __call__(self) -> float:
        return time.monotonic() - self.started
