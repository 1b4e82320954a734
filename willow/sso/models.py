"""Tables of single sign-on: each organization's OpenID Connect settings, its email
domains, the provider subject each user is bound to, and the record of every SSO sign-in
(success or refusal, with its reason)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..storage.extensions import db
from ..storage.models import BigId
from ..storage.models import utcnow


class SsoConfig(db.Model):
    """One organization's OpenID provider. The client secret is stored only encrypted
    (``willow.sso.secrets``) and is never shown again once saved."""

    __tablename__ = "sso_configs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    #: The issuer exactly as the provider's discovery document states it.
    issuer: Mapped[str] = mapped_column(String(1024))
    client_id: Mapped[str] = mapped_column(String(512))
    client_secret_encrypted: Mapped[str] = mapped_column(Text)
    #: Endpoints read from the discovery document when the settings were saved.
    provider_metadata: Mapped[dict] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Refuse password sign-in to everyone but the break-glass admins.
    require_sso: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SsoDomain(db.Model):
    """An email domain an organization claims (``willow.sso.domains``). A domain belongs
    to one organization only (unique across all of them); it limits matching by email
    at once, but picks the organization at sign-in only once verified (a DNS TXT record
    with ``verification_token``, or granted by the operator on the command line)."""

    __tablename__ = "sso_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    #: Lower case, without a trailing dot.
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    verification_token: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: ``dns`` or ``operator``.
    verified_by: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SsoSubject(db.Model):
    """The provider's ``sub`` a user signed in with first (per issuer): later sign-ins
    with another ``sub`` are refused, whatever email they carry."""

    __tablename__ = "sso_subjects"
    __table_args__ = (UniqueConstraint("scim_user_id", "issuer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    scim_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(1024))
    subject: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SsoSignInEvent(db.Model):
    """One SSO sign-in attempt (or the end of an SSO session when access was lost),
    shown to the organization's admins on the Single sign-on page."""

    __tablename__ = "sso_sign_in_events"
    __table_args__ = (Index("ix_sso_events_org_time", "organization_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: Null only when the attempt could not be tied to an organization (e.g. no state).
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    #: ``success``, ``refused`` or ``ended`` (a signed-in session that lost access).
    outcome: Mapped[str] = mapped_column(String(16))
    #: A code from ``willow.sso.outcomes.REASONS``.
    reason: Mapped[str] = mapped_column(String(32))
    #: Technical detail for admins (e.g. which ID token check failed); never secrets.
    detail: Mapped[str | None] = mapped_column(String(512))
    #: A "Test sign-in" from the settings page, which signs nobody in.
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str | None] = mapped_column(String(256))
    email: Mapped[str | None] = mapped_column(String(320))
    #: Kept as a plain id (no foreign key) so the record outlives the user.
    scim_user_id: Mapped[str | None] = mapped_column(String(36))
    user_name: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str | None] = mapped_column(String(20))
    client_ip: Mapped[str | None] = mapped_column(String(64))
