"""Writing and reading the membership history (``MembershipChange``).

Written in the change's own transaction by the SCIM group views, next to its events and
its request-log row (``willow.scim.views._commit``), so a request that fails leaves none.
Read by the user's directory page and by the request log's search ``q``, each one
statement on ``ix_membership_changes_org_user``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import literal_column
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..storage.extensions import db
from ..storage.models import Group
from ..storage.models import GroupMember
from ..storage.models import ScimRequestLog
from ..storage.models import User
from ..storage.models import UserValue
from ..storage.models import utcnow
from ..storage.prepared import Prepared
from ..storage.pruning import delete_oldest
from .models import MembershipChange
from .rules import GROUP_DELETED
from .rules import Change

History = MembershipChange
#: How much of a user's history her page shows (newest first).
PAGE_LIMIT = 100
#: Above every character: ``key < prefix + _TOP`` bounds the keys that start with prefix.
_TOP = "\U0010ffff"


#: Every group PATCH runs it: compiled once (``willow.storage.prepared``), as the events' insert.
_INSERT = Prepared(
    insert(History),
    column_keys=(
        "organization_id",
        "user_id",
        "group_id",
        "group_name",
        "change",
        "request_id",
        "occurred_at",
    ),
)


def record(
    conn: Connection,
    organization_id: int,
    changes: list[Change],
    request_id: str | None,
    now: datetime | None = None,
) -> int:
    """Insert ``changes`` in the caller's transaction (one driver call); how many."""
    if not changes:
        return 0
    at = now or utcnow()
    _INSERT.execute_many(
        conn,
        [
            {
                "organization_id": organization_id,
                "user_id": c.user_id,
                "group_id": c.group_id,
                "group_name": c.group_name,
                "change": c.change,
                "request_id": request_id,
                "occurred_at": at,
            }
            for c in changes
        ],
    )
    return len(changes)


def record_group_deleted(
    conn: Connection,
    organization_id: int,
    group_id: str,
    request_id: str | None,
    now: datetime | None = None,
) -> None:
    """Before a group is deleted (with its memberships): each member leaves it, in one
    ``INSERT … SELECT`` however many members (nothing is read into Python)."""
    members = (
        select(
            literal(organization_id),
            GroupMember.user_id,
            Group.id,
            Group.display_name,
            literal(GROUP_DELETED),
            literal(request_id),
            literal(now or utcnow()),
        )
        .join(Group, Group.id == GroupMember.group_id)
        .where(
            GroupMember.group_id == group_id,
            GroupMember.organization_id == organization_id,
            Group.organization_id == organization_id,
        )
    )
    columns = [
        "organization_id",
        "user_id",
        "group_id",
        "group_name",
        "change",
        "request_id",
        "occurred_at",
    ]
    conn.execute(insert(History).from_select(columns, members))


@dataclass(frozen=True)
class Entry:
    group_id: str
    group_name: str | None
    change: str
    occurred_at: datetime
    #: The request log entry that made the change (None once pruned or for no request).
    log_id: int | None
    #: Whether the group still exists (for a link to its page).
    group_exists: bool


def history_of(organization_id: int, user_id: str, limit: int = PAGE_LIMIT) -> list[Entry]:
    """The user's membership changes, newest first, each with its log entry: one query
    (the history's user index, then the log's ``ix_scim_logs_org_request`` and the
    groups' primary key per row)."""
    log_id = (
        select(ScimRequestLog.id)
        .where(
            ScimRequestLog.organization_id == organization_id,
            # The partial index's predicate, as a literal (SQLite matches it as written).
            ScimRequestLog.resource_type == literal_column("'Group'"),
            ScimRequestLog.request_id == History.request_id,
        )
        .order_by(ScimRequestLog.id)
        .limit(1)
        .correlate(History)
        .scalar_subquery()
    )
    group_exists = (
        select(Group.id)
        .where(Group.id == History.group_id, Group.organization_id == organization_id)
        .correlate(History)
        .exists()
    )
    stmt = (
        select(
            History.group_id,
            History.group_name,
            History.change,
            History.occurred_at,
            log_id,
            group_exists,
        )
        .where(History.organization_id == organization_id, History.user_id == user_id)
        .order_by(History.occurred_at.desc(), History.id.desc())
        .limit(limit)
    )
    return [Entry(*row) for row in db.session.execute(stmt)]


#: A search naming more users than this (``q=user``) is a search of the log's labels, not
#: of a user's story: the group requests of thousands of users would be counted for it.
MAX_NAMED_USERS = 50


def users_named(organization_id: int, text: str) -> tuple[str, ...]:
    """The ids of the users ``q`` names: the id itself, a live userName or an email
    starting with ``text`` (any case); none when it names more than MAX_NAMED_USERS. One
    query, each part on its own index (the primary key, ``uq_users_org_user_name_live``,
    ``ix_user_values_org_attr_value``), reading at most MAX_NAMED_USERS + 1 ids."""
    key = text.lower()
    by_id = select(User.id.label("user_id")).where(
        User.organization_id == organization_id, User.id == text
    )
    by_name = select(User.id.label("user_id")).where(
        User.organization_id == organization_id,
        User.deleted_at.is_(None),
        _prefix(User.user_name_norm, key),
    )
    by_email = select(UserValue.user_id.label("user_id")).where(
        UserValue.organization_id == organization_id,
        UserValue.attribute == "emails",
        _prefix(UserValue.value_norm, key),
    )
    named = by_id.union(by_name, by_email).subquery()
    ids = db.session.scalars(select(named.c.user_id).limit(MAX_NAMED_USERS + 1)).all()
    return tuple(ids) if len(ids) <= MAX_NAMED_USERS else ()


def requests_naming(organization_id: int, user_ids: tuple[str, ...]) -> Select:
    """The request ids of the membership changes of ``user_ids``."""
    return select(History.request_id).where(
        History.organization_id == organization_id,
        History.user_id.in_(user_ids),
        History.request_id.isnot(None),
    )


def _prefix(column, prefix: str) -> ColumnElement[bool]:
    return and_(column >= prefix, column < prefix + _TOP)


def prune_history(older_than_days: int, *, batch_size: int, now: datetime | None = None) -> int:
    """Delete changes older than ``older_than_days`` days, as the request log's entries
    are (``willow.monitor.retention``); how many. Needs an app context."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    return delete_oldest(History.id, History.occurred_at < cutoff, History.occurred_at, batch_size)
