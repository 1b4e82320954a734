"""The waitress server ``python app.py`` runs, with a channel that does not busy-poll.

Waitress's main loop asks each connection whether it has output to send. While a worker
thread writes a response, the connection has output and the worker holds its output lock
(it sends what it writes itself); the loop then finds the lock taken, returns to ``select``,
which reports the socket writable at once, and tries again — at full speed, holding the
GIL the worker needs to finish. Measured under 8 concurrent clients: the main thread used
0.55 ms of CPU per SCIM request (0.17 for a do-nothing view) and throughput rose 20-28 %
once it stopped (GET /ServiceProviderConfig 491 → 629 req/s, GET /Users/{id} 421 → 501).

So while a task runs, the connection says it has nothing to write: the worker flushes its
own output, and waitress wakes the loop when the task ends (``HTTPChannel.service``),
which sends anything the socket did not take. Past the output high-water mark the worker
waits for the loop to drain the buffer, so there the loop polls as before.

/scim requests have threads of their own when their number is limited
(``WILLOW_SCIM_CONCURRENCY``, one on SQLite, two on PostgreSQL; ``willow.server.request_gate``):
``LaneDispatcher``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ThreadedTaskDispatcher
from waitress.task import WSGITask

from .request_gate import ARRIVED


class ArrivalTask(WSGITask):
    """Puts into the environ when the request was queued for a thread (``LaneDispatcher``),
    so that its logged duration counts the wait for its turn; and keeps the connection of
    a bodiless response open (``build_response_header``)."""

    _bodiless_keep_alive = False

    def get_environment(self) -> dict:
        environ = super().get_environment()
        queued = getattr(self.request, "willow_queued", None)
        if queued is not None:
            environ[ARRIVED] = queued
        return environ

    def build_response_header(self) -> bytes:
        """Waitress closes an HTTP/1.1 connection after any response without a
        Content-Length, 204 and 304 included, and drops the Content-Length a 204 or 304
        carries. But those responses end with their header (RFC 9112 §6.3), and a 204 must
        not carry a Content-Length (RFC 9110 §8.6): so every group PATCH from an IdP (a
        204) cost a new connection, and a TLS handshake behind a proxy. Keep it open,
        unless the client asked to close."""
        self._bodiless_keep_alive = (
            not self.has_body
            and self.version == "1.1"
            and self.request.headers.get("CONNECTION", "").lower() != "close"
        )
        try:
            return super().build_response_header()
        finally:
            self._bodiless_keep_alive = False

    def set_close_on_finish(self) -> None:
        if not self._bodiless_keep_alive:
            super().set_close_on_finish()


class QuietChannel(HTTPChannel):
    task_class = ArrivalTask

    def writable(self) -> Any:
        if (
            self.requests
            and not (self.will_close or self.close_when_flushed)
            and self.total_outbufs_len <= self.adj.outbuf_high_watermark
        ):
            return False
        return super().writable()


def is_scim_target(path: str | None) -> bool:
    """Whether a request path, as the client sent it, is a /scim request: before the path
    normaliser (``willow.server.middleware``), so it also takes ``//scim`` and ``/SCIM``. A path
    it misjudges is only served by the other threads (the gate still applies there)."""
    return bool(path) and path.lstrip("/").lower().startswith("scim")


class _Queue(ThreadedTaskDispatcher):
    """Waitress's thread pool, without its warning for every task that waits: in the
    /scim lane, waiting for the one thread is the design, not a sign of overload."""

    def add_task(self, task: Any) -> None:
        with self.lock:
            self.queue.append(task)
            self.queue_cv.notify()

    def start_new_thread(self, target: Any, thread_no: int) -> None:
        # Named apart from waitress's own threads, for thread dumps and profiles.
        thread = threading.Thread(
            target=target, name=f"willow-scim-{thread_no}", args=(thread_no,), daemon=True
        )
        thread.start()


class LaneDispatcher:
    """Waitress's task dispatcher with /scim requests served by ``scim_threads`` threads of
    their own, everything else (the console, health checks) by the others.

    On SQLite one /scim request runs at a time (``willow.server.request_gate``). Eight threads
    taking turns at the gate put every request to sleep and woke it again: two thread
    switches each, on top of waitress's own hand-over. One thread that takes the next
    request from its queue as soon as it has answered the last one does neither while
    requests keep coming. Measured against the gate alone, both servers in one run (8
    clients, SQLite, 100,000 users): server CPU per GET /ServiceProviderConfig fell from
    0.49 to 0.34 ms, GET /Users/{id} from 0.69 to 0.51 ms, POST /Users from 1.06 to 0.89
    ms. The gate stays: under any other WSGI server, and for a /scim request this
    lane did not recognise, it is what keeps them one at a time.
    """

    def __init__(self, threads: int, scim_threads: int) -> None:
        self.general = ThreadedTaskDispatcher()
        self.scim = _Queue()
        self.general.set_thread_count(threads)
        self.scim.set_thread_count(scim_threads)

    def add_task(self, channel: Any) -> None:
        # Waitress hands over a connection with its next request first in line; it holds
        # the connection's request lock while it does.
        request = channel.requests[0] if channel.requests else None
        if request is not None and not request.error and is_scim_target(request.path):
            request.willow_queued = time.perf_counter()
            self.scim.add_task(channel)
        else:
            self.general.add_task(channel)

    def set_thread_count(self, count: int) -> None:
        self.general.set_thread_count(count)

    def shutdown(self, cancel_pending: bool = True, timeout: float = 5) -> bool:
        scim = self.scim.shutdown(cancel_pending, timeout)
        general = self.general.shutdown(cancel_pending, timeout)
        return scim or general


def create(app: Flask, **options: Any) -> Any:
    """A waitress server for ``app`` (``waitress.server.create_server`` options), whose
    connections are ``QuietChannel``s — also each listener's when it listens on several
    addresses. /scim requests get a lane of their own when their concurrency is limited.

    Proxy headers are left to the app (``willow.server.middleware.ForwardedHeaders``), which
    honours them from ``WILLOW_TRUSTED_PROXY`` and removes them from anyone else: by
    default waitress would remove them all before the app could see them."""
    options.setdefault("clear_untrusted_proxy_headers", False)
    scim_threads = app.extensions.get("willow_scim_concurrency", 0)
    if scim_threads:
        options["_dispatcher"] = LaneDispatcher(options.get("threads", 4), scim_threads)
    server = create_server(app, **options)
    for listener in [server, *getattr(server, "map", {}).values()]:
        if hasattr(listener, "channel_class"):
            listener.channel_class = QuietChannel
    return server
