"""The node's media workers: started, watched, restarted, and asked to carry hearings.

`media.workers` processes (one per core by default), each on a Unix socket in a private folder. A new
hearing goes to the least-loaded worker with room (hearing_server.routing.choose_worker, on the load each
worker reports every 2 s); a claim in the registry makes sure one worker carries it. A worker that dies —
even by a segfault in a C library — takes only its own hearings with it: the front hears the pipe close or
the process exit, re-places them at once on the others, and starts a new worker in its place.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

from ..config import Settings, settings_to_dict
from ..routing import MemoryRegistry, NodeInfo, NodeRegistry, WorkerLoad, choose_worker
from ..routing.selector import with_pending
from . import wire
from .worker_client import WorkerConnection

log = logging.getLogger(__name__)

START_SECONDS = 30.0
RESTART_DELAY = 0.5
STOP_SECONDS = 30.0  # closing its recordings takes a worker a second or two; longer means it is stuck

WorkerLost = Callable[[str, list[str]], Awaitable[None]]  # worker id, the hearings it carried
EventSink = Callable[[str, wire.Event], None]  # worker id, the event


@dataclass
class _Worker:
    worker_id: str
    index: int
    socket_path: str
    process: asyncio.subprocess.Process | None = None
    connection: WorkerConnection | None = None
    load: WorkerLoad | None = None
    hearings: set[str] = field(default_factory=set)
    watcher: asyncio.Task | None = None
    alive: bool = False


def worker_count(settings: Settings) -> int:
    return (os.cpu_count() or 1) if settings.media.workers < 0 else settings.media.workers


class WorkerPool:
    def __init__(self, settings: Settings, count: int, on_event: EventSink, on_lost: WorkerLost,
                 node_id: str = "local", registry: NodeRegistry | None = None) -> None:
        self.settings = settings
        self.count = count
        self.node_id = node_id
        self.registry: NodeRegistry = registry or MemoryRegistry()
        self._on_event = on_event
        self._on_lost = on_lost
        self._folder = Path(tempfile.mkdtemp(prefix="courtroom-workers-"))
        self._workers: dict[str, _Worker] = {}
        self._closing = False

    async def start(self) -> None:
        os.chmod(self._folder, 0o700)
        started = await asyncio.gather(*(self._start(index) for index in range(self.count)),
                                       return_exceptions=True)
        failures = [r for r in started if isinstance(r, BaseException)]
        if len(failures) == self.count:
            raise RuntimeError(f"no media worker could be started: {failures[0]}")
        for failure in failures:
            log.error("a media worker could not be started: %s", failure)

    async def _start(self, index: int) -> _Worker:
        worker_id = f"{self.node_id}/{index}"
        worker = self._workers.get(worker_id) or _Worker(worker_id, index, str(self._folder / f"w{index}.sock"))
        self._workers[worker_id] = worker
        Path(worker.socket_path).unlink(missing_ok=True)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hearing_server.live.worker", worker.socket_path,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            # Its own session: a Ctrl-C or a signal to the front's group is the front's to handle, and it
            # stops its workers in order.
            start_new_session=True)
        worker.process = process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write((json.dumps(settings_to_dict(self.settings)) + "\n").encode())
        await process.stdin.drain()
        process.stdin.close()
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_SECONDS)
            if line.strip() != b"ready":
                raise RuntimeError(f"media worker {worker_id} did not start (exit {process.returncode})")
            connection = WorkerConnection(worker_id, worker.socket_path, self._event_from(worker_id))
            await connection.connect()
        except BaseException:
            if process.returncode is None:
                process.kill()
            await process.wait()
            raise
        worker.connection = connection
        worker.load = WorkerLoad(worker_id, 0.0, 0, 0, process.pid)
        worker.alive = True
        worker.watcher = asyncio.create_task(self._watch(worker), name=f"watch-{worker_id}")
        log.info("media worker %s started (pid %d)", worker_id, process.pid)
        return worker

    def _event_from(self, worker_id: str) -> Callable[[wire.Event], None]:
        def sink(event: wire.Event) -> None:
            worker = self._workers.get(worker_id)
            if event.kind == "load" and worker is not None:
                worker.load = WorkerLoad(worker_id, float(event.args["cpu"]), int(event.args["hearings"]),
                                         int(event.args["participants"]), int(event.args.get("pid", 0)))
                return
            self._on_event(worker_id, event)

        return sink

    async def _watch(self, worker: _Worker) -> None:
        assert worker.process is not None and worker.connection is not None
        exited = asyncio.create_task(worker.process.wait())
        closed = asyncio.create_task(worker.connection.closed.wait())
        await asyncio.wait({exited, closed}, return_when=asyncio.FIRST_COMPLETED)
        for task in (exited, closed):
            task.cancel()
        worker.alive = False
        if self._closing:
            return
        if worker.process.returncode is None:
            worker.process.kill()  # a worker we cannot talk to is no use to anyone
        await worker.process.wait()
        lost = sorted(worker.hearings)
        worker.hearings.clear()
        log.error("media worker %s stopped (exit %s); moving its hearings: %s", worker.worker_id,
                  worker.process.returncode, ", ".join(lost) or "none")
        await worker.connection.close()
        try:
            await self._on_lost(worker.worker_id, lost)
        finally:
            await asyncio.sleep(RESTART_DELAY)
            if not self._closing:
                try:
                    await self._start(worker.index)
                except Exception:
                    log.exception("media worker %s could not be restarted", worker.worker_id)

    # -- placement ------------------------------------------------------------------------------------

    def node_info(self) -> NodeInfo:
        loads = tuple(w.load for w in self._workers.values() if w.alive and w.load is not None)
        return NodeInfo(self.node_id, "", loads, self._closing, self.settings.media.hearings_per_worker,
                        time.time())

    async def place(self, hearing_id: str) -> WorkerConnection:
        """The worker that carries `hearing_id` from now on. Raises routing.NoCapacity when all are full."""
        for worker in self._workers.values():
            if hearing_id in worker.hearings and worker.alive and worker.connection is not None:
                return worker.connection
        _, chosen = choose_worker([self.load()])
        worker = self._workers[chosen.worker_id]
        assert worker.connection is not None
        await self.registry.claim(hearing_id, worker.worker_id, ttl=24 * 3600)
        worker.hearings.add(hearing_id)
        return worker.connection

    def load(self) -> NodeInfo:
        """The reported loads, with the hearings placed since the last report counted at once (and their
        CPU estimated until it is reported)."""
        info = self.node_info()
        workers = tuple(with_pending(w, len(self._workers[w.worker_id].hearings)) for w in info.workers)
        return NodeInfo(info.node_id, info.url, workers, info.draining, info.max_hearings_per_worker,
                        info.updated_at)

    def check_capacity(self) -> None:
        """Raises routing.NoCapacity, naming why, when no worker could take one more hearing now."""
        choose_worker([self.load()])

    def release(self, hearing_id: str) -> None:
        for worker in self._workers.values():
            if hearing_id in worker.hearings:
                worker.hearings.discard(hearing_id)
                asyncio.ensure_future(self.registry.release(hearing_id, worker.worker_id))

    def pids(self) -> dict[str, int]:
        return {w.worker_id: w.process.pid for w in self._workers.values() if w.alive and w.process is not None}

    async def close(self) -> None:
        self._closing = True
        # All workers at once: each closes its own recordings, and a node's stop takes as long as its
        # slowest worker, not the sum of them.
        await asyncio.gather(*(self._stop_worker(worker) for worker in self._workers.values()))
        await asyncio.gather(*(w.watcher for w in self._workers.values() if w.watcher), return_exceptions=True)
        shutil.rmtree(self._folder, ignore_errors=True)

    async def _stop_worker(self, worker: _Worker) -> None:
        if worker.connection is not None:
            try:  # an orderly stop: the worker closes its recordings as such, closes the pipe, then exits
                await worker.connection.call("", "shutdown")
            except wire.MediaWorkerError:
                pass
            await worker.connection.close()
        if worker.process is not None and worker.process.returncode is None:
            try:
                await asyncio.wait_for(worker.process.wait(), STOP_SECONDS)
            except asyncio.TimeoutError:
                log.error("media worker %s did not stop within %.0f s; killed", worker.worker_id, STOP_SECONDS)
                worker.process.kill()
                await worker.process.wait()
        if worker.watcher is not None:
            worker.watcher.cancel()
