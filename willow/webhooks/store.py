"""Webhook endpoints and their delivery attempts: the tables and every query on them.

An endpoint follows its organization's event stream (the ``events`` table, in
``sequence`` order) with a cursor of its own, ``last_sequence``: the events up to it are
delivered (or not subscribed to). The event after it is the one being delivered; while
it fails, ``failures`` counts the attempts and ``next_attempt_at`` says when to try
again, and the later events wait: an endpoint receives its events in order, never with
one skipped. A worker holds an endpoint by a lease (``lease_owner`` until
``lease_until``), so two app servers never send the same attempt, and a crashed worker's
endpoints are taken over when its lease runs out.

The signing secret is stored encrypted (``willow.sso.secrets``, under a key of its own)
and shown once; after a rotation the previous secret signs too until
``previous_secret_until``.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..sso.secrets import decrypt_secret
from ..sso.secrets import encrypt_secret
from ..storage.extensions import db
from ..storage.models import BigId
from ..storage.models import Event
from ..storage.models import Organization
from ..storage.models import utcnow
from ..storage.pruning import delete_oldest
from . import signing
from .subscriptions import parse_types

_SECRET_INFO = b"willow webhook signing secret v1"


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    #: Comma list of types and ``prefix.*`` patterns; empty: every type.
    event_types: Mapped[str] = mapped_column(String(1000), default="")
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: Disabled by failures and not yet looked at: every admin page says so.
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(320))
    #: The organization's events up to this sequence are done with.
    last_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Failed attempts in a row at the next event, and when to try it again.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def type_list(self) -> list[str]:
        return [t for t in self.event_types.split(",") if t]


class WebhookAttempt(db.Model):
    """One HTTP attempt to deliver one event to one endpoint."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_attempts_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    #: None for a test event, which is not in the organization's stream.
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    #: 1 for the first attempt at an event, 2 for its first retry, …
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    #: "event" (the worker), "resend" (an admin's Resend) or "test".
    kind: Mapped[str] = mapped_column(String(10), default="event")
    attempted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(String(300))
    #: When the worker tries again after this failure (None: it does not).
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)


class EndpointError(ValueError):
    """An endpoint that cannot be saved as asked; the message says why."""


def encrypt(secret: str) -> str:
    return encrypt_secret(secret, _SECRET_INFO)


def decrypt(ciphertext: str) -> str:
    return decrypt_secret(ciphertext, _SECRET_INFO)


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the previous one
    while the rotation's overlap lasts."""
    rv = [decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_until is not None
        and endpoint.previous_secret_until > now
    ):
        rv.append(decrypt(endpoint.previous_secret_encrypted))
    return rv


def create_endpoint(
    organization_id: int,
    url: str,
    *,
    event_types: str = "",
    description: str = "",
    created_by: str | None = None,
    url_problem=None,
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint that receives the organization's events from now on; returns it
    and its signing secret (the only time the secret is available). The caller commits.
    ``url_problem(url) -> reason | None`` checks the URL (addresses.py)."""
    url = url.strip()
    problem = url_problem(url) if url_problem else None
    if problem:
        raise EndpointError(problem)
    try:
        types = parse_types(event_types)
    except ValueError as exc:
        raise EndpointError(str(exc)) from None
    if len(description) > 500:
        raise EndpointError("the description is longer than 500 characters")
    secret = signing.generate_secret()
    current = db.session.scalar(
        select(Organization.event_sequence).where(Organization.id == organization_id)
    )
    endpoint = WebhookEndpoint(
        organization_id=organization_id,
        url=url,
        description=description.strip(),
        event_types=",".join(types),
        secret_encrypted=encrypt(secret),
        created_by=created_by,
        last_sequence=current or 0,
        failures=0,
        enabled=True,
        needs_attention=False,
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint, secret


def get_endpoint(organization_id: int, endpoint_id: int) -> WebhookEndpoint | None:
    return db.session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.organization_id == organization_id,
        )
    )


def list_endpoints(organization_id: int | None = None) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if organization_id is not None:
        query = query.where(WebhookEndpoint.organization_id == organization_id)
    return list(db.session.scalars(query))


def rotate_secret(endpoint: WebhookEndpoint, overlap: timedelta) -> str:
    """A new signing secret; the current one keeps signing for ``overlap`` so consumers
    can switch without a delivery failing verification. Returns the new secret."""
    secret = signing.generate_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_until = utcnow() + overlap
    endpoint.secret_encrypted = encrypt(secret)
    return secret


def disable(endpoint: WebhookEndpoint, reason: str, *, by_failure: bool = False) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = utcnow()
    endpoint.needs_attention = by_failure


def enable(endpoint: WebhookEndpoint) -> None:
    """Deliveries resume at the event that was held, which is tried again at once."""
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.disabled_at = None
    endpoint.needs_attention = False
    endpoint.failures = 0
    endpoint.next_attempt_at = None


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id))
    db.session.delete(endpoint)


def rewind(endpoint: WebhookEndpoint, since: datetime) -> int:
    """Deliver again, in order, every event that occurred at or after ``since``; returns
    how many events of the stream that covers (the subscription filters them)."""
    first = db.session.scalar(
        select(func.min(Event.sequence)).where(
            Event.organization_id == endpoint.organization_id, Event.occurred_at >= since
        )
    )
    if first is None:
        return 0
    covered = db.session.scalar(
        select(func.count()).where(
            Event.organization_id == endpoint.organization_id, Event.sequence >= first
        )
    )
    if first - 1 < endpoint.last_sequence:
        endpoint.last_sequence = first - 1
        endpoint.failures = 0
        endpoint.next_attempt_at = None
    return covered


def recent_attempts(
    endpoint: WebhookEndpoint,
    *,
    failed_only: bool = False,
    event_type: str | None = None,
    limit: int = 100,
) -> list[WebhookAttempt]:
    query = (
        select(WebhookAttempt)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.id.desc())
        .limit(limit)
    )
    if failed_only:
        query = query.where(WebhookAttempt.succeeded.is_(False))
    if event_type:
        query = query.where(WebhookAttempt.event_type == event_type)
    return list(db.session.scalars(query))


def attempts_of_events(organization_id: int, event_ids: list[str]) -> dict[str, list]:
    """Each event's attempts, oldest first, with their endpoint (for the log entry page)."""
    rv: dict[str, list] = {event_id: [] for event_id in event_ids}
    if not event_ids:
        return rv
    rows = db.session.execute(
        select(WebhookAttempt, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookAttempt.endpoint_id)
        .where(
            WebhookAttempt.organization_id == organization_id,
            WebhookAttempt.event_id.in_(event_ids),
        )
        .order_by(WebhookAttempt.id)
    )
    for attempt, endpoint in rows:
        rv[attempt.event_id].append((attempt, endpoint))
    return rv


def needing_attention(organization_id: int) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.organization_id == organization_id,
                WebhookEndpoint.needs_attention.is_(True),
            )
        )
    )


def acknowledge(endpoint: WebhookEndpoint) -> None:
    """An admin has seen that the endpoint was disabled: the banner goes. Written in a
    transaction of its own whose first statement is the write, so that a GET that has
    read already never needs to turn its SQLite read transaction into a write one."""
    if not endpoint.needs_attention:
        return
    with db.engine.begin() as conn:
        conn.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint.id)
            .values(needs_attention=False)
        )
    endpoint.needs_attention = False


def pending_count(endpoint: WebhookEndpoint) -> int:
    """Events of the stream after the endpoint's cursor (subscribed or not)."""
    current = db.session.scalar(
        select(Organization.event_sequence).where(Organization.id == endpoint.organization_id)
    )
    return max(0, (current or 0) - endpoint.last_sequence)


def prune_attempts(older_than: datetime, *, batch_size: int = 1000) -> int:
    """Delete attempts made before ``older_than``, ``batch_size`` per transaction (so a
    backlog never holds SQLite's write lock for long); returns how many. Needs an app
    context."""
    return delete_oldest(
        WebhookAttempt.id, WebhookAttempt.attempted_at < older_than, WebhookAttempt.id, batch_size
    )
