"""``flask --app app events prune``: the events' retention on demand, for installs that run
no pruner thread (``WILLOW_LOG_PRUNE_INTERVAL=0``) and schedule it instead."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..cli_database import uses_database
from ..storage.extensions import db
from ..storage.models import utcnow
from .store import create_partitions
from .store import prune_events

events_cli = AppGroup("events", help="Manage the provisioning events.")


@events_cli.command("prune")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    default=None,
    help="Remove events older than this many days (default: WILLOW_EVENT_RETENTION_DAYS).",
)
@uses_database
def prune(days: int | None) -> None:
    """Remove provisioning events older than the retention period (a cursor from before
    them then gets 410). On PostgreSQL, also make the events' partitions of the next days,
    and drop whole days past retention."""
    made = create_partitions(db.engine, utcnow().date())
    if made:
        click.echo(f"Made partitions {', '.join(made)}.")
    if days is None:
        days = current_app.config["WILLOW_EVENT_RETENTION_DAYS"]
        if days <= 0:
            click.echo("WILLOW_EVENT_RETENTION_DAYS is 0: events are kept forever.")
            return
    removed = prune_events(db.engine, days)
    click.echo(f"Removed {removed} provisioning events older than {days} days.")
