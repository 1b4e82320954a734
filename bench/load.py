"""The load generator: keep-alive clients in spawned processes.

Each client is one keep-alive connection driven by its own thread; the clients are spread
over ``procs`` worker processes started with the ``spawn`` method (the same on Linux and
Windows), so that one client process's GIL does not cap the throughput being measured.
A run of an operation is bounded both in requests and in seconds. Workers import only
the standard library and ``bench.operations``/``bench.wire``.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from dataclasses import dataclass
from dataclasses import field

from .operations import request
from .wire import Connection


@dataclass
class Sample:
    """What the clients saw during one bounded run of one operation."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    began: float = 0.0
    ended: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def seconds(self) -> float:
        return max(self.ended - self.began, 1e-9)


@dataclass(frozen=True)
class Job:
    host: str
    ports: tuple[int, ...]  #: client slot ``s`` talks to ``ports[s % len(ports)]``
    op: str
    ctx: dict
    slots: tuple[int, ...]
    clients: int
    start: int
    count: int
    deadline: float  #: wall-clock time (comparable across processes)


def _drive(job: Job, slot: int, connections: dict, out: list) -> None:
    port = job.ports[slot % len(job.ports)]
    key = (job.host, port, slot)
    conn = connections.get(key)
    if conn is None:
        conn = connections[key] = Connection(job.host, port)
    latencies: list[float] = []
    statuses: Counter = Counter()
    began = time.time()
    i = job.start + slot
    stop = job.start + job.count
    clock = time.perf_counter
    while i < stop and time.time() < job.deadline:
        raw = request(job.op, job.ctx, i)
        t0 = clock()
        try:
            status, _ = conn.request(raw)
        except OSError:
            status = 0  # no answer at all: counted as an error
            conn.close()
        latencies.append(clock() - t0)
        statuses[status] += 1
        i += job.clients
    out.append((latencies, statuses, began, time.time()))


def run_job(job: Job, connections: dict) -> list:
    """Drive the job's client slots (one thread each, or the calling thread for one)."""
    out: list = []
    if len(job.slots) == 1:
        _drive(job, job.slots[0], connections, out)
        return out
    threads = [
        threading.Thread(target=_drive, args=(job, slot, connections, out)) for slot in job.slots
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def _worker(inbox, outbox) -> None:
    connections: dict = {}
    while True:
        job = inbox.get()
        if job is None:
            break
        try:
            outbox.put(("ok", run_job(job, connections)))
        except Exception as exc:  # reported to the orchestrator, which stops the run
            outbox.put(("error", repr(exc)))
    for conn in connections.values():
        conn.close()


class ClientPool:
    """``procs`` spawned client processes, kept for the whole run (their connections stay
    open between runs of the same target, as an IdP's do)."""

    def __init__(self, procs: int):
        context = multiprocessing.get_context("spawn")
        self.outbox = context.Queue()
        self.inboxes = [context.Queue() for _ in range(procs)]
        self.processes = [
            context.Process(target=_worker, args=(inbox, self.outbox), daemon=True)
            for inbox in self.inboxes
        ]
        for process in self.processes:
            process.start()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def run(
        self,
        host: str,
        ports: tuple[int, ...],
        op: str,
        ctx: dict,
        *,
        clients: int,
        start: int,
        count: int,
        seconds: float,
    ) -> Sample:
        """Requests ``start`` .. ``start + count - 1`` of ``op`` over ``clients`` concurrent
        connections, stopping early after ``seconds``. The connections are spread over
        ``ports`` (several app processes on one database)."""
        ctx = {**ctx, "clients": clients}
        deadline = time.time() + seconds
        busy = 0
        for n, inbox in enumerate(self.inboxes):
            slots = tuple(s for s in range(clients) if s % len(self.inboxes) == n)
            if slots:
                inbox.put(Job(host, tuple(ports), op, ctx, slots, clients, start, count, deadline))
                busy += 1
        sample = Sample(began=float("inf"), ended=0.0)
        errors = []
        for _ in range(busy):
            kind, payload = self.outbox.get()
            if kind == "error":
                errors.append(payload)
                continue
            for latencies, statuses, began, ended in payload:
                sample.latencies.extend(latencies)
                sample.statuses.update(statuses)
                sample.began = min(sample.began, began)
                sample.ended = max(sample.ended, ended)
        if errors:
            raise RuntimeError(f"client process failed: {errors[0]}")
        return sample

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
