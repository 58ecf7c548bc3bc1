"""Which node and which media worker carry a hearing (LiveKit's routing/, in Python).

A node registry with heartbeats and load (memory and Redis twins), a selector that places a new hearing
on the least-loaded worker, and the hearing → worker map guarded by a lock so that a hearing is never
carried twice.
"""

from .messages import NodeInfo, WorkerLoad
from .registry import MemoryRegistry, NodeRegistry, RedisRegistry
from .selector import NoCapacity, choose_worker

__all__ = ["NodeInfo", "WorkerLoad", "NodeRegistry", "MemoryRegistry", "RedisRegistry", "NoCapacity",
           "choose_worker"]
