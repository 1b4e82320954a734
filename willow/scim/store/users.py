"""SCIM Users over the database (RFC 7644 §3.3-§3.6): the rules, not the HTTP.

Services flush and never commit; the view commits once per request. Every query is
scoped by organization and leaves tombstoned (DELETEd) users out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from ...extensions import db
from ...models import Group
from ...models import GroupMember
from ...models import User
from ...models import UserValue
from ...models import utcnow
from .. import audit
from ..http import collection_url
from ..http import resource_location
from ..protocol.errors import NotFound
from ..protocol.errors import Uniqueness
from ..protocol.filter import parse_filter
from ..protocol.listing import ListQuery
from ..protocol.normalize import normalize_resource
from ..protocol.patch import apply_patch
from ..protocol.patch import diff
from ..protocol.render import Projection
from ..protocol.render import meta
from ..protocol.render import render_user
from ..protocol.text import is_storable
from .filter_sql import compile_filter
from .filter_sql import sort_key
from .uniqueness import flush_unique
from .user_mapping import user_to_resource
from .user_mapping import write_resource


@dataclass
class UserPage:
    resources: list[dict[str, Any]]
    total: int


def _live(organization_id: int):
    return (User.organization_id == organization_id, User.deleted_at.is_(None))


def get_user(organization_id: int, user_id: str, *, lock: bool = False) -> User:
    """The live user with this id in this organization; another organization's id, an
    unknown id and a deleted user are all 404 (so is an id no row can hold)."""
    if not is_storable(user_id):
        raise NotFound(f"User {user_id!r} not found.")
    stmt = select(User).where(User.id == user_id, *_live(organization_id))
    if lock:
        stmt = stmt.with_for_update()
    user = db.session.scalars(stmt).first()
    if user is None:
        raise NotFound(f"User {user_id!r} not found.")
    return user


def _ensure_unique_user_name(organization_id: int, user_name: str, except_id: str | None) -> None:
    stmt = select(User.id).where(User.user_name_norm == user_name.lower(), *_live(organization_id))
    existing = db.session.scalars(stmt).first()
    if existing is not None and existing != except_id:
        raise Uniqueness(f"userName {user_name!r} is already in use.")


def _flush_unique(user_name: str) -> None:
    flush_unique(f"userName {user_name!r} is already in use.")


def _describe(user: User, operation: str) -> None:
    audit.describe(
        resource_type="User", resource_id=user.id, label=user.user_name, operation=operation
    )


def _note_all(notes: list[str]) -> None:
    for text in notes:
        audit.note(text)


def _record_changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Store the attribute-level diff on the request's audit record; return the operation
    name the change amounts to."""
    for item in diff(before, after):
        audit.current().changes.append(item)
    was, now = before.get("active", True), after.get("active", True)
    if was and not now:
        return "deactivate"
    if not was and now:
        return "reactivate"
    return "update"


def _touch(user: User) -> None:
    user.version = (user.version or 1) + 1
    user.last_modified_at = utcnow()


def create_user(organization_id: int, body: dict[str, Any]) -> User:
    resource, notes = normalize_resource("User", body)
    _note_all(notes)
    audit.describe(resource_type="User", label=resource.get("userName"), operation="create")
    _ensure_unique_user_name(organization_id, resource["userName"], None)
    now = utcnow()
    user = User(
        organization_id=organization_id,
        created_at=now,
        last_modified_at=now,
        version=1,
        active=True,
    )
    resource.setdefault("active", True)
    write_resource(user, resource)
    db.session.add(user)
    _flush_unique(user.user_name)
    _describe(user, "create")
    for item in diff({}, resource):
        audit.current().changes.append(item)
    return user


def replace_user(organization_id: int, user_id: str, body: dict[str, Any]) -> User:
    """PUT: replace every writable attribute. ``active`` is kept when the body omits it:
    a client that does not manage it must not deactivate anyone by accident."""
    user = get_user(organization_id, user_id, lock=True)
    _describe(user, "update")
    resource, notes = normalize_resource("User", body)
    _note_all(notes)
    before = user_to_resource(user)
    if "active" not in resource:
        resource["active"] = user.active
        audit.note("active not sent: current value kept")
    _store(organization_id, user, before, resource)
    return user


def patch_user(organization_id: int, user_id: str, operations: list) -> User:
    user = get_user(organization_id, user_id, lock=True)
    _describe(user, "update")
    before = user_to_resource(user)
    after, notes = apply_patch("User", before, operations, resource_id=user.id)
    _note_all(notes)
    _store(organization_id, user, before, after)
    return user


def _store(organization_id: int, user: User, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Write an updated resource: uniqueness, row values, the audit diff, the version."""
    if after.get("userName", "").lower() != user.user_name_norm:
        _ensure_unique_user_name(organization_id, after["userName"], user.id)
    write_resource(user, after)
    operation = _record_changes(before, after)
    if before != after:
        _touch(user)
    _flush_unique(user.user_name)
    _describe(user, operation)


def delete_user(organization_id: int, user_id: str) -> None:
    """DELETE keeps the account for audit: deactivated, tombstoned, out of every group,
    and gone from the SCIM API. Its userName is free again."""
    user = get_user(organization_id, user_id, lock=True)
    _describe(user, "delete")
    group_ids = list(
        db.session.scalars(select(GroupMember.group_id).where(GroupMember.user_id == user.id))
    )
    if group_ids:
        db.session.execute(delete(GroupMember).where(GroupMember.user_id == user.id))
        db.session.execute(
            update(Group)
            .where(Group.id.in_(group_ids))
            .values(version=Group.version + 1, last_modified_at=utcnow())
        )
    audit.change("active", user.active, False)
    user.active = False
    user.deleted_at = utcnow()
    _touch(user)
    db.session.flush()


def user_groups(user_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The read-only ``groups`` attribute for several users, in one query."""
    rv: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not user_ids:
        return rv
    rows = db.session.execute(
        select(GroupMember.user_id, Group.id, Group.display_name)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.user_id.in_(user_ids))
        .order_by(Group.display_name_norm, Group.id)
    )
    groups_url = collection_url("Group")
    for user_id, group_id, display_name in rows:
        rv[user_id].append(
            {
                "value": group_id,
                "$ref": f"{groups_url}/{group_id}",
                "display": display_name,
                "type": "direct",
            }
        )
    return rv


def represent(
    user: User,
    projection: Projection | None = None,
    *,
    groups: list[dict[str, Any]] | None = None,
    values: list[UserValue] | None = None,
) -> dict[str, Any]:
    projection = projection or Projection("User")
    if groups is None:
        groups = user_groups([user.id]).get(user.id, []) if projection.wants("groups") else []
    rv = render_user(
        user.id,
        user_to_resource(user, values),
        groups,
        meta(
            "User",
            user.created_at,
            user.last_modified_at,
            user.version,
            resource_location("User", user.id),
        ),
    )
    return projection.apply(rv)


def list_conditions(organization_id: int, filter_text: str | None) -> list:
    """The WHERE conditions of a list query: live users of the organization matching
    the filter (RFC 7644 §3.4.2.2), compiled to SQL."""
    conditions = list(_live(organization_id))
    if filter_text:
        conditions.append(compile_filter(parse_filter(filter_text), "User"))
    return conditions


def list_users(organization_id: int, query: ListQuery) -> UserPage:
    """Filter, sort and page in SQL; then load the page's values and groups in bulk."""
    conditions = list_conditions(organization_id, query.filter)
    total = db.session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    if query.count == 0 or total < query.start_index:
        return UserPage([], total)
    order = []
    if query.sort_by:
        key = sort_key("User", query.sort_by)
        order.append((key.desc() if query.descending else key.asc()).nulls_last())
    order += [User.created_at.asc(), User.id.asc()]
    users = list(
        db.session.scalars(
            select(User)
            .where(*conditions)
            .order_by(*order)
            .offset(query.start_index - 1)
            .limit(query.count)
        )
    )
    projection = Projection("User", query.attributes, query.excluded_attributes)
    return UserPage(represent_many(users, projection), total)


def represent_many(users: list[User], projection: Projection) -> list[dict[str, Any]]:
    """Several users, with their values and groups loaded in one query each."""
    ids = [u.id for u in users]
    values: dict[str, list[UserValue]] = defaultdict(list)
    if ids:
        for row in db.session.scalars(select(UserValue).where(UserValue.user_id.in_(ids))):
            values[row.user_id].append(row)
    groups = user_groups(ids) if projection.wants("groups") else {}
    return [
        represent(u, projection, groups=groups.get(u.id, []), values=values.get(u.id, []))
        for u in users
    ]
