"""How many /scim requests run at once in this process (``WILLOW_SCIM_CONCURRENCY``).

Python runs one thread at a time (the GIL), and SQLite's driver gives the GIL away around
every call into SQLite: each statement does so five to eight times (bind, step, reset,
and CPython 3.11 once more per column read). With eight busy request threads, each
give-away hands the GIL to another thread and puts the giver to sleep until it gets it
back, so threads do not run side by side but take turns at a thread switch each. Measured
under the benchmark (8 waitress threads, 8 clients, SQLite): GET /Users/{id} cost 43
thread switches and 1.15 ms of server CPU a request, nearly half of it in the kernel;
letting one SCIM request run at a time, the others waiting their turn here, brought that
to 16 switches and 0.94 ms, and throughput rose 15 % (GET) to 19 % (filters).

So on SQLite one /scim request runs at a time by default, the others queued in arrival
order; the waitress threads still read and write sockets for all of them. On PostgreSQL
two run at a time by default: a request waits for its database round trips (a commit for
the server's disk flush), and the other's Python work runs meanwhile. Measured in one run
against no limit (8 clients, PostgreSQL on the same machine): two served
ServiceProviderConfig 28 %, GET /Users/{id} 25 %, POST 18 % and PATCH 16 % faster; one
lost 19 % on POST (every commit waited alone), four gained less than two.

The console and the health check are never queued here, so a slow console page does not
hold the IdP's requests up. A request's duration in the request log counts from its
arrival here, so a wait for its turn shows as the IdP saw it.

Under ``python app.py`` the /scim requests do not even reach the gate side by side: they
have that many waitress threads of their own, and wait in those threads' queue
(``willow.server.http_server.LaneDispatcher``), whose arrival time they carry here. The gate is
what holds under any other WSGI server.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable

from flask import Flask

from ..scim.paths import is_scim_path
from ..storage.database import uses_sqlite


class FifoGate:
    """Admits at most ``slots`` holders; the others wait and are admitted in the order
    they came (a lock alone would let a newcomer overtake a waiting request)."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a gate needs at least one slot")
        self._mutex = threading.Lock()
        self._free = slots
        self._waiting: deque[threading.Lock] = deque()

    def acquire(self) -> None:
        with self._mutex:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the holder that hands its slot over

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()  # the slot passes straight on
            else:
                self._free += 1

    def __enter__(self) -> FifoGate:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


#: WSGI environ key: when the request reached the gate (``time.perf_counter()``). The
#: request log counts its duration from there, so time spent waiting for a turn shows.
ARRIVED = "willow.scim_arrived"


class ScimGate:
    """WSGI middleware: /scim requests pass ``gate`` (the view, its database work and the
    request log's row); everything else goes straight through. The response body is
    sent after the gate is left."""

    def __init__(self, wsgi_app: Callable, gate: FifoGate) -> None:
        self.wsgi_app = wsgi_app
        self.gate = gate

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not is_scim_path(environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)
        # Set already when the request waited in the /scim lane's queue (http_server).
        environ.setdefault(ARRIVED, time.perf_counter())
        with self.gate:
            return self.wsgi_app(environ, start_response)


def concurrency(app: Flask) -> int:
    """The configured limit (0: none), or the database's default: 1 on SQLite, 2 on
    PostgreSQL."""
    configured = app.config.get("WILLOW_SCIM_CONCURRENCY")
    if configured is not None:
        return max(0, int(configured))
    return 1 if uses_sqlite(app) else 2


def init_app(app: Flask) -> None:
    """Wrap the app's WSGI callable (inside the path normaliser, so that it sees the
    path routing sees)."""
    slots = concurrency(app)
    if slots:
        app.wsgi_app = ScimGate(app.wsgi_app, FifoGate(slots))
    app.extensions["willow_scim_concurrency"] = slots


def keep_a_connection_per_thread(app: Flask) -> None:
    """A pooled connection for every waitress thread, the request-log writer and the
    token-use update. SQLAlchemy's default pool keeps five: under load the other threads
    got overflow connections, closed at every check-in and opened again at the next
    request — on SQLite that is a file open, the schema parsed again and the pragmas, on
    PostgreSQL a new server process."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if uses_sqlite(app) and (":memory:" in url or url.rstrip("/") == "sqlite:"):
        return  # one shared in-memory database: SQLAlchemy picks a pool without sizes
    # Waitress's threads, and the ones of the /scim lane (willow.server.http_server).
    threads = int(app.config.get("WILLOW_THREADS") or 8) + concurrency(app)
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # Each thread also keeps its SCIM requests' connection between requests
    # (scim.transaction), beside the pooled ones its other work checks out.
    pooled = 2 * threads + 2
    options.setdefault("pool_size", pooled)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
