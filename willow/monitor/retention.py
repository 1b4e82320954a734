"""Retention of the request log: delete entries older than WILLOW_LOG_RETENTION_DAYS.

Deletion runs in small batches, each in its own transaction, so that pruning a large
backlog never holds SQLite's write lock (or a long PostgreSQL transaction) for long and
SCIM requests keep being logged meanwhile. The running server prunes from a daemon
thread; ``flask --app app logs prune`` does the same on demand. Only ``threading`` is
used, so it behaves the same under waitress on Windows.
"""

from __future__ import annotations

import threading
from datetime import datetime
from datetime import timedelta

from flask import Flask
from sqlalchemy import delete
from sqlalchemy import select

from ..extensions import db
from ..models import ScimRequestLog
from ..models import utcnow

BATCH_SIZE = 1000


def prune_logs(
    older_than_days: int, *, batch_size: int = BATCH_SIZE, now: datetime | None = None
) -> int:
    """Delete log entries created more than ``older_than_days`` days ago, ``batch_size``
    rows per transaction; returns how many were deleted. Needs an app context."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    oldest = (
        select(ScimRequestLog.id)
        .where(ScimRequestLog.created_at < cutoff)
        .order_by(ScimRequestLog.created_at)
        .limit(batch_size)
    )
    total = 0
    while True:
        with db.engine.begin() as conn:
            # Ids first, then delete by primary key: portable (no DELETE ... LIMIT) and the
            # select walks the created_at index.
            ids = conn.scalars(oldest).all()
            if ids:
                conn.execute(delete(ScimRequestLog).where(ScimRequestLog.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch_size:
            return total


class Pruner:
    """Prunes the log once at start and then every ``interval`` seconds, in a daemon
    thread started by the first request the server handles (so CLI commands and tests
    never start one)."""

    def __init__(self, app: Flask, interval: int):
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
                    target=self.run, name="willow-log-pruner", daemon=True
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
        days = self.app.config["WILLOW_LOG_RETENTION_DAYS"]
        if days <= 0:
            return 0
        try:
            with self.app.app_context():
                deleted = prune_logs(days)
        except Exception:
            # A locked or unreachable database must not kill the thread: try next time.
            self.app.logger.exception("pruning the SCIM request log failed")
            return 0
        if deleted:
            self.app.logger.info(
                "pruned %d SCIM request log entries older than %d days", deleted, days
            )
        return deleted


def init_app(app: Flask) -> None:
    interval = app.config["WILLOW_LOG_PRUNE_INTERVAL"]
    if interval <= 0:
        return
    pruner = app.extensions["willow_log_pruner"] = Pruner(app, interval)

    @app.before_request
    def start_log_pruner() -> None:
        if not pruner.started:
            pruner.start()
