"""``flask --app app logs prune``: request-log retention on demand."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..cli_database import uses_database
from .retention import MB
from .retention import create_partitions
from .retention import prune_logs
from .retention import prune_to_budget

logs_cli = AppGroup("logs", help="Manage the SCIM request log.")


@logs_cli.command("prune")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=0),
    default=None,
    help="Delete entries older than this many days (default: WILLOW_LOG_RETENTION_DAYS).",
)
@uses_database
def prune(days: int | None) -> None:
    """Delete SCIM request log entries older than the retention period, then the oldest
    ones past the size budget (WILLOW_LOG_MAX_MB), in small batches. On PostgreSQL, also
    make the log's partitions of the next days, and drop whole days past retention."""
    made = create_partitions()
    if made:
        click.echo(f"Made partitions {', '.join(made)}.")
    if days is None:
        days = current_app.config["WILLOW_LOG_RETENTION_DAYS"]
        if days <= 0:
            click.echo("WILLOW_LOG_RETENTION_DAYS is 0: entries are kept forever (by age).")
            days = None
    if days is not None:
        deleted = prune_logs(days)
        click.echo(f"Deleted {deleted} SCIM request log entries older than {days} days.")
    max_mb = current_app.config["WILLOW_LOG_MAX_MB"]
    if max_mb > 0:
        deleted = prune_to_budget(max_mb * MB)
        if deleted:
            click.echo(f"Deleted the {deleted} oldest entries to keep the log under {max_mb} MB.")
