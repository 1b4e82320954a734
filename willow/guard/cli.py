"""``flask --app app guard status|allow|set``: the deprovisioning guard for operators,
wrapping the same functions as Admin → Provisioning guard.

``guard status`` prints the number of held changes alone on its last line (``held: N``),
so a monitoring script can take it with ``tail -n 1``.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..cli_database import uses_database
from ..console.organizations import OrganizationError
from ..console.organizations import require_organization
from ..events.envelope import rfc3339
from ..storage.extensions import db
from ..webhooks import events_committed
from . import rules
from . import store

guard_cli = AppGroup("guard", help="The deprovisioning guard: held changes and thresholds.")

#: Who a decision made on the command line is recorded as.
CLI_ACTOR = "command line"


def _organization(slug: str | None):
    try:
        return require_organization(slug)
    except OrganizationError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None


def _describe(settings: rules.Settings) -> str:
    if not settings.enabled:
        return "off"
    return (
        f"on: trips past max({settings.count}, {settings.percent} % of active users) "
        f"deprovisionings in {settings.window_minutes} minutes"
    )


@guard_cli.command("status")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
@uses_database
def status(org_slug: str | None) -> None:
    """The guard's settings and held changes; the last line is ``held: N``."""
    org = _organization(org_slug)
    click.echo(f"guard: {_describe(store.settings_of(org.id))}")
    held = store.held_changes(org.id)
    for change in held:
        click.echo(
            f"  {rfc3339(change.occurred_at)}  {change.kind:<10}  {change.user_id}  "
            f"{change.user_name}  role before: {change.role_before or 'none'}  "
            f"token: {change.token_name or '-'}  request: {change.request_id or '-'}"
        )
    click.echo(f"held: {len(held)}")


@guard_cli.command("allow")
@click.option("--all", "allow_all", is_flag=True, help="Allow every held change.")
@click.option("--user", "user_id", default=None, help="Allow one user's held changes (SCIM id).")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
@uses_database
def allow(allow_all: bool, user_id: str | None, org_slug: str | None) -> None:
    """Apply held changes now: sessions end and their events go out, in order."""
    if allow_all == (user_id is not None):
        raise click.UsageError("give exactly one of --all or --user ID")
    org = _organization(org_slug)
    released = store.release(org.id, CLI_ACTOR, user_id=user_id)
    if user_id is not None and not released:
        db.session.rollback()
        raise click.ClickException(f"no held change for user {user_id}")
    db.session.commit()
    events_committed(current_app)
    click.echo(f"allowed: {released}")


@guard_cli.command("set")
@click.option("--count", type=int, default=None, help="Deprovisionings always allowed (10).")
@click.option("--percent", type=int, default=None, help="Percent of active users allowed (10).")
@click.option("--window-minutes", type=int, default=None, help="The rolling window (60).")
@click.option("--off", is_flag=True, help="Turn the guard off (held changes stay held).")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
@uses_database
def set_(
    count: int | None,
    percent: int | None,
    window_minutes: int | None,
    off: bool,
    org_slug: str | None,
) -> None:
    """Set the threshold (turning the guard on), or turn it off with --off."""
    if off and (count, percent, window_minutes) != (None, None, None):
        raise click.UsageError("--off takes no threshold")
    org = _organization(org_slug)
    current = store.settings_of(org.id)
    if off:
        settings = rules.Settings(False, current.count, current.percent, current.window_minutes)
    else:
        settings = rules.Settings(
            True,
            current.count if count is None else count,
            current.percent if percent is None else percent,
            current.window_minutes if window_minutes is None else window_minutes,
        )
        problem = rules.validate(settings.count, settings.percent, settings.window_minutes)
        if problem is not None:
            db.session.rollback()
            raise click.ClickException(problem)
    store.save_settings(org.id, settings)
    db.session.commit()
    click.echo(f"guard: {_describe(settings)}")
