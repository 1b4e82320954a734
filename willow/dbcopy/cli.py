"""``flask --app app db copy --to URL``, a command of Flask-Migrate's ``db`` group."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import DBAPIError

from ..cli_database import say_database
from ..server.serve import SERVING_FILE
from ..storage.database import display_url
from ..storage.extensions import db
from .copier import CopyRefused
from .copier import CopyReport
from .copier import copy_rows
from .copier import same_database
from .copier import tables_with_rows
from .copier import target_url
from .plan import plan_tables
from .plan import switch_line


@click.command("copy")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="URL",
    help="The PostgreSQL database to copy into (postgresql://user:password@host:5432/name). "
    "It must hold no data; it is migrated to the current schema first.",
)
@click.option(
    "--without-log",
    is_flag=True,
    help="Leave the SCIM request log behind (events keep their request ids).",
)
@with_appcontext
def copy_command(to: str, without_log: bool) -> None:
    """Copy this install's data into an empty PostgreSQL database.

    Copies organizations, console admins, API tokens (their digests), users, groups and
    memberships, role mappings, SSO settings (client secrets stay encrypted: serve the
    copy with the same secret key), SSO domains, events, webhooks, the deprovisioning
    guard and the request log, keeping every id. Left behind: console sessions (everyone
    signs in again), sign-in backoff counters and rate-limit windows. Stop the server
    first: what changes during the copy stays behind."""
    say_database()
    try:
        report = run_copy(to, with_log=not without_log)
    except CopyRefused as refused:
        raise click.ClickException(str(refused)) from None
    _print_report(report)
    if not report.verified:
        raise click.ClickException(
            "the copy does not match the source (see the rows marked DIFFERS): do not switch "
            "to it. Drop and create the target database again, then run db copy again."
        )
    click.echo("")
    click.echo("Verified: every copied table has the same rows and checksum on both sides.")
    click.echo("To switch over, stop the server, put this line into instance/willow.env (or")
    click.echo("the environment), with the password in place of ***, and start it again:")
    click.echo("")
    click.echo("    " + switch_line(report.target_display))
    click.echo("")
    click.echo(
        "Keep the same secret key (WILLOW_SECRET_KEY, or instance/secret_key in this folder): "
        "the SSO client secrets and webhook signing secrets are encrypted with it."
    )


def run_copy(to: str, *, with_log: bool) -> CopyReport:
    source = db.engine
    url = target_url(to)
    if same_database(source.url.render_as_string(hide_password=False), url):
        raise CopyRefused("--to names the database this install already uses")
    _warn_if_served()
    _require_head(source)
    target = sa.create_engine(url, connect_args={"connect_timeout": 10})
    try:
        try:
            holding = tables_with_rows(target)
        except DBAPIError as exc:
            raise CopyRefused(f"cannot use {display_url(url)}: {_first_line(exc)}") from None
        if holding:
            raise CopyRefused(
                f"{display_url(url)} already holds data (in {', '.join(holding[:5])}); "
                "db copy only fills an empty database, so that nothing is merged or lost"
            )
        click.echo(f"Migrating {display_url(url)} to the current schema…", err=True)
        _migrate(url)
        plans = plan_tables(db.metadata, with_log=with_log)
        click.echo("Copying (one transaction: a failure leaves the target empty)…", err=True)
        return copy_rows(
            source,
            target,
            plans,
            lambda total: click.progressbar(
                length=total, label="Rows", file=sys.stderr
            ),
        )
    finally:
        target.dispose()


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__


def _script_heads() -> set[str]:
    directory = current_app.extensions["migrate"].directory
    return set(ScriptDirectory(directory).get_heads())


def _require_head(source: sa.Engine) -> None:
    with source.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != _script_heads():
        raise CopyRefused(
            "this database is not at the current schema: run `flask --app app db upgrade` "
            "(or start the server once), then copy"
        )


def _migrate(url: str) -> None:
    """Flask-Migrate's upgrade against the target, through an app configured like this
    one but for the target database."""
    from flask_migrate import upgrade

    from .. import create_app

    settings = {
        key: value
        for key, value in current_app.config.items()
        if key.startswith("WILLOW_") or key in ("SECRET_KEY", "TESTING")
    }
    settings["SQLALCHEMY_DATABASE_URI"] = url
    settings["WILLOW_DATABASE_SOURCE"] = "set by the caller"
    target_app = create_app(overrides=settings)
    writer = target_app.extensions.get("willow_request_log")
    try:
        with target_app.app_context():
            upgrade()
    finally:
        if writer is not None:
            writer.stop()
        with target_app.app_context():
            db.session.remove()
            db.engine.dispose()


def _warn_if_served() -> None:
    """The server started from this folder says which database it serves: warn when it
    is this one (a pid is not checked: on Windows that cannot be done without risk)."""
    try:
        record = json.loads((Path(current_app.instance_path) / SERVING_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return
    if record.get("database") == display_url(current_app.config["SQLALCHEMY_DATABASE_URI"]):
        click.echo(
            f"Warning: a server started from this folder (pid {record.get('pid')}, "
            f"{record.get('started')}) serves this database. Changes it makes during the copy "
            "stay behind: stop it first unless it has stopped already.",
            err=True,
        )


def _print_report(report: CopyReport) -> None:
    click.echo("")
    click.echo(f"{'Table':<28} {'Source':>10} {'Copy':>10}  Check")
    for t in report.tables:
        if not t.copied:
            click.echo(f"{t.name:<28} {'':>10} {'':>10}  left behind: {t.why_not}")
            continue
        check = "same" if t.matches else "DIFFERS"
        click.echo(f"{t.name:<28} {t.source_rows:>10,} {t.target_rows:>10,}  {check}")


def init_app() -> None:
    """Add ``copy`` to Flask-Migrate's ``db`` group (``flask --app app db copy``)."""
    from flask_migrate.cli import db as db_group

    db_group.add_command(copy_command)

