"""Command-line administration: ``flask --app app org|admin|token|group|sso ...``.

These command shapes are part of the product (on-prem admins script them): keep them
stable. Each command is a thin wrapper over the functions the web console uses.
"""

from __future__ import annotations

import sys
from datetime import datetime

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup
from flask.cli import with_appcontext
from sqlalchemy import select

from .cli_database import uses_database
from .console.access import AccessError
from .console.access import set_group_role
from .console.organizations import OrganizationError
from .console.organizations import create_organization
from .console.organizations import require_organization
from .console.sessions import end_sessions_of
from .console.tokens import SCIM_SCOPE
from .console.tokens import SCOPES
from .console.tokens import TokenError
from .console.tokens import create_token
from .console.tokens import revoke_token
from .console.users import PASSWORD_RULE
from .console.users import ConsoleUserError
from .console.users import change_password
from .console.users import create_console_user
from .console.users import get_console_user_by_email
from .console.users import password_problem
from .dbcopy.cli import init_app as add_db_copy
from .events.cli import events_cli
from .events.emit import role_mapping_changed
from .monitor.cli import logs_cli
from .server.health import check_install
from .sso.cli import sso_cli
from .storage.extensions import db
from .storage.models import ROLES
from .storage.models import ApiToken
from .storage.models import Group

org_cli = AppGroup("org", help="Manage organizations.")
admin_cli = AppGroup("admin", help="Manage console admins.")
token_cli = AppGroup("token", help="Manage API tokens (SCIM provisioning, events).")
group_cli = AppGroup("group", help="Manage the console roles that pushed groups grant.")


def _checked_password(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a short password as soon as it is typed: click asks again at once, before
    the confirmation, instead of after both."""
    if value is not None and (problem := password_problem(value)):
        raise click.BadParameter(problem)
    return value


def _fail(message: str) -> None:
    db.session.rollback()
    raise click.ClickException(message)


@org_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name of the organization.")
@uses_database
def org_create(slug: str, name: str) -> None:
    """Create an organization (SaaS tenants; on-prem uses 'default')."""
    try:
        org = create_organization(slug, name)
    except OrganizationError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"Created organization {org.slug} ({org.name}).")


@admin_cli.command("create")
@click.option("--email", required=True)
@click.option(
    "--password",
    prompt=f"Password ({PASSWORD_RULE})",
    hide_input=True,
    confirmation_prompt=True,
    callback=_checked_password,
    help=f"{PASSWORD_RULE[0].upper()}{PASSWORD_RULE[1:]}. Asked for (hidden, twice) when not "
    "given: no quoting rules of any shell apply.",
)
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
@click.option("--role", default="admin", show_default=True)
@uses_database
def admin_create(email: str, password: str, org_slug: str | None, role: str) -> None:
    """Create a console user who can sign in at /admin/login."""
    try:
        org = require_organization(org_slug)
        user = create_console_user(org, email, password, role)
    except (OrganizationError, ConsoleUserError) as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"Created console {user.role} {user.email} in organization {org.slug}.")


def _console_user(email: str):
    user = get_console_user_by_email(email)
    if user is None:
        _fail(f"no console user with email {email!r}")
    return user


@admin_cli.command("password")
@click.option("--email", required=True)
@click.option(
    "--password",
    prompt=f"New password ({PASSWORD_RULE})",
    hide_input=True,
    confirmation_prompt=True,
    callback=_checked_password,
    help=f"New password, {PASSWORD_RULE}.",
)
@uses_database
def admin_password(email: str, password: str) -> None:
    """Change a console user's password; it ends all of their console sessions."""
    user = _console_user(email)
    try:
        ended = change_password(user, password)
    except ConsoleUserError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"Changed the password of {user.email}; ended {ended} console session(s).")


@admin_cli.command("end-sessions")
@click.option("--email", required=True)
@uses_database
def admin_end_sessions(email: str) -> None:
    """Sign a console user out everywhere: end all of their console sessions."""
    user = _console_user(email)
    ended = end_sessions_of(user.id)
    db.session.commit()
    click.echo(f"Ended {ended} console session(s) of {user.email}.")


@token_cli.command("create")
@click.option("--name", required=True, help='Descriptive name, e.g. "Okta SCIM Integration".')
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    default=[SCIM_SCOPE],
    show_default=True,
    type=click.Choice(sorted(SCOPES)),
)
@click.option("--expires", type=click.DateTime(), default=None, help="Expiry (UTC).")
@uses_database
def token_create(
    name: str, org_slug: str | None, scopes: tuple[str, ...], expires: datetime | None
) -> None:
    """Create an API token. The last line of output is the token alone; it is shown once."""
    try:
        org = require_organization(org_slug)
        token, plaintext = create_token(
            org.id, name, list(scopes), expires_at=expires, created_by_label="cli"
        )
    except (OrganizationError, TokenError) as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"Created token {token.id} ({token.name}) for organization {org.slug}.")
    click.echo("Copy it now: it is shown only once and stored only as a hash.")
    click.echo(plaintext)


@token_cli.command("list")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
@uses_database
def token_list(org_slug: str | None) -> None:
    """List tokens: id, status, prefix, name, last use."""
    try:
        org = require_organization(org_slug)
    except OrganizationError as exc:
        _fail(str(exc))
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.organization_id == org.id).order_by(ApiToken.id)
    ).all()
    if not tokens:
        click.echo(f"No tokens in organization {org.slug}.")
    for t in tokens:
        last = t.last_used_at.isoformat(timespec="seconds") + "Z" if t.last_used_at else "never"
        click.echo(
            f"{t.id}\t{t.status()}\t{t.prefix}…\t{t.name}\tscopes={t.scopes}\tlast used {last}"
        )


@token_cli.command("revoke")
@click.argument("token_id", type=int)
@uses_database
def token_revoke(token_id: int) -> None:
    """Revoke a token: the IdP using it gets 401 from the next request on."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        _fail(f"no token with id {token_id}")
    revoke_token(token)
    db.session.commit()
    click.echo(f"Revoked token {token.id} ({token.name}).")


@group_cli.command("role")
@click.argument("display_name")
@click.argument("role", type=click.Choice([*ROLES, "none"], case_sensitive=False))
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
@uses_database
def group_role(display_name: str, role: str, org_slug: str | None) -> None:
    """Give the members of a pushed group a console role (admin, member, viewer or none)."""
    try:
        org = require_organization(org_slug)
    except OrganizationError as exc:
        _fail(str(exc))
    group = db.session.scalars(
        select(Group).where(
            Group.organization_id == org.id,
            Group.display_name_norm == display_name.strip().lower(),
        )
    ).first()
    if group is None:
        _fail(
            f"no group named {display_name!r} in organization {org.slug} "
            "(groups come from the identity provider's group push)"
        )
    role = role.lower()
    before = group.role
    try:
        set_group_role(group, None if role == "none" else role)
    except AccessError as exc:
        _fail(str(exc))
    role_mapping_changed(group, before, "cli")
    db.session.commit()
    if group.role:
        click.echo(f"Members of {group.display_name!r} now get the {group.role} role.")
    else:
        click.echo(f"{group.display_name!r} no longer grants a role.")


_MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


@click.command("check")
@with_appcontext
def check() -> None:
    """Report the database in use, migration state, secret key and public URL; exit
    with status 1 when something would break an IdP connection."""
    findings = check_install(current_app)
    for finding in findings:
        click.echo(f"[{_MARKS[finding.level]}] {finding.subject}: {finding.text}")
    failures = sum(f.level == "fail" for f in findings)
    if failures:
        click.echo(f"{failures} problem(s) would break an IdP connection.", err=True)
        sys.exit(1)
    click.echo("Ready for IdP connections.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(check)
    app.cli.add_command(org_cli)
    app.cli.add_command(admin_cli)
    app.cli.add_command(token_cli)
    app.cli.add_command(logs_cli)
    app.cli.add_command(events_cli)
    app.cli.add_command(group_cli)
    app.cli.add_command(sso_cli)
    add_db_copy()
