"""What every command that reads or writes data does first: name the database it uses.

Kept apart from willow/cli.py so that the feature packages' command groups (monitor,
guard, webhooks) can use it while willow/cli.py registers them, without an import circle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from sqlalchemy.exc import DBAPIError

from .server.command_line import cli_command
from .server.serve import other_served_database
from .storage.database import describe_database
from .storage.extensions import db


def say_database() -> None:
    """Name the database a command works on (password hidden), on stderr so that the
    output scripts read stays as it was: a token in the wrong database is then seen at once."""
    click.echo(f"Database: {describe_database(current_app)}", err=True)
    warning = other_served_database(current_app)
    if warning:
        click.echo(warning, err=True)


def uses_database(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for commands that read or write data: say which database first."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        say_database()
        try:
            return command(*args, **kwargs)
        except DBAPIError as exc:
            # An unreachable or unmigrated database: say so, without a traceback.
            db.session.rollback()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise click.ClickException(
                f"the database could not be used ({reason}). Is it reachable and migrated? "
                f"{cli_command()} check tells."
            ) from None

    return wrapper
