"""Retention of provisioning events: events older than WILLOW_EVENT_RETENTION_DAYS are
removed, and each organization's ``events_pruned_through`` raised with them, so that a
cursor from before it gets 410 instead of silently skipping what was removed.

On PostgreSQL the events are partitioned by day, as the request log is
(willow/partitions): each round first makes the partitions of today and the next days
(also when retention is off), then drops the days wholly past retention and deletes only
within the day that straddles the cut-off. The same kind of thread as the request log's
pruner (``willow.storage.pruning``), started the same way, every
WILLOW_LOG_PRUNE_INTERVAL seconds, in small batches.
"""

from __future__ import annotations

from flask import Flask

from ..storage.extensions import db
from ..storage.models import utcnow
from ..storage.pruning import PeriodicPruner
from .store import create_partitions
from .store import prune_events


class EventPruner(PeriodicPruner):
    """Deletes events past their retention and raises the organizations' marks."""

    thread_name = "willow-event-pruner"

    def prune_once(self) -> int:
        days = self.app.config["WILLOW_EVENT_RETENTION_DAYS"]
        try:
            with self.app.app_context():
                made = create_partitions(db.engine, utcnow().date())
        except Exception:
            self.app.logger.exception("making the events' partitions failed")
        else:
            if made:
                self.app.logger.info("made event partitions %s", ", ".join(made))
        if days <= 0:
            return 0
        try:
            with self.app.app_context():
                deleted = prune_events(db.engine, days)
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
