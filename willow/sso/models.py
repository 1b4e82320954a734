"""Tables of single sign-on: each organization's OpenID Connect settings, and the record
of every SSO sign-in (success or refusal, with its reason)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..extensions import db
from ..models import BigId
from ..models import utcnow


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
    #: Space-separated lower-case email domains (empty: any). They pick the organization
    #: at sign-in on multi-organization installs and limit matching by email.
    allowed_domains: Mapped[str] = mapped_column(String(2048), default="")
    #: Endpoints read from the discovery document when the settings were saved.
    provider_metadata: Mapped[dict] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Refuse password sign-in to everyone but the break-glass admins.
    require_sso: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def domain_list(self) -> list[str]:
        return self.allowed_domains.split() if self.allowed_domains else []


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
