"""Retention of the request log: delete entries older than WILLOW_LOG_RETENTION_DAYS, and
the oldest entries past the size budget WILLOW_LOG_MAX_MB.

The budget is weighed from ``stored_bytes``, each entry's weight as the log writer wrote
it (its texts and JSON plus a fixed allowance for the row and its index entries), summed
from the time index alone (``ix_scim_logs_time_size``): no wide row is read, on either
database. The file sizes (SQLite's page count, PostgreSQL's ``pg_total_relation_size``)
would be cheaper still, but they never shrink when entries are deleted (freed pages are
reused, not returned), so a prune could not tell when it had deleted enough.

On PostgreSQL the log is partitioned by day (willow/partitions): retention drops the
partitions wholly older than the cut-off (no VACUUM needed afterwards) and deletes only
within the one that straddles it; the pruner also makes the partitions of the next days.

Deletion runs in small batches, each in its own transaction, so that pruning a large
backlog never holds SQLite's write lock (or a long PostgreSQL transaction) for long and
SCIM requests keep being logged meanwhile. The running server prunes from a daemon
thread; ``flask --app app logs prune`` does the same on demand. Only ``threading`` is
used, so it behaves the same under waitress on Windows.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import Flask
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from ..membership_history.store import prune_history
from ..partitions import store as partitions
from ..storage.extensions import db
from ..storage.models import ScimRequestLog
from ..storage.models import utcnow
from ..storage.pruning import PeriodicPruner
from ..storage.pruning import delete_oldest

BATCH_SIZE = 1000
TABLE = ScimRequestLog.__tablename__
MB = 1024 * 1024


def prune_logs(
    older_than_days: int, *, batch_size: int = BATCH_SIZE, now: datetime | None = None
) -> int:
    """Delete log entries created more than ``older_than_days`` days ago, ``batch_size``
    rows per transaction; returns how many were deleted. Needs an app context."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    deleted = _drop_and_delete_before(cutoff, ScimRequestLog.created_at < cutoff, batch_size)
    # The users' membership history links to these entries: it is kept as long.
    prune_history(older_than_days, batch_size=batch_size, now=now)
    return deleted


def log_bytes() -> int:
    """What the log weighs in the size budget (the sum of its entries' ``stored_bytes``)."""
    with db.engine.connect() as conn:
        return conn.scalar(select(func.coalesce(func.sum(ScimRequestLog.stored_bytes), 0)))


def prune_to_budget(max_bytes: int, *, batch_size: int = BATCH_SIZE) -> int:
    """Delete the oldest entries until the log weighs at most ``max_bytes``, ``batch_size``
    rows per transaction; returns how many were deleted. Needs an app context.

    The newest entry to delete is found first (walking the time index from the oldest
    entry: usually a small part of the log, what arrived since the last prune), then it
    and every older entry are deleted. Two app servers pruning at once find the same
    entry, instead of each deleting the excess."""
    excess = log_bytes() - max_bytes
    if excess <= 0:
        return 0
    oldest_first = select(ScimRequestLog.created_at, ScimRequestLog.stored_bytes).order_by(
        ScimRequestLog.created_at
    )
    cutoff = None
    with (
        db.engine.connect() as conn,
        conn.execution_options(yield_per=batch_size).execute(oldest_first) as rows,
    ):
        for created_at, weight in rows:
            excess -= weight
            if excess <= 0:
                cutoff = created_at
                break
    if cutoff is None:  # entries were deleted meanwhile: the log is within its budget
        return 0
    return _drop_and_delete_before(cutoff, ScimRequestLog.created_at <= cutoff, batch_size)


def create_partitions(today: datetime | None = None) -> list[str]:
    """On PostgreSQL, the log's day partitions from today to a few days ahead (and its
    DEFAULT partition) that are missing; the names made. Needs an app context."""
    return partitions.create_ahead(db.engine, TABLE, (today or utcnow()).date())


def _drop_and_delete_before(
    cutoff: datetime, condition: ColumnElement[bool], batch_size: int
) -> int:
    """Drop the day partitions wholly older than ``cutoff`` (PostgreSQL), then delete
    the rows left that meet ``condition``: on PostgreSQL those of the one partition that
    straddles the cut-off (and of the DEFAULT one), on SQLite all of them."""
    dropped = partitions.drop_before(db.engine, TABLE, cutoff)
    return dropped + delete_oldest(
        ScimRequestLog.id, condition, ScimRequestLog.created_at, batch_size
    )


class Pruner(PeriodicPruner):
    """Prunes the log once at start and then every ``interval`` seconds, in a daemon
    thread started by the first request the server handles (so CLI commands and tests
    never start one)."""

    thread_name = "willow-log-pruner"

    def prune_once(self) -> int:
        days = self.app.config["WILLOW_LOG_RETENTION_DAYS"]
        max_mb = self.app.config["WILLOW_LOG_MAX_MB"]
        deleted = over_budget = 0
        try:
            with self.app.app_context():
                # Tomorrow's partition is made long before it is needed (the first
                # round runs when the server starts); rows never wait for it.
                made = create_partitions()
        except Exception:
            self.app.logger.exception("making the SCIM request log's partitions failed")
        else:
            if made:
                self.app.logger.info("made SCIM request log partitions %s", ", ".join(made))
        try:
            with self.app.app_context():
                if days > 0:
                    deleted = prune_logs(days)
                if max_mb > 0:
                    over_budget = prune_to_budget(max_mb * MB)
        except Exception:
            # A locked or unreachable database must not kill the thread: try next time.
            self.app.logger.exception("pruning the SCIM request log failed")
            return deleted
        if deleted:
            self.app.logger.info(
                "pruned %d SCIM request log entries older than %d days", deleted, days
            )
        if over_budget:
            self.app.logger.info(
                "pruned the %d oldest SCIM request log entries to keep the log under %d MB "
                "(WILLOW_LOG_MAX_MB)",
                over_budget,
                max_mb,
            )
        return deleted + over_budget


def init_app(app: Flask) -> None:
    interval = app.config["WILLOW_LOG_PRUNE_INTERVAL"]
    if interval <= 0:
        return
    pruner = app.extensions["willow_log_pruner"] = Pruner(app, interval)

    @app.before_request
    def start_log_pruner() -> None:
        if not pruner.started:
            pruner.start()
