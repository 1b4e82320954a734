"""Each organization's single sign-on settings: saved from the console page or the CLI,
read by the sign-in flow. The client secret is write-only: stored encrypted, never returned."""

from __future__ import annotations

from sqlalchemy import select

from ..storage.extensions import db
from ..storage.models import Organization
from ..storage.models import utcnow
from .domains import DomainError
from .domains import parse_domains
from .domains import set_domains
from .domains import verified_organization_id
from .models import SsoConfig
from .oidc import ProviderError
from .oidc import fetch_discovery
from .oidc import metadata_cache
from .oidc import normalise_issuer
from .secrets import encrypt_secret


class SsoSettingsError(ValueError):
    """Settings that cannot be saved; the message says why, for a form or the CLI."""


def get_sso_config(organization_id: int) -> SsoConfig | None:
    return db.session.scalars(
        select(SsoConfig).where(SsoConfig.organization_id == organization_id)
    ).first()


def enabled_sso_config(organization_id: int) -> SsoConfig | None:
    config = get_sso_config(organization_id)
    return config if config is not None and config.enabled else None


def configure_sso(
    organization: Organization,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    *,
    allowed_domains: str | None = None,
    require_sso: bool | None = None,
) -> SsoConfig:
    """Save (and enable) the organization's OpenID provider; the caller commits.

    The discovery document is read first, so settings that cannot work are never saved.
    An empty ``client_secret`` keeps the stored one; ``None`` options keep their values.
    """
    issuer = normalise_issuer(issuer or "")
    client_id = (client_id or "").strip()
    if not issuer:
        raise SsoSettingsError("the issuer URL is required")
    if not client_id:
        raise SsoSettingsError("the client ID is required")
    if len(issuer) > 1024 or len(client_id) > 512:
        raise SsoSettingsError("the issuer URL or client ID is too long")
    try:
        domains = parse_domains(allowed_domains) if allowed_domains is not None else None
    except DomainError as exc:
        raise SsoSettingsError(str(exc)) from exc
    config = get_sso_config(organization.id)
    secret = (client_secret or "").strip()
    if not secret and config is None:
        raise SsoSettingsError("the client secret is required")
    try:
        metadata = fetch_discovery(issuer)
    except ProviderError as exc:
        raise SsoSettingsError(f"the issuer's discovery document is unusable: {exc}") from exc
    if config is None:
        config = SsoConfig(organization_id=organization.id)
        db.session.add(config)
    config.issuer = issuer
    config.client_id = client_id
    if secret:
        config.client_secret_encrypted = encrypt_secret(secret)
    if domains is not None:
        try:
            set_domains(organization, domains)
        except DomainError as exc:
            raise SsoSettingsError(str(exc)) from exc
    if require_sso is not None:
        config.require_sso = require_sso
    config.provider_metadata = metadata
    config.enabled = True
    config.updated_at = utcnow()
    db.session.flush()
    metadata_cache.put(issuer, metadata)
    return config


def disable_sso(organization: Organization) -> bool:
    """Turn SSO off (settings kept, so it can be turned on again); False if it was not on.
    SSO sessions end at their next request, and password sign-in is open to all again."""
    config = enabled_sso_config(organization.id)
    if config is None:
        return False
    config.enabled = False
    config.updated_at = utcnow()
    return True


def set_require_sso(organization: Organization, required: bool) -> None:
    config = get_sso_config(organization.id)
    if config is None:
        raise SsoSettingsError("configure single sign-on first")
    config.require_sso = required
    config.updated_at = utcnow()


def password_sign_in_allowed(organization_id: int, role: str) -> bool:
    """With "Require SSO" on, only admins keep password sign-in (the break-glass accounts
    made on the command line); members and viewers must use SSO."""
    config = enabled_sso_config(organization_id)
    return config is None or not config.require_sso or role == "admin"


def sso_organizations() -> list[tuple[Organization, SsoConfig]]:
    """Organizations with SSO on, for the sign-in page."""
    rows = db.session.execute(
        select(Organization, SsoConfig)
        .join(SsoConfig, SsoConfig.organization_id == Organization.id)
        .where(SsoConfig.enabled.is_(True))
        .order_by(Organization.id)
    ).all()
    return [(org, config) for org, config in rows]


def organization_for_email(email: str) -> tuple[Organization, SsoConfig] | None:
    """The SSO organization whose *verified* email domains include the email's domain
    (an unverified claim routes nobody: ``willow.sso.domains``)."""
    organization_id = verified_organization_id(email)
    if organization_id is None:
        return None
    config = enabled_sso_config(organization_id)
    if config is None:
        return None
    return db.session.get(Organization, organization_id), config
