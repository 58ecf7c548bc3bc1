"""Which node and which media worker carry a hearing (LiveKit's routing/, in Python).

A node registry with heartbeats and load (memory and Redis twins), a selector that places a new hearing
on the least-loaded worker, the hearing → worker map guarded by a lock so that a hearing is never
carried twice, and the Router (one node, or many on Redis) with the bus between nodes.
"""

from .bus import NodeBus, NodeMessage
from .messages import RELAY_HEADER, NodeInfo, WorkerLoad
from .registry import MemoryRegistry, NodeRegistry, RedisRegistry
from .router import LocalRouter, RedisRouter, Router, RouterCallbacks, wait_for_lease
from .selector import NoCapacity, choose_worker

__all__ = ["NodeInfo", "WorkerLoad", "NodeRegistry", "MemoryRegistry", "RedisRegistry", "NoCapacity",
           "choose_worker", "NodeBus", "NodeMessage", "RELAY_HEADER", "Router", "RouterCallbacks", "LocalRouter",
           "RedisRouter", "wait_for_lease"]
