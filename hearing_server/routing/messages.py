"""What nodes tell each other about themselves: typed (msgspec) and small, sent every couple of seconds."""

from __future__ import annotations

import msgspec

from signaling.relay import RELAY_HEADER

__all__ = ["RELAY_HEADER", "WorkerLoad", "NodeInfo"]


class WorkerLoad(msgspec.Struct, frozen=True):
    """One media worker process as it last reported itself."""

    worker_id: str  # "<node id>/<index>"
    cpu: float  # share of one core in the last interval, 0.0–1.0 (more if it has threads on several)
    hearings: int
    participants: int
    pid: int = 0


class NodeInfo(msgspec.Struct, frozen=True):
    """A node (one server: the front and its workers) in the registry."""

    node_id: str
    url: str  # where other nodes reach its front (relay of signaling)
    workers: tuple[WorkerLoad, ...] = ()
    draining: bool = False  # SIGTERM: takes no new hearings, finishes or moves its own
    max_hearings_per_worker: int = 3
    updated_at: float = 0.0  # the node's own clock, UTC seconds

    def worker(self, worker_id: str) -> WorkerLoad | None:
        return next((w for w in self.workers if w.worker_id == worker_id), None)


encode = msgspec.json.Encoder().encode
decode_node = msgspec.json.Decoder(NodeInfo).decode
