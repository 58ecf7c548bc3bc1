"""Placement: a new hearing goes to the least-loaded worker that has room; a full court says so."""

from __future__ import annotations

from .messages import NodeInfo, WorkerLoad

# A four-party hearing costs about two thirds of a core (docs/performance.md); a worker already that busy
# gains nothing from another hearing but loss for all of them.
CPU_LIMIT = 0.85


# What a hearing placed since a worker's last report is taken to cost until the report shows it: a burst of
# placements (a node's hearings adopted at once) must not all land on the worker that looked idle 2 s ago.
PENDING_HEARING_CPU = 0.35


def with_pending(worker: WorkerLoad, hearings: int) -> WorkerLoad:
    """The worker's load with `hearings` carried by it now, some of them not in its last report yet."""
    pending = max(0, hearings - worker.hearings)
    if not pending:
        return worker
    return WorkerLoad(worker.worker_id, worker.cpu + pending * PENDING_HEARING_CPU, hearings, worker.participants,
                      worker.pid)


class NoCapacity(Exception):
    """Every worker is full or draining: the new hearing is refused (503) rather than degrading the others."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _score(worker: WorkerLoad) -> tuple[float, int, int]:
    # CPU first (the real limit), in tenths of a core: below that it is the noise of an idle process, and
    # hearings, then participants decide; the id breaks ties the same on every node.
    return (round(worker.cpu, 1), worker.hearings, worker.participants)


def choose_worker(nodes: list[NodeInfo]) -> tuple[NodeInfo, WorkerLoad]:
    """The (node, worker) for a new hearing. Raises NoCapacity naming why none can take it."""
    candidates: list[tuple[tuple[float, int, int], str, NodeInfo, WorkerLoad]] = []
    live = [n for n in nodes if not n.draining]
    for node in live:
        for worker in node.workers:
            if worker.hearings < node.max_hearings_per_worker and worker.cpu < CPU_LIMIT:
                candidates.append((_score(worker), worker.worker_id, node, worker))
    if not candidates:
        if not nodes:
            raise NoCapacity("no media node is running")
        if not live:
            raise NoCapacity("every media node is draining (shutting down)")
        if not any(n.workers for n in live):
            raise NoCapacity("no media worker is running")
        raise NoCapacity("every media worker is full (hearings or CPU)")
    candidates.sort(key=lambda c: (c[0], c[1]))
    _, _, node, worker = candidates[0]
    return node, worker
