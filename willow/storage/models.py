"""Database models (SQLAlchemy 2 typed mappings).

Every tenant-owned row carries ``organization_id`` and every query is scoped by it.
Times are stored as naive UTC (``utcnow()``) so that SQLite and PostgreSQL agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from .extensions import db

# BIGINT on PostgreSQL, but INTEGER on SQLite so that it stays the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")

ROLES = ("admin", "member", "viewer")


def utcnow() -> datetime:
    """Current time as naive UTC, the form every timestamp column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_id() -> str:
    return str(uuid.uuid4())


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: The last provisioning event's sequence number (willow/events). A transaction that
    #: writes events takes the next numbers by updating this row, which it then holds
    #: until it commits: the organization's events become visible in sequence order.
    event_sequence: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: Events up to this sequence number were removed by retention: a cursor before it
    #: can no longer be read from without a gap.
    events_pruned_through: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0"
    )


class ConsoleUser(db.Model):
    """A person who signs in to the Willow console.

    Either a password account made on the command line (the break-glass admins), or the
    console account of a SCIM-provisioned user who signs in through the organization's
    OpenID provider (``scim_user_id`` set, no password; see ``willow.sso``).
    """

    __tablename__ = "console_users"
    __table_args__ = (
        # Password sign-in looks accounts up by email; SSO accounts are found by their
        # provisioned user, and may share an address with a password account.
        Index(
            "uq_console_users_password_email",
            "email",
            unique=True,
            sqlite_where=text("scim_user_id IS NULL"),
            postgresql_where=text("scim_user_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: Stored lower-cased: sign-in compares addresses case-insensitively.
    email: Mapped[str] = mapped_column(String(320))
    #: None for SSO accounts: they never sign in with a password.
    password_hash: Mapped[str | None] = mapped_column(String(256))
    #: The provisioned user an SSO account belongs to; its role follows their groups.
    scim_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    role: Mapped[str] = mapped_column(String(20), default="admin")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)

    organization: Mapped[Organization] = relationship()

    @property
    def is_sso(self) -> bool:
        return self.scim_user_id is not None


class ConsoleSession(db.Model):
    """A signed-in console session. The browser's cookie holds a random session id; only
    its SHA-256 digest is stored, so the table alone cannot be used to take over a session.
    Ending a session deletes its row (sign-out, an admin, a password change)."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    console_user_id: Mapped[int] = mapped_column(
        ForeignKey("console_users.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: Refreshed at most once a minute; the idle timeout counts from it.
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: The absolute end of the session, however active it is.
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    #: A just-generated API token waiting for its one display, encrypted with a key derived
    #: from the session id that only the browser holds; cleared when it is shown.
    pending_token_id: Mapped[int | None] = mapped_column(Integer)
    pending_token_secret: Mapped[bytes | None] = mapped_column(LargeBinary)

    user: Mapped[ConsoleUser] = relationship()


class SignInThrottle(db.Model):
    """Failed console sign-ins from one client address, or from one address at one email
    (``willow.console.sign_in_throttle``). In the database, so every app server sees them."""

    __tablename__ = "sign_in_throttles"

    #: SHA-256 of what is counted (the address, or the address and the typed email): the
    #: table never holds the addresses people typed, which may be mistyped passwords.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    #: None until the first failure; the next attempt waits from it.
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class RateLimitCounter(db.Model):
    """A fixed-window counter shared by every app server (``willow.server.rate_limit``)."""

    __tablename__ = "rate_limit_counters"

    #: What is counted, e.g. ``auth-failure:203.0.113.7``.
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime, index=True)
    count: Mapped[int] = mapped_column(Integer)


class ApiToken(db.Model):
    """A bearer token for /scim. Only the SHA-256 digest of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Space-separated scopes; "scim" grants user and group provisioning.
    scopes: Mapped[str] = mapped_column(String(200), default="scim")
    #: The first characters of the token, shown in lists so admins can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("console_users.id", ondelete="SET NULL")
    )
    #: Who created it when no console user did (e.g. "cli").
    created_by_label: Mapped[str | None] = mapped_column(String(320))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_ip: Mapped[str | None] = mapped_column(String(64))
    last_used_user_agent: Mapped[str | None] = mapped_column(String(512))

    organization: Mapped[Organization] = relationship()
    created_by: Mapped[ConsoleUser | None] = relationship()

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def status(self, now: datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        return token_status(self.revoked_at, self.expires_at, now or utcnow())


def token_status(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> str:
    """``active``, ``expired`` or ``revoked``: one rule for the model and the bearer check."""
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "active"


class User(db.Model):
    """A SCIM User (RFC 7643 §4.1) with the enterprise extension (§4.3) as columns.

    ``user_name_norm`` is the lower-cased userName; a partial unique index on it makes
    uniqueness case-insensitive and race-free while leaving tombstoned users out.
    """

    __tablename__ = "users"
    __table_args__ = (
        Index(
            "uq_users_org_user_name_live",
            "organization_id",
            "user_name_norm",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_users_org_created", "organization_id", "created_at", "id"),
        Index("ix_users_org_external_id", "organization_id", "external_id"),
        # The directory's "Last modified" sort (willow.admin.directory.USER_SORTS).
        Index("ix_users_org_modified", "organization_id", "last_modified_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    user_name: Mapped[str] = mapped_column(String(256))
    user_name_norm: Mapped[str] = mapped_column(String(256))
    external_id: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    name_formatted: Mapped[str | None] = mapped_column(String(512))
    name_family_name: Mapped[str | None] = mapped_column(String(256))
    name_given_name: Mapped[str | None] = mapped_column(String(256))
    name_middle_name: Mapped[str | None] = mapped_column(String(256))
    name_honorific_prefix: Mapped[str | None] = mapped_column(String(64))
    name_honorific_suffix: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(256))
    nick_name: Mapped[str | None] = mapped_column(String(256))
    profile_url: Mapped[str | None] = mapped_column(String(1024))
    title: Mapped[str | None] = mapped_column(String(256))
    user_type: Mapped[str | None] = mapped_column(String(64))
    preferred_language: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))

    # urn:ietf:params:scim:schemas:extension:enterprise:2.0:User
    employee_number: Mapped[str | None] = mapped_column(String(128))
    cost_center: Mapped[str | None] = mapped_column(String(128))
    organization_name: Mapped[str | None] = mapped_column(String(256))
    division: Mapped[str | None] = mapped_column(String(256))
    department: Mapped[str | None] = mapped_column(String(256))
    manager_value: Mapped[str | None] = mapped_column(String(256))
    manager_ref: Mapped[str | None] = mapped_column(String(1024))
    manager_display_name: Mapped[str | None] = mapped_column(String(256))

    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_modified_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: Set by DELETE: the account is kept for audit but gone from the SCIM API.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)

    values: Mapped[list[UserValue]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        order_by="(UserValue.attribute, UserValue.position)",
    )


class UserValue(db.Model):
    """One element of a multi-valued User attribute (emails, phoneNumbers, ims, photos,
    addresses, entitlements, roles, x509Certificates).

    One table for all of them keeps filters uniform: ``emails.value eq "x"`` compiles to an
    EXISTS over rows with ``attribute = 'emails'``.
    """

    __tablename__ = "user_values"
    __table_args__ = (
        Index("ix_user_values_user_attr", "user_id", "attribute"),
        Index("ix_user_values_org_attr_value", "organization_id", "attribute", "value_norm"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[str | None] = mapped_column(Text)
    #: Lower-cased value, for case-insensitive filters that can use an index.
    value_norm: Mapped[str | None] = mapped_column(String(512))
    display: Mapped[str | None] = mapped_column(String(512))
    type: Mapped[str | None] = mapped_column(String(64))
    #: As the client sent it: true, false, or absent (None) — each reads back as written.
    primary: Mapped[bool | None] = mapped_column(Boolean)
    # addresses only
    formatted: Mapped[str | None] = mapped_column(String(1024))
    street_address: Mapped[str | None] = mapped_column(String(512))
    locality: Mapped[str | None] = mapped_column(String(256))
    region: Mapped[str | None] = mapped_column(String(256))
    postal_code: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship(back_populates="values")


class Group(db.Model):
    """A SCIM Group (RFC 7643 §4.2). Members live in ``group_members``, never loaded whole
    to change one of them."""

    __tablename__ = "groups"
    __table_args__ = (
        Index("uq_groups_org_display_name", "organization_id", "display_name_norm", unique=True),
        Index("ix_groups_org_created", "organization_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    display_name: Mapped[str] = mapped_column(String(256))
    display_name_norm: Mapped[str] = mapped_column(String(256))
    external_id: Mapped[str | None] = mapped_column(String(256))
    #: Willow role granted to the group's active members (group-based access control).
    role: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_modified_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class GroupMember(db.Model):
    __tablename__ = "group_members"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        Index("ix_group_members_user", "user_id", "group_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def _BinaryString(length: int):  # noqa: N802 - a type, spelled like one
    return String(length).with_variant(String(length, collation="C"), "postgresql")


#: Width of ``resource_label`` and of its search key.
_LABEL_WIDTH = 256


def label_key(label: str | None) -> str | None:
    """The search key of a log entry's resource label: lower-cased, and cut again because
    lower-casing can lengthen a string ("İ" becomes two characters)."""
    return label.lower()[:_LABEL_WIDTH] if isinstance(label, str) else None


def _label_key(context) -> str | None:
    return label_key(context.get_current_parameters().get("resource_label"))


class ScimRequestLog(db.Model):
    """One row per request under /scim, written in a transaction of its own just after the
    response, by the log writer's thread (monitor/log_writer.py).

    Bodies are stored redacted and size-capped; ``changes`` and ``notes`` explain what the
    request did (attribute before → after, members added/removed) and how the IdP's dialect
    was normalised.
    """

    __tablename__ = "scim_request_logs"
    __table_args__ = (
        # Newest-first pages walk this index; the filter columns ride along so that counts
        # and filtered pages are answered from the index without reading the wide rows.
        Index(
            "ix_scim_logs_org_time_filters",
            "organization_id",
            "created_at",
            "id",
            "status_code",
            "method",
            "resource_type",
            "token_id",
            "client_family",
        ),
        # Partial: most requests are collection queries (no resource id) and successes (no
        # fingerprint), and skipping their index entries makes every log write cheaper.
        Index(
            "ix_scim_logs_org_resource",
            "organization_id",
            "resource_id",
            "created_at",
            sqlite_where=text("resource_id IS NOT NULL"),
            postgresql_where=text("resource_id IS NOT NULL"),
        ),
        Index(
            "ix_scim_logs_org_fingerprint",
            "organization_id",
            "fingerprint",
            "created_at",
            sqlite_where=text("fingerprint IS NOT NULL"),
            postgresql_where=text("fingerprint IS NOT NULL"),
        ),
        # Retention walks it oldest first; the size budget sums stored_bytes from it alone
        # (monitor/retention.py), without reading the wide rows.
        Index("ix_scim_logs_time_size", "created_at", "stored_bytes"),
        # Each token's connection health on API Tokens (willow/connection/health.py):
        # last success, last error and the day's counts, from the index alone.
        Index(
            "ix_scim_logs_token_time",
            "token_id",
            "created_at",
            "status_code",
            "repeat_count",
            sqlite_where=text("token_id IS NOT NULL"),
            postgresql_where=text("token_id IS NOT NULL"),
        ),
        # One counted row per refused client (or token) and minute (monitor/capture.py).
        # With its time (the window's start): a unique index of a partitioned table must
        # hold the partition key (willow/partitions).
        Index(
            "ix_scim_logs_count_key",
            "count_key",
            "created_at",
            unique=True,
            sqlite_where=text("count_key IS NOT NULL"),
            postgresql_where=text("count_key IS NOT NULL"),
        ),
        # The free-text search ``q``: a prefix of the lower-cased userName/displayName, and
        # a prefix of the path (see monitor/queries.py). Range scans on both databases;
        # the filter columns ride along so that ``q`` combined with other filters is
        # counted from the index alone, as without ``q``.
        Index(
            "ix_scim_logs_org_label_key",
            "organization_id",
            "resource_label_key",
            "created_at",
            "status_code",
            "method",
            "resource_type",
        ),
        # A user's membership changes name group writes by request id (willow/
        # membership_history): her page links to them and ``q`` finds them. Partial: only
        # group requests carry its entries.
        Index(
            "ix_scim_logs_org_group_request",
            "organization_id",
            "request_id",
            "created_at",
            "status_code",
            "method",
            sqlite_where=text("resource_type = 'Group'"),
            postgresql_where=text("resource_type = 'Group'"),
        ),
        Index(
            "ix_scim_logs_org_path",
            "organization_id",
            "path",
            "created_at",
            "status_code",
            "method",
            "resource_type",
        ),
        # A /Bulk request's row and its operations' rows (willow/scim/bulk.py), found from
        # either end; partial, since nearly every request is not part of one.
        Index(
            "ix_scim_logs_org_bulk",
            "organization_id",
            "bulk_request_id",
            sqlite_where=text("bulk_request_id IS NOT NULL"),
            postgresql_where=text("bulk_request_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: Null only when the request named no known token.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    token_name: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(10))
    #: Compared byte-wise on PostgreSQL too (collation "C", as SQLite does), so that a
    #: prefix is a contiguous index range whatever the database's collation.
    path: Mapped[str] = mapped_column(_BinaryString(2048))
    query_string: Mapped[str | None] = mapped_column(Text)
    #: User, Group, Config or Schema (None for unknown routes).
    resource_type: Mapped[str | None] = mapped_column(String(16))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    #: userName / displayName the request concerned, for search and display.
    resource_label: Mapped[str | None] = mapped_column(String(_LABEL_WIDTH))
    #: ``resource_label`` lower-cased (Python's str.lower), filled on insert: the search key.
    resource_label_key: Mapped[str | None] = mapped_column(
        _BinaryString(_LABEL_WIDTH), default=_label_key
    )
    operation: Mapped[str | None] = mapped_column(String(32))
    status_code: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    #: okta, jumpcloud, entra or other: the User-Agent's family (monitor/clients.py),
    #: written at capture so that the list filters on it in SQL.
    client_family: Mapped[str | None] = mapped_column(String(16))
    request_headers: Mapped[dict | None] = mapped_column(JSON)
    #: Redacted as request_headers are (Location, ETag, Content-Type, Retry-After...).
    response_headers: Mapped[dict | None] = mapped_column(JSON)
    request_body: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
    error_detail: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list | None] = mapped_column(JSON)
    changes: Mapped[list | None] = mapped_column(JSON)
    notes: Mapped[list | None] = mapped_column(JSON)
    #: Hash of (token, method, path, status, error) for spotting an IdP retrying a failure.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    #: What the row weighs in the log's size budget (WILLOW_LOG_MAX_MB): the bytes of its
    #: texts and JSON as written, plus a fixed allowance for the row and its index entries.
    stored_bytes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: A row that stands for many refused requests (429 past a limit) of one client address
    #: or token in one window: that key, and how many requests it stands for. The first
    #: refused request writes the row; the others only raise its count.
    count_key: Mapped[str | None] = mapped_column(String(200))
    repeat_count: Mapped[int | None] = mapped_column(Integer)
    #: The parent link of /Bulk (RFC 7644 §3.7): the request id of the Bulk request, on its
    #: own row and on the row of each of its operations. A request id, not a row id, since
    #: the operations' rows are written before the Bulk request's.
    bulk_request_id: Mapped[str | None] = mapped_column(String(32))


class Event(db.Model):
    """A provisioning event (willow/events): one effect of a change, written in the
    change's own transaction (a transactional outbox) and read by the events API and the
    webhook deliveries. ``body`` is the event's JSON envelope exactly as it is delivered."""

    __tablename__ = "events"
    __table_args__ = (
        # With occurred_at: a partitioned table's unique keys must hold the partition key
        # (willow/partitions). Sequences stay unique per organization because they are
        # taken under its row's lock, event ids because they are 128 random bits.
        UniqueConstraint(
            "organization_id", "sequence", "occurred_at", name="uq_events_org_sequence"
        ),
        UniqueConstraint("event_id", "occurred_at", name="uq_events_event_id"),
        Index(
            "ix_events_org_request",
            "organization_id",
            "request_id",
            sqlite_where=text("request_id IS NOT NULL"),
            postgresql_where=text("request_id IS NOT NULL"),
        ),
        Index("ix_events_occurred", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: The public id, the consumer's idempotency key ("evt_" and 32 hex digits).
    event_id: Mapped[str] = mapped_column(String(40))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    #: Strictly increasing per organization (Organization.event_sequence).
    sequence: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: The SCIM request log entry's request_id that caused it (None for console changes
    #: that have no log entry).
    request_id: Mapped[str | None] = mapped_column(String(32))
    #: The token name or console user that made the change.
    actor: Mapped[str | None] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)


class GuardSettings(db.Model):
    """An organization's deprovisioning guard (willow/guard); no row means the defaults
    (``willow.guard.rules.DEFAULTS``)."""

    __tablename__ = "guard_settings"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    count: Mapped[int] = mapped_column(Integer)
    percent: Mapped[int] = mapped_column(Integer)
    window_minutes: Mapped[int] = mapped_column(Integer)
    #: Deprovisionings before this moment are not counted: an admin allowed them.
    armed_since: Mapped[datetime | None] = mapped_column(DateTime)
    #: The active users as last counted for the percentage, and when: counted again at
    #: most once per window, so a burst does not count the directory at every request.
    population: Mapped[int | None] = mapped_column(Integer)
    population_at: Mapped[datetime | None] = mapped_column(DateTime)


class GuardDeprovisioning(db.Model):
    """One deprovisioning applied while the guard was armed: the rolling window's count
    reads these (at most the threshold's worth per window; older ones are pruned)."""

    __tablename__ = "guard_deprovisionings"
    __table_args__ = (Index("ix_guard_deprovisionings_org_at", "organization_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    #: A deactivation or deletion (the user left the active users); false for a loss of
    #: the last role-granting group, which leaves the user active.
    left_active: Mapped[bool] = mapped_column(Boolean)


class GuardHeldChange(db.Model):
    """A deprovisioning applied to the SCIM state whose effects on access the guard holds:
    the user's role before it, and the events it caused, kept outside the events stream
    until an admin allows them (their sequence numbers are taken then)."""

    __tablename__ = "guard_held_changes"
    __table_args__ = (
        Index("ix_guard_held_changes_org_id", "organization_id", "id"),
        Index("ix_guard_held_changes_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(36))
    user_name: Mapped[str] = mapped_column(String(256))
    #: "deactivate" or "delete".
    kind: Mapped[str] = mapped_column(String(20))
    #: What the IdP asked, as the request log's attribute changes.
    requested: Mapped[list] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(32))
    token_name: Mapped[str | None] = mapped_column(String(320))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    role_before: Mapped[str | None] = mapped_column(String(20))
    #: The held events as ``[{"type", "data"}]``, in the order they were derived.
    events: Mapped[list] = mapped_column(JSON)


class GuardDecision(db.Model):
    """An admin's (or operator's) decision about one held change: who, when, what. One
    decision over many changes is one row per change, so a change's log entry finds it."""

    __tablename__ = "guard_decisions"
    __table_args__ = (
        Index("ix_guard_decisions_org_at", "organization_id", "decided_at"),
        Index("ix_guard_decisions_org_request", "organization_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    #: "allow_all", "allow_selected" or "keep_holding".
    decision: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(320))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[str] = mapped_column(String(36))
    user_name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(20))
    #: The held change's SCIM request (its log entry).
    request_id: Mapped[str | None] = mapped_column(String(32))
