"""Retention of provisioning events: events older than WILLOW_EVENT_RETENTION_DAYS are
deleted, and each organization's ``events_pruned_through`` raised with them, so that a
cursor from before it gets 410 instead of silently skipping what was removed.

Like the request log's pruner (``willow.monitor.retention``): a daemon thread started by
the first request, pruning at once and then every WILLOW_LOG_PRUNE_INTERVAL seconds in
small batches; ``threading`` only, so it behaves the same under waitress on Windows.
"""

from __future__ import annotations

import threading

from flask import Flask

from ..extensions import db
from .store import prune_events


class EventPruner:
    def __init__(self, app: Flask, interval: int) -> None:
        self.app = app
        self.interval = interval
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self.run, name="willow-event-pruner", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self.stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        while True:
            self.prune_once()
            if self.stopped.wait(self.interval):
                return

    def prune_once(self) -> int:
        days = self.app.config["WILLOW_EVENT_RETENTION_DAYS"]
        if days <= 0:
            return 0
        try:
            with self.app.app_context():
                deleted = prune_events(db.engine.begin, days)
        except Exception:
            # A locked or unreachable database must not kill the thread: try next time.
            self.app.logger.exception("pruning provisioning events failed")
            return 0
        if deleted:
            self.app.logger.info("pruned %d provisioning events older than %d days", deleted, days)
        return deleted


def init_app(app: Flask) -> None:
    interval = app.config["WILLOW_LOG_PRUNE_INTERVAL"]
    if interval <= 0:
        return
    pruner = app.extensions["willow_event_pruner"] = EventPruner(app, interval)

    @app.before_request
    def start_event_pruner() -> None:
        if not pruner.started:
            pruner.start()
