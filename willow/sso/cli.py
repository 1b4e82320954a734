"""``flask --app app sso configure|show|disable`` and ``sso domain grant|list|verify|remove``:
single sign-on from the command line.

The shapes are part of the product (scripts rely on them); each command wraps the same
functions as the console's Single sign-on page.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..console.organizations import OrganizationError
from ..console.organizations import require_organization
from ..storage.extensions import db
from .domains import DnsUnavailable
from .domains import DomainError
from .domains import domains_of
from .domains import grant_domain
from .domains import remove_domain
from .domains import txt_name
from .domains import txt_value
from .domains import verify_domain
from .settings import SsoSettingsError
from .settings import configure_sso
from .settings import disable_sso
from .settings import get_sso_config

sso_cli = AppGroup("sso", help="Manage single sign-on (OpenID Connect).")

CALLBACK_PATH = "/admin/sso/callback"


def _fail(message: str) -> None:
    db.session.rollback()
    raise click.ClickException(message)


def _organization(slug: str | None):
    """The organization named by ``--org``, or the command fails saying why."""
    try:
        return require_organization(slug)
    except OrganizationError as exc:
        _fail(str(exc))


def redirect_uri_hint() -> str:
    public = (current_app.config.get("WILLOW_PUBLIC_URL") or "").rstrip("/")
    return (public or "{your-app-url}") + CALLBACK_PATH


@sso_cli.command("configure")
@click.option("--issuer", required=True, help="Issuer URL of the OpenID provider.")
@click.option("--client-id", required=True)
@click.option("--client-secret", required=True, help="Stored encrypted; never shown again.")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
@click.option(
    "--allowed-domains",
    default=None,
    help='Email domains, e.g. "example.com example.org" (once verified, they pick the '
    "organization at sign-in; see sso domain).",
)
@click.option(
    "--require-sso/--no-require-sso",
    default=None,
    help="Refuse password sign-in to all but admins (the break-glass accounts).",
)
def sso_configure(
    issuer: str,
    client_id: str,
    client_secret: str,
    org_slug: str | None,
    allowed_domains: str | None,
    require_sso: bool | None,
) -> None:
    """Set the organization's OpenID provider (its discovery document is read first)."""
    try:
        org = require_organization(org_slug)
        config = configure_sso(
            org,
            issuer,
            client_id,
            client_secret,
            allowed_domains=allowed_domains,
            require_sso=require_sso,
        )
    except (OrganizationError, SsoSettingsError) as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"Configured SSO for organization {org.slug}: issuer {config.issuer}.")
    click.echo(f"Redirect URI to enter in the identity provider: {redirect_uri_hint()}")


@sso_cli.command("show")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
def sso_show(org_slug: str | None) -> None:
    """Show the organization's SSO settings (never the client secret)."""
    org = _organization(org_slug)
    config = get_sso_config(org.id)
    if config is None:
        click.echo(f"SSO is not configured for organization {org.slug}.")
        return
    metadata = config.provider_metadata or {}
    rows = [
        ("organization", org.slug),
        ("status", "enabled" if config.enabled else "disabled"),
        ("issuer", config.issuer),
        ("client id", config.client_id),
        ("client secret", "set (stored encrypted, not shown)"),
        ("allowed domains", " ".join(_domain_label(d) for d in domains_of(org.id)) or "any"),
        ("require sso", "yes" if config.require_sso else "no"),
        ("redirect uri", redirect_uri_hint()),
        ("authorization endpoint", metadata.get("authorization_endpoint", "")),
        ("token endpoint", metadata.get("token_endpoint", "")),
        ("jwks uri", metadata.get("jwks_uri", "")),
    ]
    for name, value in rows:
        click.echo(f"{name}: {value}")


def _domain_label(domain) -> str:
    return domain.domain + ("" if domain.verified_at else " (not verified)")


@sso_cli.command("disable")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
def sso_disable(org_slug: str | None) -> None:
    """Turn SSO off: SSO sessions end, password sign-in is open to all console accounts."""
    org = _organization(org_slug)
    if disable_sso(org):
        db.session.commit()
        click.echo(f"Disabled SSO for organization {org.slug}.")
    else:
        click.echo(f"SSO was not enabled for organization {org.slug}.")


@sso_cli.group("domain")
def domain_cli() -> None:
    """Email domains: which organization a work email signs in to."""


@domain_cli.command("grant")
@click.argument("domain")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
def domain_grant(domain: str, org_slug: str | None) -> None:
    """Give DOMAIN to the organization, verified, without a DNS record (the operator's
    word for it); taken from another organization if one held it."""
    org = _organization(org_slug)
    try:
        row, previous = grant_domain(org, domain)
    except DomainError as exc:
        _fail(str(exc))
    db.session.commit()
    moved = f" (taken from organization {previous})" if previous else ""
    click.echo(f"Granted {row.domain} to organization {org.slug}, verified{moved}.")


@domain_cli.command("list")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
def domain_list(org_slug: str | None) -> None:
    """The organization's domains, their status, and the TXT record that verifies each."""
    org = _organization(org_slug)
    rows = domains_of(org.id)
    if not rows:
        click.echo(f"Organization {org.slug} has no SSO email domains.")
    for row in rows:
        if row.verified_at:
            click.echo(f"{row.domain}: verified by {row.verified_by}")
        else:
            click.echo(
                f"{row.domain}: not verified; TXT {txt_name(row.domain)} "
                f"\"{txt_value(row.verification_token)}\""
            )


@domain_cli.command("verify")
@click.argument("domain")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: default).")
def domain_verify(domain: str, org_slug: str | None) -> None:
    """Look up DOMAIN's TXT record now, as the console's Verify now button does."""
    org = _organization(org_slug)
    try:
        row = verify_domain(org.id, domain)
    except (DomainError, DnsUnavailable) as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"{row.domain} is verified for organization {org.slug}.")


@domain_cli.command("remove")
@click.argument("domain")
def domain_remove(domain: str) -> None:
    """Remove DOMAIN from whichever organization holds it."""
    row = remove_domain(domain)
    if row is None:
        _fail(f"no organization holds {domain}")
    db.session.commit()
    click.echo(f"Removed {row.domain}.")
