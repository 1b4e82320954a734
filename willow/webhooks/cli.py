"""``flask --app app webhook add|list|disable|resend``: webhook endpoints from the
command line, wrapping the functions of the Admin → Webhooks pages.

``webhook add`` prints the signing secret alone on its last line, so a script can take
it with ``tail -n 1``.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from ..cli_database import uses_database
from ..console.organizations import OrganizationError
from ..console.organizations import require_organization
from ..storage.extensions import db
from . import store
from .addresses import endpoint_url_problem
from .addresses import policy_from_config

webhook_cli = AppGroup("webhook", help="Manage webhook endpoints (provisioning events).")


def _fail(message: str) -> None:
    db.session.rollback()
    raise click.ClickException(message)


def _endpoint(endpoint_id: int) -> store.WebhookEndpoint:
    endpoint = db.session.get(store.WebhookEndpoint, endpoint_id)
    if endpoint is None:
        _fail(f"no webhook endpoint with id {endpoint_id}")
    return endpoint


@webhook_cli.command("add")
@click.argument("url")
@click.option(
    "--events", "types", default="", help="Comma list of event types (user.*, …); default: all."
)
@click.option("--description", default="", help="What the endpoint is for.")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
@uses_database
def add(url: str, types: str, description: str, org_slug: str | None) -> None:
    """Add an endpoint; the last line printed is its signing secret alone."""
    try:
        org = require_organization(org_slug)
    except OrganizationError as exc:
        _fail(str(exc))
    policy = policy_from_config(current_app.config)
    try:
        endpoint, secret = store.create_endpoint(
            org.id,
            url,
            event_types=types,
            description=description,
            created_by="command line",
            url_problem=lambda u: endpoint_url_problem(policy, u),
        )
    except store.EndpointError as exc:
        _fail(str(exc))
    db.session.commit()
    subscribed = endpoint.event_types or "all event types"
    click.echo(
        f"Added webhook endpoint {endpoint.id} in {org.slug}: {endpoint.url} ({subscribed})."
    )
    click.echo("Signing secret (shown once; verify deliveries with it):")
    click.echo(secret)


@webhook_cli.command("list")
@click.option("--org", "org_slug", default=None, help="Only this organization's endpoints.")
@uses_database
def list_(org_slug: str | None) -> None:
    """List endpoints: id, organization, state, cursor and URL."""
    org_id = None
    if org_slug:
        try:
            org_id = require_organization(org_slug).id
        except OrganizationError as exc:
            _fail(str(exc))
    endpoints = store.list_endpoints(org_id)
    if not endpoints:
        click.echo("No webhook endpoints.")
    for e in endpoints:
        state = "enabled" if e.enabled else f"disabled ({e.disabled_reason or 'by an admin'})"
        if e.enabled and e.failures:
            state += f", {e.failures} failed attempts at the next event"
        types = e.event_types or "*"
        click.echo(
            f"{e.id}\t{e.organization_id}\t{state}\tdelivered through {e.last_sequence}"
            f"\t{types}\t{e.url}"
        )


@webhook_cli.command("disable")
@click.argument("endpoint_id", type=int)
@uses_database
def disable(endpoint_id: int) -> None:
    """Stop deliveries to an endpoint (its events wait; enabling resumes them)."""
    endpoint = _endpoint(endpoint_id)
    store.disable(endpoint, "Disabled on the command line.")
    db.session.commit()
    click.echo(f"Disabled webhook endpoint {endpoint.id}.")


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a time; use ISO 8601, e.g. 2026-12-07T10:42:00Z"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


@webhook_cli.command("resend")
@click.argument("endpoint_id", type=int)
@click.option("--since", required=True, help="ISO 8601 time (UTC unless an offset is given).")
@uses_database
def resend(endpoint_id: int, since: str) -> None:
    """Deliver again, in order, every event since a time (after an outage of the consumer)."""
    moment = _parse_time(since)
    endpoint = _endpoint(endpoint_id)
    covered = store.rewind(endpoint, moment)
    db.session.commit()
    if not covered:
        click.echo(f"No events since {moment.isoformat()}Z; nothing to resend.")
        return
    note = "" if endpoint.enabled else " It is disabled: enable it to deliver them."
    click.echo(
        f"Endpoint {endpoint.id} will receive again the events since {moment.isoformat()}Z "
        f"({covered} in the stream, those it subscribes to are sent), in order.{note}"
    )
