"""Effective Willow roles before and after a change, for ``access.changed``.

A user's effective role is the most powerful role of the groups they belong to
(``willow.sso.matching.highest_role``), none while deactivated or deleted
(``willow.console.access``). Roles are read in bulk: one statement per chunk of users, never one
per user, so a PATCH that adds 50,000 members to a mapped group reads them in a few
dozen statements. Every read runs on the change's own connection, inside its transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..storage.models import ROLES
from ..storage.models import Group
from ..storage.models import GroupMember
from ..storage.models import User
from ..storage.prepared import Prepared
from .derive import RoleChange

USERS = User.__table__
GROUPS = Group.__table__
MEMBERS = GroupMember.__table__
#: Ids per statement: well under SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 2000

_USER_ROWS = select(USERS.c.id, USERS.c.user_name, USERS.c.active, USERS.c.deleted_at).where(
    USERS.c.id.in_(bindparam("ids", expanding=True))
)
#: The roles granted to users by their groups, leaving out one group (the one changing).
_ROLES_OF = (
    select(MEMBERS.c.user_id, GROUPS.c.role)
    .join(GROUPS, GROUPS.c.id == MEMBERS.c.group_id)
    .where(
        MEMBERS.c.user_id.in_(bindparam("ids", expanding=True)),
        GROUPS.c.role.is_not(None),
        MEMBERS.c.group_id != bindparam("except_group"),
    )
)
#: The same for one user, on every deactivation, reactivation and deletion: compiled
#: once and run on the DBAPI cursor (``willow.storage.prepared``), as the other statements of a
#: SCIM request are.
_ROLES_OF_USER = Prepared(
    select(GROUPS.c.role)
    .join(MEMBERS, MEMBERS.c.group_id == GROUPS.c.id)
    .where(MEMBERS.c.user_id == bindparam("user_id"), GROUPS.c.role.is_not(None))
)
_MEMBERS = (
    select(USERS.c.id, USERS.c.user_name, USERS.c.active, USERS.c.deleted_at)
    .join(MEMBERS, MEMBERS.c.user_id == USERS.c.id)
    .where(MEMBERS.c.group_id == bindparam("group_id"))
)
_OTHER_ROLES_OF_MEMBERS = (
    select(MEMBERS.c.user_id, GROUPS.c.role)
    .join(GROUPS, GROUPS.c.id == MEMBERS.c.group_id)
    .where(
        GROUPS.c.role.is_not(None),
        MEMBERS.c.group_id != bindparam("group_id"),
        MEMBERS.c.user_id.in_(
            select(MEMBERS.c.user_id).where(MEMBERS.c.group_id == bindparam("group_id"))
        ),
    )
)


def highest_role(roles: Iterable[str]) -> str | None:
    """``ROLES`` is ordered from most to least powerful."""
    held = set(roles)
    return next((role for role in ROLES if role in held), None)


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def user_rows(conn: Connection, ids: list[str]) -> dict[str, Any]:
    """id → (userName, live and active) of the given users."""
    rv: dict[str, Any] = {}
    for chunk in _chunks(ids):
        for uid, name, active, deleted_at in conn.execute(_USER_ROWS, {"ids": chunk}):
            rv[uid] = (name, bool(active) and deleted_at is None)
    return rv


def other_roles(conn: Connection, ids: list[str], except_group: str = "") -> dict[str, set[str]]:
    """id → the roles the user's groups other than ``except_group`` grant (any status)."""
    rv: dict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(ids):
        for uid, role in conn.execute(_ROLES_OF, {"ids": chunk, "except_group": except_group}):
            rv[uid].add(role)
    return rv


def user_role(conn: Connection, user_id: str) -> str | None:
    """The most powerful role the user's groups grant (whatever the user's status)."""
    return highest_role(row["role"] for row in _ROLES_OF_USER.rows(conn, {"user_id": user_id}))


def _user(uid: str, name: str | None) -> dict[str, Any]:
    return {"id": uid, "userName": name}


def _group(group_id: str, display_name: str) -> dict[str, Any]:
    return {"id": group_id, "displayName": display_name}


def membership_changes(
    conn: Connection,
    group_id: str,
    display_name: str,
    role: str | None,
    added: list[str],
    removed: list[str],
    names: dict[str, Any],
) -> list[RoleChange]:
    """Members joined or left a group that grants ``role``: who gained, lost or changed
    role. ``names`` is ``user_rows`` of the members (already read for the member events)."""
    if role is None or not (added or removed):
        return []
    others = other_roles(conn, added + removed, group_id)
    group = _group(group_id, display_name)
    rv = []
    for ids, joined in ((removed, False), (added, True)):
        for uid in ids:
            name, live = names.get(uid, (None, False))
            if not live:
                continue
            without = highest_role(others.get(uid, ()))
            with_group = highest_role({*others.get(uid, ()), role})
            before, after = (without, with_group) if joined else (with_group, without)
            rv.append(RoleChange(_user(uid, name), before, after, "membership", group))
    return rv


def status_change(
    conn: Connection, user_id: str, user_name: str, operation: str
) -> list[RoleChange]:
    """A user was deactivated or reactivated: the roles of their groups go or come back."""
    role = user_role(conn, user_id)
    if role is None:
        return []
    user = _user(user_id, user_name)
    if operation == "deactivate":
        return [RoleChange(user, role, None, "deactivated")]
    return [RoleChange(user, None, role, "reactivated")]


def role_before_delete(
    conn: Connection, user_id: str, user_name: str, active: bool
) -> list[RoleChange]:
    """Read before a user is deleted (the delete removes their memberships)."""
    role = user_role(conn, user_id) if active else None
    return [RoleChange(_user(user_id, user_name), role, None, "deleted")] if role else []


def group_role_changes(
    conn: Connection, group_id: str, display_name: str, before: str | None, after: str | None,
    reason: str,
) -> list[RoleChange]:
    """The group's members' roles when the group's own role goes from ``before`` to
    ``after`` (a mapping change, or ``after`` None for a deleted group). Two statements,
    whatever the group's size; read before the change."""
    if before == after:
        return []
    members = conn.execute(_MEMBERS, {"group_id": group_id}).all()
    if not members:
        return []
    others: dict[str, set[str]] = defaultdict(set)
    for uid, role in conn.execute(_OTHER_ROLES_OF_MEMBERS, {"group_id": group_id}):
        others[uid].add(role)
    group = _group(group_id, display_name)
    rv = []
    for uid, name, active, deleted_at in members:
        if not active or deleted_at is not None:
            continue
        held = others.get(uid, set())
        was = highest_role(held | ({before} if before else set()))
        now = highest_role(held | ({after} if after else set()))
        if was != now:
            rv.append(RoleChange(_user(uid, name), was, now, reason, group))
    return rv
