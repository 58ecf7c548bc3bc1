"""Capacity: how many media nodes carry a national peak day of remote hearings, with one node failing at peak?

A placement simulation. It measures nothing itself; it takes the cost of a hearing measured by bench/live.py
(docs/performance.md) and places a simulated court day on N nodes the way hearing_server/routing/selector.py
places hearings, for growing N, until no hearing is refused or dropped.

The model (every number below is an option; the defaults are printed with the results):

- Demand: `--hearings` (4500) hearings on each simulated day, the national peak (390 courts; Kazakhstan keeps
  one time zone, UTC+5, since 2024, so every court's working day is the same hours). Start times are a mixture
  of two normals, a morning peak N(10:45, 70 min) weighing 60 % and an after-lunch peak N(15:15, 60 min)
  weighing 40 %, redrawn until they fall inside the working day (`--day`, 09:00–18:00). Hearings run on past
  18:00 if they must.
- Length: lognormal, median 35 min, sigma 0.7 (mean ≈ 45 min, p95 ≈ 110 min, p99 ≈ 180 min), clamped to
  5–240 min.
- Participants (connections, the judge included): 2: 20 %, 3: 30 %, 4: 25 %, 5: 15 %, 6: 10 %.
- CPU: a hearing of p participants costs C4 × ((1 − s) + s × p / 4) cores, C4 the four-party figure
  `--core-per-hearing` (0.70, docs/performance.md: 0.65–0.72 of a core on the 2-core bench machine) and s
  `--participant-share` 0.6, the part of it that grows with each participant (the per-thread table there:
  each camera's H.264 decode, each microphone's Opus decode, each listener's mix-minus Opus encode and its
  share of aiortc's RTP path on the event loop, ≈ 0.105 core each); the rest (compose + one x264 encode, the
  recorder) is fixed. So 2 parties 0.49, 4 parties 0.70, 6 parties 0.91 of a core.
  `--cost-from PATH` reads {"core_per_hearing": x} (optionally "participant_share") from a bench run.
- Nodes: `--cores-per-node` (16), one core kept for the front (API, signaling, relays: `--front-cores`), so 15
  media workers per node (set `media.workers = 15`; -1 would start 16). A worker's CPU is the sum of its
  hearings' costs.
- Placement, as selector.choose_worker: the least-loaded worker by (CPU in tenths of a core, hearings,
  participants, id) among those with fewer than `media.hearings_per_worker` (3) hearings and CPU below
  CPU_LIMIT (0.85). The selector checks the CPU a worker has BEFORE the new hearing, so a worker at 0.8 still
  takes a 0.9 hearing. `--rule projected` instead asks that the worker stay within the limit after it (an
  empty worker takes any hearing), to show what a stricter selector would cost.
- Failure: at the moment of the day's peak concurrency the node carrying the most hearings dies for the rest
  of the day; its hearings are re-placed on the survivors at once. Nodes report CPU every 2 s but the lost
  hearings come back within seconds, so during that burst the selector sees each worker's CPU from before the
  failure and only the hearing counts move (routing.Router counts a just-placed hearing, not its CPU);
  `--failover-cpu fresh` sees the CPU of every re-placed hearing at once. A hearing no worker takes is DROPPED.
  A new hearing no worker takes is REFUSED (503 server_full) and not retried.
- Overload: a worker above `--worker-max` (1.2 cores, the ceiling of one server process measured in
  docs/performance.md) loses frames for all its hearings, and so do the hearings of a node whose workers
  together need more than its cores less the front's. The selector does not see either, so neither refuses
  a hearing; the table counts them.

Each N is run on the same `--days` (20) simulated days (one seed each, from `--seed`); the table gives the
worst day. Two answers, each with N + 1 for a spare: the smallest N with nothing refused or dropped on any
day (the question as asked), and the smallest N that also overloads no worker and no node (the one to size
by; found by bisection, assuming overload only falls as N grows).

    .venv/bin/python bench/capacity.py [--hearings 4500] [--days 20] [--core-per-hearing 0.70]
        [--cost-from PATH] [--rule selector|projected] [--failover-cpu stale|fresh]
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

# Mirrors of the server's placement constants (hearing_server/routing/selector.py CPU_LIMIT, config
# media.hearings_per_worker). Not imported: the selector pulls in msgspec, and this script needs only the
# standard library.
CPU_LIMIT = 0.85
HEARINGS_PER_WORKER = 3
MILLI = 1000  # CPU in integer thousandths of a core: a day of adding and removing floats would drift

DEFAULT_CORE = 0.70  # a four-party 720p hearing, docs/performance.md
TODAY_SERVERS = 152  # the video servers the courts run today, for comparison


# -- the model ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peak:
    """One component of the arrival mixture: a normal around `centre` (minutes after midnight)."""

    centre: float
    sd: float
    weight: float


@dataclass(frozen=True)
class Model:
    hearings: int
    day_start: float  # minutes after midnight
    day_end: float
    peaks: tuple[Peak, ...]
    length_median: float
    length_sigma: float
    length_min: float
    length_max: float
    participants: tuple[tuple[int, float], ...]  # (parties, weight)
    core_per_hearing: float  # four parties
    participant_share: float  # of core_per_hearing, the part that grows with the participants
    cores_per_node: int
    front_cores: int
    workers_per_node: int
    cpu_limit: float
    hearings_per_worker: int
    rule: str  # "selector" | "projected"
    failover_cpu: str  # "stale" | "fresh"
    worker_max: float

    @property
    def fixed_core(self) -> float:
        return self.core_per_hearing * (1 - self.participant_share)

    @property
    def core_per_participant(self) -> float:
        return self.core_per_hearing * self.participant_share / 4

    def cost(self, parties: int) -> float:
        """Cores one hearing of `parties` participants keeps busy (scaled from the four-party measurement)."""
        return self.fixed_core + self.core_per_participant * parties

    @property
    def node_usable(self) -> float:
        return float(self.cores_per_node - self.front_cores)


@dataclass(frozen=True)
class Hearing:
    hid: int
    start: float  # minutes after midnight
    end: float
    parties: int
    milli: int  # cost in thousandths of a core


@dataclass(frozen=True)
class Day:
    hearings: tuple[Hearing, ...]  # by start
    peak_index: int  # the arrival after which the most hearings are open at once (if all were carried)
    peak_open: int
    peak_cores: float


def clock(text: str) -> float:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def hhmm(minutes: float) -> str:
    m = int(round(minutes))
    return f"{m // 60:02d}:{m % 60:02d}"


def parse_peaks(text: str) -> tuple[Peak, ...]:
    """"10:45/70/60,15:15/60/40": centre / standard deviation in minutes / weight."""
    peaks = []
    for part in text.split(","):
        centre, sd, weight = part.split("/")
        peaks.append(Peak(clock(centre), float(sd), float(weight)))
    if not peaks or any(p.sd <= 0 or p.weight <= 0 for p in peaks):
        raise ValueError(f"bad --arrivals {text!r}")
    return tuple(peaks)


def parse_participants(text: str) -> tuple[tuple[int, float], ...]:
    """"2:20,3:30,...": parties : weight."""
    pairs = []
    for part in text.split(","):
        parties, weight = part.split(":")
        pairs.append((int(parties), float(weight)))
    if not pairs or any(p < 1 or w <= 0 for p, w in pairs):
        raise ValueError(f"bad --participants {text!r}")
    return tuple(pairs)


def read_cost(path: Path) -> dict[str, float]:
    """{"core_per_hearing": x[, "participant_share": s]} as written by a bench run."""
    data: Any = json.loads(path.read_text())
    if not isinstance(data, dict) or "core_per_hearing" not in data:
        raise ValueError(f"{path}: expected a JSON object with core_per_hearing")
    out = {"core_per_hearing": float(data["core_per_hearing"])}
    if not 0 < out["core_per_hearing"] < 64:
        raise ValueError(f"{path}: core_per_hearing = {out['core_per_hearing']} is not a plausible number of cores")
    if "participant_share" in data:
        out["participant_share"] = float(data["participant_share"])
    return out


# -- demand: one simulated day --------------------------------------------------------------------------


def draw_start(rng: random.Random, model: Model) -> float:
    peak = rng.choices(model.peaks, weights=[p.weight for p in model.peaks])[0]
    while True:  # truncated normal: a court does not open a hearing outside its working day
        t = rng.gauss(peak.centre, peak.sd)
        if model.day_start <= t < model.day_end:
            return t


def draw_length(rng: random.Random, model: Model) -> float:
    length = rng.lognormvariate(math.log(model.length_median), model.length_sigma)
    return min(max(length, model.length_min), model.length_max)


def make_day(seed: int, model: Model) -> Day:
    rng = random.Random(seed)
    parties = [p for p, _ in model.participants]
    weights = [w for _, w in model.participants]
    drawn = []
    for _ in range(model.hearings):
        start = draw_start(rng, model)
        n = rng.choices(parties, weights=weights)[0]
        drawn.append((start, start + draw_length(rng, model), n))
    drawn.sort()
    hearings = tuple(Hearing(i, s, e, n, round(model.cost(n) * MILLI)) for i, (s, e, n) in enumerate(drawn))
    index, open_, cores = demand_peak(hearings)
    return Day(hearings, index, open_, cores)


def demand_peak(hearings: Sequence[Hearing]) -> tuple[int, int, float]:
    """(arrival index, hearings open, cores) at the most hearings open at once, if every one were carried."""
    ends: list[tuple[float, int]] = []
    best, best_index, best_milli, milli = -1, 0, 0, 0
    for i, h in enumerate(hearings):
        while ends and ends[0][0] <= h.start:  # a hearing ending at 10:00 frees its seat for one at 10:00
            milli -= heapq.heappop(ends)[1]
        heapq.heappush(ends, (h.end, h.milli))
        milli += h.milli
        if len(ends) > best:
            best, best_index, best_milli = len(ends), i, milli
    return best_index, best, best_milli / MILLI


# -- supply: N nodes and the selector --------------------------------------------------------------------


@dataclass
class DayResult:
    peak_open: int = 0
    peak_milli: int = 0
    busiest_worker: int = 0
    busiest_node: int = 0
    refused: int = 0
    dropped: int = 0
    overloaded: set[int] = field(default_factory=set)  # workers that went above worker_max


class Cluster:
    """The media workers of N nodes and the selector's choice among them.

    Worker i is on node i // workers_per_node; its id "<node>/<index>" (zero-padded) sorts as i does, which is
    the selector's last tie-break. State is kept in flat lists and the heap key is one integer: the search
    runs tens of simulated days per N, and a tuple key and an object per worker made it twice as slow.
    """

    def __init__(self, nodes: int, model: Model, result: DayResult) -> None:
        self.model = model
        self.result = result
        self.per = model.workers_per_node
        count = nodes * self.per
        self.count = count
        self.limit = round(model.cpu_limit * MILLI)
        self.worker_max = round(model.worker_max * MILLI)
        self.cap = model.hearings_per_worker
        self.projected = model.rule == "projected"
        self.milli = [0] * count  # what each worker really carries
        self.seen = [0] * count  # what the selector sees of it (its last report)
        self.hearings = [0] * count
        self.parties = [0] * count
        self.version = [0] * count  # bumps on every change; heap entries of an older version are ignored
        self.alive = [True] * count
        self.node_milli = [0] * nodes
        self.node_hearings = [0] * nodes
        self.where: dict[int, int] = {}  # hearing id → worker carrying it
        self.total = 0
        self.heap: list[tuple[int, int, int]] = [(self._key(i), 0, i) for i in range(count)]
        heapq.heapify(self.heap)

    def _key(self, i: int) -> int:
        # selector._score: (CPU in tenths, hearings, participants), then the id. Tenths by integer rounding of
        # thousandths (round() would round half to even; a measured CPU is never exactly on the half).
        tenths = (self.seen[i] + 50) // 100
        return ((tenths * 64 + self.hearings[i]) * 4096 + self.parties[i]) * self.count + i

    def _push(self, i: int) -> None:
        """Into the heap if the selector would consider it: alive, room for a hearing, CPU below the limit."""
        if self.alive[i] and self.hearings[i] < self.cap and self.seen[i] < self.limit:
            heapq.heappush(self.heap, (self._key(i), self.version[i], i))

    def _choose(self, h: Hearing) -> int | None:
        heap, version, passed = self.heap, self.version, []
        chosen = None
        while heap:
            entry = heapq.heappop(heap)
            i = entry[2]
            if entry[1] != version[i]:
                continue  # the worker changed since; its newer entry is in the heap if it is still open
            if not self.projected or self.hearings[i] == 0 or self.seen[i] + h.milli <= self.limit:
                chosen = i
                break
            passed.append(entry)  # open, but not for this hearing (projected rule): keep it for the next
        for entry in passed:
            heapq.heappush(heap, entry)
        return chosen

    def place(self, h: Hearing, *, report: bool) -> bool:
        """`h` onto the selector's worker; `report`: the selector sees its CPU at once (else at the next beat)."""
        i = self._choose(h)
        if i is None:
            return False
        milli = self.milli[i] = self.milli[i] + h.milli
        self.hearings[i] += 1  # counted at once, as Router._with_recent and WorkerPool.load do
        self.parties[i] += h.parties
        if report:
            self.seen[i] = milli
        self.version[i] += 1
        self._push(i)
        self.where[h.hid] = i
        node = i // self.per
        node_milli = self.node_milli[node] = self.node_milli[node] + h.milli
        self.node_hearings[node] += 1
        self.total += h.milli
        # The day's extremes, kept as they happen (plain comparisons: this runs a million times a search).
        r = self.result
        if len(self.where) > r.peak_open:
            r.peak_open = len(self.where)
        if self.total > r.peak_milli:
            r.peak_milli = self.total
        if milli > r.busiest_worker:
            r.busiest_worker = milli
        if node_milli > r.busiest_node:
            r.busiest_node = node_milli
        if milli > self.worker_max:
            r.overloaded.add(i)
        return True

    def remove(self, h: Hearing) -> None:
        i = self.where.pop(h.hid, None)
        if i is None:
            return  # refused or dropped: nothing to free
        self.seen[i] = self.milli[i] = self.milli[i] - h.milli
        self.hearings[i] -= 1
        self.parties[i] -= h.parties
        self.version[i] += 1
        self._push(i)
        node = i // self.per
        self.node_milli[node] -= h.milli
        self.node_hearings[node] -= 1
        self.total -= h.milli

    def fail_busiest_node(self, by_id: dict[int, Hearing]) -> None:
        """The node with the most hearings dies now; each of its hearings is re-placed or dropped."""
        alive = {i // self.per for i in range(self.count) if self.alive[i]}
        node = max(alive, key=lambda n: (self.node_hearings[n], self.node_milli[n]))
        lost = sorted(hid for hid, i in self.where.items() if i // self.per == node)
        for i in range(node * self.per, (node + 1) * self.per):
            self.alive[i] = False
            self.version[i] += 1
        for hid in lost:
            del self.where[hid]
            self.total -= by_id[hid].milli
        self.node_milli[node] = 0
        self.node_hearings[node] = 0
        for hid in lost:
            if not self.place(by_id[hid], report=self.model.failover_cpu == "fresh"):
                self.result.dropped += 1
        # The next heartbeat: every worker's report catches up with what it was given in the burst.
        for i in range(self.count):
            if self.seen[i] != self.milli[i]:
                self.seen[i] = self.milli[i]
                self.version[i] += 1
                self._push(i)


def simulate_day(day: Day, nodes: int, model: Model) -> DayResult:
    result = DayResult()
    cluster = Cluster(nodes, model, result)
    by_id = {h.hid: h for h in day.hearings}
    ends: list[tuple[float, int]] = []
    for i, h in enumerate(day.hearings):
        while ends and ends[0][0] <= h.start:
            cluster.remove(by_id[heapq.heappop(ends)[1]])
        heapq.heappush(ends, (h.end, h.hid))  # a refused hearing's end is skipped by remove()
        if not cluster.place(h, report=True):  # arrivals are minutes apart per worker: its report is fresh
            result.refused += 1
        if i == day.peak_index and nodes > 1:
            cluster.fail_busiest_node(by_id)
    return result


# -- the search over N ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    nodes: int
    peak_open: int
    peak_cores: float
    busiest_worker: float
    refused: int  # worst day
    dropped: int  # worst day
    overloaded: int  # worst day: workers that went above worker_max
    busiest_node: float

    @property
    def carries(self) -> bool:
        return self.refused == 0 and self.dropped == 0

    def healthy(self, model: Model) -> bool:
        return self.carries and self.overloaded == 0 and self.busiest_node <= model.node_usable


def run_row(days: Sequence[Day], nodes: int, model: Model) -> Row:
    results = [simulate_day(day, nodes, model) for day in days]
    return Row(
        nodes,
        max(r.peak_open for r in results),
        max(r.peak_milli for r in results) / MILLI,
        max(r.busiest_worker for r in results) / MILLI,
        max(r.refused for r in results),
        max(r.dropped for r in results),
        max(len(r.overloaded) for r in results),
        max(r.busiest_node for r in results) / MILLI,
    )


def first_nodes(days: Sequence[Day], model: Model) -> int:
    """Where the table starts: below this N the peak does not fit even with every worker at its hearing cap."""
    most = max(d.peak_open for d in days)
    return max(2, math.ceil(most / (model.workers_per_node * model.hearings_per_worker)))


@dataclass
class Search:
    rows: dict[int, Row] = field(default_factory=dict)
    answer: Row | None = None  # the smallest N with nothing refused or dropped
    healthy: Row | None = None  # ... and no worker or node overloaded


def search(days: Sequence[Day], model: Model, start: int, most: int) -> Search:
    """Every N from `start` up to the answer and its spare; beyond, the first N without overload.

    The second part bisects (overload falls as N grows; a scan of every N to there took too long for a bench
    that should answer in seconds), so the table skips some N above the answer's spare.
    """
    found = Search()

    def row(n: int) -> Row:
        if n not in found.rows:
            found.rows[n] = run_row(days, n, model)
        return found.rows[n]

    n = start
    while n <= most and not row(n).carries:
        n += 1
    if n > most:
        return found
    found.answer = row(n)
    if n + 1 <= most:
        row(n + 1)
    if found.answer.healthy(model):
        found.healthy = found.answer
        return found
    # Below `floor` the survivors' worker cores are fewer than the peak asks, so some node is overloaded. At
    # `ceiling` every open hearing has a worker of its own even after the failure (the selector always prefers
    # an idle worker), so none is: a worker carries at most the dearest hearing. Bisect between the two.
    floor = math.ceil(max(d.peak_cores for d in days) / model.node_usable) + 1
    ceiling = math.ceil(max(d.peak_open for d in days) / model.workers_per_node) + 1
    high = max(n + 1, ceiling)
    low = min(max(n, floor - 1), high - 1)
    while high <= most and not row(high).healthy(model):  # a dear hearing alone can overload: then search on
        low, high = high, high * 2
    if high > most:
        return found
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if row(mid).healthy(model) else (mid, high)
    found.healthy = row(high)
    if high + 1 <= most:
        row(high + 1)
    return found


# -- output ---------------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """The same Markdown-style table as bench/common.table (not imported: that module needs the test helpers)."""
    cells = [[f"{c:.2f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))) + " |"

    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print(line(row))


def describe(model: Model, days: Sequence[Day], seeds: Sequence[int], cost_source: str) -> None:
    arrivals = " + ".join(f"{p.weight:g} × N({hhmm(p.centre)}, {p.sd:g} min)" for p in model.peaks)
    parties = ", ".join(f"{p}: {w:g}" for p, w in model.participants)
    costs = ", ".join(f"{p}p {model.cost(p):.3f}" for p, _ in model.participants)
    lengths = [h.end - h.start for d in days for h in d.hearings]
    mean_parties = statistics.fmean(h.parties for d in days for h in d.hearings)
    print("Capacity: a national peak day placed on N media nodes, one node failing at peak\n")
    print(f"demand      {model.hearings} hearings/day, starts in {hhmm(model.day_start)}–{hhmm(model.day_end)}: "
          f"{arrivals} (weights relative), truncated to the day")
    print(f"length      lognormal median {model.length_median:g} min, sigma {model.length_sigma:g}, clamped "
          f"{model.length_min:g}–{model.length_max:g} min; drawn: mean {statistics.fmean(lengths):.1f}, "
          f"p95 {quantile(lengths, 0.95):.0f}, max {max(lengths):.0f} min")
    print(f"parties     {parties} (weights); drawn mean {mean_parties:.2f}")
    print(f"cost        cores = {model.fixed_core:.3f} + {model.core_per_participant:.4f} × parties "
          f"({model.core_per_hearing:.3f} for four parties, {cost_source}): {costs}")
    print(f"node        {model.cores_per_node} cores, {model.front_cores} for the front, "
          f"{model.workers_per_node} media workers")
    rule = ("CPU seen BEFORE the hearing < limit (selector.py as written)" if model.rule == "selector"
            else "CPU after the hearing <= limit, or an empty worker (stricter than selector.py)")
    print(f"placement   least-loaded worker (CPU tenths, hearings, participants, id) with < "
          f"{model.hearings_per_worker} hearings and {rule}, limit {model.cpu_limit:g}")
    seen = ("CPU as reported before the failure, hearing counts at once" if model.failover_cpu == "stale"
            else "every re-placed hearing's CPU at once")
    print(f"failure     at each day's peak the node with the most hearings dies; the burst sees {seen}")
    print(f"overload    worker > {model.worker_max:g} cores (one process' ceiling) or node > "
          f"{model.node_usable:g} cores: counted, refuses nothing; the sizing line allows none")
    peak_open = [d.peak_open for d in days]
    peak_cores = [d.peak_cores for d in days]
    peak_at = [hhmm(d.hearings[d.peak_index].start) for d in days]
    print(f"days        {len(days)} (seeds {seeds[0]}–{seeds[-1]}); peak demand {min(peak_open)}–{max(peak_open)} "
          f"hearings open at once ({min(peak_cores):.1f}–{max(peak_cores):.1f} cores then), at "
          f"{min(peak_at)}–{max(peak_at)}\n")


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- main -----------------------------------------------------------------------------------------------


def build_model(args: argparse.Namespace) -> tuple[Model, str]:
    core, share, source = args.core_per_hearing, args.participant_share, "--core-per-hearing"
    if args.cost_from:
        measured = read_cost(Path(args.cost_from))
        core = measured["core_per_hearing"]
        share = measured.get("participant_share", share)
        source = f"from {args.cost_from}"
    elif core == DEFAULT_CORE:
        source = "docs/performance.md"
    if not 0 <= share <= 1:
        raise ValueError(f"participant share {share} is not between 0 and 1")
    workers = args.workers_per_node if args.workers_per_node > 0 else args.cores_per_node - args.front_cores
    model = Model(
        hearings=args.hearings,
        day_start=clock(args.day.split("-")[0]),
        day_end=clock(args.day.split("-")[1]),
        peaks=parse_peaks(args.arrivals),
        length_median=args.length_median,
        length_sigma=args.length_sigma,
        length_min=args.length_min,
        length_max=args.length_max,
        participants=parse_participants(args.participants),
        core_per_hearing=core,
        participant_share=share,
        cores_per_node=args.cores_per_node,
        front_cores=args.front_cores,
        workers_per_node=workers,
        cpu_limit=args.cpu_limit,
        hearings_per_worker=args.hearings_per_worker,
        rule=args.rule,
        failover_cpu=args.failover_cpu,
        worker_max=args.worker_max,
    )
    if workers < 1 or model.day_end <= model.day_start:
        raise ValueError("need at least one worker per node and a day that ends after it starts")
    return model, source


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearings", type=int, default=4500, help="hearings on the peak day (default 4500)")
    ap.add_argument("--days", type=int, default=20, help="simulated days, the worst reported (default 20)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the first day; day k uses seed + k (default 1)")
    ap.add_argument("--day", default="09:00-18:00", help="court working day, local time (default 09:00-18:00)")
    ap.add_argument("--arrivals", default="10:45/70/60,15:15/60/40",
                    help="start-time mixture, centre/sd min/weight,... (default 10:45/70/60,15:15/60/40)")
    ap.add_argument("--length-median", type=float, default=35.0, help="minutes (default 35)")
    ap.add_argument("--length-sigma", type=float, default=0.7, help="lognormal sigma (default 0.7)")
    ap.add_argument("--length-min", type=float, default=5.0, help="minutes (default 5)")
    ap.add_argument("--length-max", type=float, default=240.0, help="minutes (default 240)")
    ap.add_argument("--participants", default="2:20,3:30,4:25,5:15,6:10",
                    help="parties:weight,... (default 2:20,3:30,4:25,5:15,6:10)")
    ap.add_argument("--core-per-hearing", type=float, default=DEFAULT_CORE,
                    help="cores of a four-party 720p hearing (default 0.70, docs/performance.md)")
    ap.add_argument("--participant-share", type=float, default=0.6,
                    help="the part of that which grows with the participants, 0-1 (default 0.6)")
    ap.add_argument("--cost-from", metavar="PATH", help='JSON {"core_per_hearing": x} from a bench run')
    ap.add_argument("--cores-per-node", type=int, default=16, help="default 16")
    ap.add_argument("--front-cores", type=int, default=1, help="cores kept for the front process (default 1)")
    ap.add_argument("--workers-per-node", type=int, default=0,
                    help="media workers per node (default: cores per node less front cores)")
    ap.add_argument("--cpu-limit", type=float, default=CPU_LIMIT, help="selector.CPU_LIMIT (default 0.85)")
    ap.add_argument("--hearings-per-worker", type=int, default=HEARINGS_PER_WORKER,
                    help="media.hearings_per_worker (default 3)")
    ap.add_argument("--rule", choices=("selector", "projected"), default="selector",
                    help="selector: CPU before the hearing < limit, as selector.py (default); projected: after")
    ap.add_argument("--failover-cpu", choices=("stale", "fresh"), default="stale",
                    help="what CPU the selector sees while re-placing a dead node's hearings (default stale)")
    ap.add_argument("--worker-max", type=float, default=1.2,
                    help="cores above which a worker is counted overloaded (default 1.2)")
    ap.add_argument("--nodes-from", type=int, default=0, help="first N of the table (default: from the peak)")
    ap.add_argument("--max-nodes", type=int, default=200, help="give up beyond this N (default 200)")
    ap.add_argument("--today-servers", type=int, default=TODAY_SERVERS,
                    help="today's video servers, printed for comparison (default 152)")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        model, source = build_model(args)
    except (OSError, ValueError, TypeError) as exc:
        print(f"capacity: {exc}", file=sys.stderr)
        return 2
    seeds = [args.seed + k for k in range(max(1, args.days))]
    days = [make_day(seed, model) for seed in seeds]
    describe(model, days, seeds, source)

    headers = ["N", "peak concurrent hearings", "peak cores used", "busiest worker CPU",
               "hearings refused at arrival", "dropped at failure", f"workers > {model.worker_max:g} core",
               "busiest node cores"]
    found = search(days, model, args.nodes_from or first_nodes(days, model), args.max_nodes)
    table(headers, [(r.nodes, r.peak_open, r.peak_cores, r.busiest_worker, r.refused, r.dropped, r.overloaded,
                     r.busiest_node) for _, r in sorted(found.rows.items())])
    print("(worst of the simulated days in every column; N counts the node that fails; above the answer's spare "
          "only the N the bisection for the sizing line tried)\n")
    answer, healthy = found.answer, found.healthy
    if answer is None:
        print(f"no N up to {args.max_nodes} carries the day")
        return 1
    n = answer.nodes
    print(f"answer: {n} nodes of {model.cores_per_node} cores, one failing at peak, refuse or drop no hearing; "
          f"{n + 1} with a spare ({(n + 1) * model.cores_per_node} cores)")
    if healthy is not None and healthy.nodes != n:
        usable = (n - 1) * model.node_usable
        print(f"  but not within the hardware: at {n} nodes the peak asks {answer.peak_cores:.1f} cores of the "
              f"{usable:g} the {n - 1} survivors have for workers; a worker reaches {answer.busiest_worker:.2f} "
              f"cores ({answer.overloaded} above {model.worker_max:g}), a node {answer.busiest_node:.2f} of its "
              f"{model.node_usable:g}: those hearings lose frames")
        print(f"sizing, nothing refused, dropped or overloaded: {healthy.nodes} nodes, {healthy.nodes + 1} with a "
              f"spare ({(healthy.nodes + 1) * model.cores_per_node} cores)")
    elif healthy is None:
        print(f"no N up to {args.max_nodes} keeps every worker within {model.worker_max:g} cores and every node "
              f"within {model.node_usable:g}")
    print(f"for comparison: today's {args.today_servers} video servers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
