"""Directory queries for the console: provisioned users and groups of one organization.

Every function takes the organization id and filters by it, so an id from another
organization is simply not found. Searches, filters, sorting and member counts are SQL;
nothing loads a table or a group's whole membership to work on it in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import tuple_

from ..storage.extensions import db
from ..storage.models import Group
from ..storage.models import GroupMember
from ..storage.models import User
from ..storage.models import UserValue

PAGE_SIZE = 50

#: ``sort`` argument → the columns the users table is ordered by (id last, for a stable
#: order). userName, created and lastModified are walked in an index
#: (``uq_users_org_user_name_live``, ``ix_users_org_created``, ``ix_users_org_modified``),
#: so their first page does not sort the directory; externalId's ascending order too
#: (``ix_users_org_external_id``).
USER_SORTS = {
    "userName": (User.user_name_norm,),
    "displayName": (func.lower(User.display_name), User.user_name_norm),
    "externalId": (User.external_id,),
    "lastModified": (User.last_modified_at,),
    "created": (User.created_at,),
    "active": (User.active, User.user_name_norm),
}
#: Columns that may be NULL: ordered NULLS LAST (the two databases' defaults differ), so
#: users without one come after the others whichever the direction. A NOT NULL column is
#: ordered plainly: "DESC NULLS LAST" is not an order a PostgreSQL index can be read in.
_NULLABLE_SORT_KEYS = ("displayName", "externalId")
#: ``status`` argument → condition. Deleted (tombstoned) users only appear when asked for.
USER_STATUSES = {
    "": User.deleted_at.is_(None),
    "active": and_(User.deleted_at.is_(None), User.active.is_(True)),
    "deactivated": and_(User.deleted_at.is_(None), User.active.is_(False)),
    "deleted": User.deleted_at.is_not(None),
}


@dataclass(frozen=True)
class Page:
    """One page of an offset-paginated query (what the ``pagination`` macro renders)."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate(stmt: Select, page: int, per_page: int = PAGE_SIZE) -> Page:
    """Rows (not just the first entity) of page ``page``; out-of-range pages are empty."""
    page = max(page, 1)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total)


def like_pattern(text: str) -> str:
    """A case-folded ``LIKE`` pattern matching ``text`` anywhere, with wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def primary_email():
    """Correlated subquery: the user's primary email, else the first one listed."""
    return (
        select(UserValue.value)
        .where(UserValue.user_id == User.id, UserValue.attribute == "emails")
        .order_by(UserValue.primary.desc(), UserValue.position, UserValue.id)
        .limit(1)
        .correlate(User)
        .scalar_subquery()
    )


def users_query(
    organization_id: int,
    q: str = "",
    status: str = "",
    sort: str = "userName",
    descending: bool = False,
) -> Select:
    """Users matching ``q`` (in userName, any name part, displayName or an email), with
    their primary email. Unknown ``status``/``sort`` values fall back to the defaults."""
    stmt = select(User, primary_email().label("email")).where(
        User.organization_id == organization_id, USER_STATUSES.get(status, USER_STATUSES[""])
    )
    q = q.strip()
    if q:
        pattern = like_pattern(q)
        text_columns = (
            User.display_name,
            User.name_formatted,
            User.name_given_name,
            User.name_family_name,
        )
        email_match = exists().where(
            UserValue.user_id == User.id,
            UserValue.organization_id == organization_id,
            UserValue.attribute == "emails",
            UserValue.value_norm.like(pattern, escape="\\"),
        )
        stmt = stmt.where(
            or_(
                User.user_name_norm.like(pattern, escape="\\"),
                *(func.lower(c).like(pattern, escape="\\") for c in text_columns),
                email_match,
            )
        )
    sort = sort if sort in USER_SORTS else "userName"
    ordered = [c.desc() if descending else c.asc() for c in (*USER_SORTS[sort], User.id)]
    if sort in _NULLABLE_SORT_KEYS:
        ordered = [c.nulls_last() for c in ordered]
    return stmt.order_by(*ordered)


def get_user(organization_id: int, user_id: str) -> User | None:
    """A user of the organization, tombstoned ones included (the console shows them marked)."""
    return db.session.scalars(
        select(User).where(User.id == user_id, User.organization_id == organization_id)
    ).first()


def user_groups(organization_id: int, user_id: str) -> list[Group]:
    return list(
        db.session.scalars(
            select(Group)
            .join(GroupMember, GroupMember.group_id == Group.id)
            .where(
                GroupMember.user_id == user_id,
                GroupMember.organization_id == organization_id,
                Group.organization_id == organization_id,
            )
            .order_by(Group.display_name_norm)
        )
    )


def groups_query(organization_id: int, q: str = "") -> Select:
    stmt = select(Group).where(Group.organization_id == organization_id)
    q = q.strip()
    if q:
        stmt = stmt.where(Group.display_name_norm.like(like_pattern(q), escape="\\"))
    return stmt.order_by(Group.display_name_norm, Group.id)


def member_counts(organization_id: int, group_ids: list[str]) -> dict[str, int]:
    """Member count per group, in one grouped query over only the given groups."""
    if not group_ids:
        return {}
    rows = db.session.execute(
        select(GroupMember.group_id, func.count())
        .where(
            GroupMember.organization_id == organization_id,
            GroupMember.group_id.in_(group_ids),
        )
        .group_by(GroupMember.group_id)
    )
    counts = dict.fromkeys(group_ids, 0)
    counts.update({group_id: count for group_id, count in rows})
    return counts


def get_group(organization_id: int, group_id: str) -> Group | None:
    return db.session.scalars(
        select(Group).where(Group.id == group_id, Group.organization_id == organization_id)
    ).first()


def group_members(
    organization_id: int, group_id: str, after: str | None = None, limit: int = PAGE_SIZE
) -> tuple[list[User], bool]:
    """One page of the group's members by userName, and whether another page follows.

    Keyset pagination: ``after`` is the id of the last user of the previous page, so a page
    deep in a 100,000-member group costs the same as the first one.
    """
    stmt = (
        select(User)
        .join(GroupMember, GroupMember.user_id == User.id)
        .where(
            GroupMember.group_id == group_id,
            GroupMember.organization_id == organization_id,
            User.organization_id == organization_id,
            # Tombstoning removes a user's memberships; saying so also lets PostgreSQL
            # walk the live-userName index in order and stop after one page.
            User.deleted_at.is_(None),
        )
        .order_by(User.user_name_norm, User.id)
        .limit(limit + 1)
    )
    if after:
        cursor = db.session.execute(
            select(User.user_name_norm, User.id).where(
                User.id == after, User.organization_id == organization_id
            )
        ).first()
        if cursor is not None:
            stmt = stmt.where(tuple_(User.user_name_norm, User.id) > tuple_(*cursor))
    users = list(db.session.scalars(stmt))
    return users[:limit], len(users) > limit


def member_count(organization_id: int, group_id: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(GroupMember)
        .where(GroupMember.group_id == group_id, GroupMember.organization_id == organization_id)
    )
