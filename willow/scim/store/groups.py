"""SCIM Groups over the database, with membership changes applied as deltas.

Adding or removing members inserts or deletes exactly those membership rows
(``INSERT … ON CONFLICT DO NOTHING`` / ``DELETE … RETURNING``): the rest of the member
list is never read or written, so the cost of a change does not grow with the group, and
concurrent PATCHes from several threads or servers cannot lose each other's members.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm.attributes import set_committed_value

from ...storage.extensions import db
from ...storage.models import Group
from ...storage.models import GroupMember
from ...storage.models import User
from ...storage.models import utcnow
from .. import audit
from ..protocol.errors import InvalidCursor
from ..protocol.errors import InvalidValue
from ..protocol.errors import NotFound
from ..protocol.errors import Uniqueness
from ..protocol.filter import parse_filter
from ..protocol.group_patch import AddMembers
from ..protocol.group_patch import ClearMembers
from ..protocol.group_patch import RemoveMembers
from ..protocol.group_patch import ReplaceMembers
from ..protocol.group_patch import SetAttribute
from ..protocol.group_patch import plan_group_patch
from ..protocol.listing import ListQuery
from ..protocol.normalize import normalize_resource
from ..protocol.preconditions import Preconditions
from ..protocol.render import Projection
from ..protocol.render import meta
from ..protocol.render import render_group
from ..protocol.text import is_storable
from .attributes import column_width
from .filter_sql import compile_filter
from .filter_sql import sort_key
from .keyset import Key
from .keyset import Walked
from .keyset import walk
from .uniqueness import flush_unique
from .user_rows import lowered_copy

#: How many member names the request log keeps per change (a full replace of a large
#: group would otherwise store every member twice).
AUDIT_MEMBER_LIMIT = 200
#: Rows per statement for bulk membership inserts and id look-ups.
CHUNK = 500


MEMBERS = GroupMember.__table__
# What the columns hold, read from the model.
_NAME_WIDTH = column_width(Group.__table__.c.display_name)
_NAME_NORM_WIDTH = column_width(Group.__table__.c.display_name_norm)
_EXTERNAL_ID_WIDTH = column_width(Group.__table__.c.external_id)
USERS = User.__table__
# Statements a membership change repeats, built once.
_LIVE_USERS = select(USERS.c.id).where(
    USERS.c.id.in_(bindparam("ids", expanding=True)),
    USERS.c.organization_id == bindparam("organization_id"),
    USERS.c.deleted_at.is_(None),
)
_USER_NAMES = select(USERS.c.id, USERS.c.user_name).where(
    USERS.c.id.in_(bindparam("ids", expanding=True))
)
_MEMBER_IDS = select(MEMBERS.c.user_id).where(MEMBERS.c.group_id == bindparam("group_id"))
_DELETE_MEMBERS = (
    delete(MEMBERS)
    .where(
        MEMBERS.c.group_id == bindparam("group_id"),
        MEMBERS.c.user_id.in_(bindparam("ids", expanding=True)),
    )
    .returning(MEMBERS.c.user_id)
)
_DELETE_ALL_MEMBERS = (
    delete(MEMBERS).where(MEMBERS.c.group_id == bindparam("group_id")).returning(MEMBERS.c.user_id)
)
#: Members of groups with what their representation shows, streamed (RFC 7643 §4.2).
_MEMBERS_OF = (
    select(MEMBERS.c.group_id, USERS.c.id, USERS.c.user_name, USERS.c.display_name)
    .join(USERS, USERS.c.id == MEMBERS.c.user_id)
    .where(MEMBERS.c.group_id.in_(bindparam("group_ids", expanding=True)))
    .order_by(MEMBERS.c.group_id, MEMBERS.c.id)
    .execution_options(yield_per=5000)
)
_TOUCH = (
    update(Group.__table__)
    .where(Group.__table__.c.id == bindparam("group_id"))
    .values(version=bindparam("version"), last_modified_at=bindparam("last_modified_at"))
)


@dataclass
class GroupPage:
    resources: list[dict[str, Any]]
    total: int


def get_group(organization_id: int, group_id: str, *, lock: bool = False) -> Group:
    if not is_storable(group_id):
        raise NotFound(f"Group {group_id!r} not found.")
    stmt = select(Group).where(Group.id == group_id, Group.organization_id == organization_id)
    if lock:
        stmt = stmt.with_for_update()
    group = db.session.scalars(stmt).first()
    if group is None:
        raise NotFound(f"Group {group_id!r} not found.")
    return group


def _ensure_unique_name(organization_id: int, name: str, except_id: str | None) -> None:
    existing = db.session.scalars(
        select(Group.id).where(
            Group.organization_id == organization_id, Group.display_name_norm == name.lower()
        )
    ).first()
    if existing is not None and existing != except_id:
        raise Uniqueness(f"A group with displayName {name!r} already exists.")


def _flush_unique(name: str) -> None:
    flush_unique(f"A group with displayName {name!r} already exists.")


def _set_display_name(group: Group, name: Any) -> bool:
    """Set displayName; True when it changed."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidValue("'displayName' is required and must be a non-empty string.")
    if len(name) > _NAME_WIDTH:
        raise InvalidValue(f"'displayName' is longer than {_NAME_WIDTH} characters.")
    norm = lowered_copy(name, _NAME_NORM_WIDTH, "displayName")
    if norm != group.display_name_norm:
        _ensure_unique_name(group.organization_id, name, group.id)
    changed = name != group.display_name
    if changed:
        audit.change("displayName", group.display_name, name)
    group.display_name = name
    group.display_name_norm = norm
    return changed


def _set_external_id(group: Group, value: Any) -> bool:
    """Set externalId; True when it changed."""
    if value is not None and not isinstance(value, str):
        raise InvalidValue("'externalId' must be a string.")
    if value is not None and len(value) > _EXTERNAL_ID_WIDTH:
        raise InvalidValue(f"'externalId' is longer than {_EXTERNAL_ID_WIDTH} characters.")
    changed = value != group.external_id
    if changed:
        audit.change("externalId", group.external_id, value)
    group.external_id = value
    return changed


def _member_ids(members: Iterable[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    for member in members:
        value = member.get("value")
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _known_users(organization_id: int, ids: list[str]) -> list[str]:
    """The ids among ``ids`` that are live users of this organization, in the given order.
    Unknown ids are reported as warnings on the request log, not as errors: IdPs do not
    retry a 400, so one stale id must not fail the whole push."""
    known: set[str] = set()
    conn = db.session.connection()
    for chunk in _chunks(ids):
        known.update(
            conn.execute(_LIVE_USERS, {"ids": chunk, "organization_id": organization_id})
            .scalars()
            .all()
        )
    unknown = [i for i in ids if i not in known]
    if unknown:
        shown = ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else "")
        audit.warn(f"{len(unknown)} unknown member id(s) skipped: {shown}")
        audit.note("unknown member ids skipped")
    return [i for i in ids if i in known]


def _insert_members(group: Group, user_ids: list[str]) -> list[str]:
    """Insert memberships that do not exist yet; return the ids actually added."""
    added: list[str] = []
    conn = db.session.connection()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    for chunk in _chunks(user_ids):
        stmt = (
            insert(GroupMember)
            .values(
                [
                    {
                        "organization_id": group.organization_id,
                        "group_id": group.id,
                        "user_id": uid,
                        "created_at": now,
                    }
                    for uid in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["group_id", "user_id"])
            .returning(GroupMember.user_id)
        )
        added.extend(conn.execute(stmt).scalars().all())
    return added


def _delete_members(group: Group, user_ids: list[str] | None) -> list[str]:
    """Delete the memberships of ``user_ids`` (all of them when None) and return the ids
    actually removed."""
    conn = db.session.connection()
    if user_ids is None:
        return conn.execute(_DELETE_ALL_MEMBERS, {"group_id": group.id}).scalars().all()
    removed: list[str] = []
    for chunk in _chunks(user_ids):
        removed += conn.execute(_DELETE_MEMBERS, {"group_id": group.id, "ids": chunk}).scalars()
    return removed


def _labels(user_ids: list[str]) -> list[dict[str, Any]]:
    shown = user_ids[:AUDIT_MEMBER_LIMIT]
    conn = db.session.connection()
    names = dict(conn.execute(_USER_NAMES, {"ids": shown}).all()) if shown else {}
    rv = [{"value": uid, "display": names.get(uid)} for uid in shown]
    if len(user_ids) > len(shown):
        rv.append({"value": None, "display": f"… and {len(user_ids) - len(shown)} more"})
    return rv


class MembershipChange:
    """Collects members added and removed over a request, for the log."""

    def __init__(self) -> None:
        self.added: list[str] = []
        self.removed: list[str] = []

    def add(self, ids: list[str]) -> None:
        removed = set(ids) & set(self.removed)
        self.removed = [i for i in self.removed if i not in removed]
        self.added += [i for i in ids if i not in removed]

    def remove(self, ids: list[str]) -> None:
        added = set(ids) & set(self.added)
        self.added = [i for i in self.added if i not in added]
        self.removed += [i for i in ids if i not in added]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def record(self) -> None:
        audit.members_changed(_labels(self.added), _labels(self.removed))
        audit.member_ids(self.added, self.removed)


def _replace_members(group: Group, ids: list[str], change: MembershipChange) -> None:
    """Make the member list exactly ``ids``. A full replace is the one membership change
    that has to read the current list; it is read as ids only and changed in chunks."""
    known = _known_users(group.organization_id, ids)
    current = set(
        db.session.connection().execute(_MEMBER_IDS, {"group_id": group.id}).scalars()
    )
    wanted = set(known)
    stale = [uid for uid in current if uid not in wanted]
    for chunk in _chunks(stale):
        change.remove(_delete_members(group, chunk))
    change.add(_insert_members(group, [uid for uid in known if uid not in current]))


def _touch(group: Group) -> None:
    """A new version. The row is locked by this request, so the version read with it is
    current; the new values are set on the object without reading them back."""
    version, now = group.version + 1, utcnow()
    db.session.connection().execute(
        _TOUCH, {"group_id": group.id, "version": version, "last_modified_at": now}
    )
    set_committed_value(group, "version", version)
    set_committed_value(group, "last_modified_at", now)


def _describe(group: Group, operation: str) -> None:
    audit.describe(
        resource_type="Group", resource_id=group.id, label=group.display_name, operation=operation
    )


def create_group(organization_id: int, body: dict[str, Any]) -> Group:
    resource, notes = normalize_resource("Group", body)
    for text in notes:
        audit.note(text)
    name = resource.get("displayName")
    audit.describe(resource_type="Group", label=name, operation="create")
    now = utcnow()
    group = Group(
        organization_id=organization_id,
        display_name="",
        display_name_norm="",
        created_at=now,
        last_modified_at=now,
        version=1,
    )
    _set_display_name(group, name)
    _set_external_id(group, resource.get("externalId"))
    db.session.add(group)
    _flush_unique(group.display_name)
    _describe(group, "create")
    change = MembershipChange()
    ids = _member_ids(resource.get("members") or [])
    if ids:
        change.add(_insert_members(group, _known_users(organization_id, ids)))
    change.record()
    return group


def replace_group(
    organization_id: int, group_id: str, body: dict[str, Any], preconditions: Preconditions
) -> Group:
    """PUT: displayName, externalId and the member list are replaced exactly."""
    group = get_group(organization_id, group_id, lock=True)
    _describe(group, "update")
    preconditions.check_write(group.version)
    resource, notes = normalize_resource("Group", body)
    for text in notes:
        audit.note(text)
    renamed = _set_display_name(group, resource.get("displayName"))
    attribute_changed = _set_external_id(group, resource.get("externalId")) or renamed
    change = MembershipChange()
    _replace_members(group, _member_ids(resource.get("members") or []), change)
    _flush_unique(group.display_name)
    _finish(group, change, attribute_changed)
    return group


def patch_group(
    organization_id: int, group_id: str, operations: list, preconditions: Preconditions
) -> Group:
    """PATCH: the planned steps, in order, each as a delta (RFC 7644 §3.5.2)."""
    group = get_group(organization_id, group_id, lock=True)
    _describe(group, "update")
    preconditions.check_write(group.version)
    plan = plan_group_patch(group.id, operations)
    for text in plan.notes:
        audit.note(text)
    change = MembershipChange()
    attribute_changed = False
    for step in plan.steps:
        if isinstance(step, SetAttribute):
            setter = _set_display_name if step.name == "displayName" else _set_external_id
            attribute_changed = setter(group, step.value) or attribute_changed
        elif isinstance(step, AddMembers):
            change.add(_insert_members(group, _known_users(organization_id, list(step.ids))))
        elif isinstance(step, RemoveMembers):
            change.remove(_delete_members(group, list(step.ids)))
        elif isinstance(step, ClearMembers):
            change.remove(_delete_members(group, None))
        elif isinstance(step, ReplaceMembers):
            _replace_members(group, list(step.ids), change)
    _flush_unique(group.display_name)
    _finish(group, change, attribute_changed)
    return group


def _finish(group: Group, change: MembershipChange, attribute_changed: bool) -> None:
    """Record what changed; a new version only when something did (JumpCloud re-adds
    members that are already there, Okta resends the unchanged name)."""
    change.record()
    if change.changed or attribute_changed:
        _touch(group)
    _describe(group, "membership" if change.changed and not attribute_changed else "update")


def delete_group(organization_id: int, group_id: str, preconditions: Preconditions) -> None:
    group = get_group(organization_id, group_id, lock=True)
    _describe(group, "delete")
    preconditions.check_write(group.version)
    db.session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    db.session.execute(delete(Group).where(Group.id == group.id))
    db.session.expunge(group)


def group_members(group_ids: list[str], base_url: str) -> dict[str, list[dict[str, Any]]]:
    """Members of several groups in one query, streamed from the cursor."""
    rv: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not group_ids:
        return rv
    users_url = f"{base_url}/Users"
    rows = db.session.connection().execute(_MEMBERS_OF, {"group_ids": group_ids})
    for group_id, user_id, user_name, display_name in rows:
        rv[group_id].append(
            {
                "value": user_id,
                "$ref": f"{users_url}/{user_id}",
                "display": display_name or user_name,
                "type": "User",
            }
        )
    return rv


def represent(
    group: Group,
    base_url: str,
    projection: Projection | None = None,
    *,
    members: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    projection = projection or Projection("Group")
    if members is None and projection.wants("members"):
        members = group_members([group.id], base_url).get(group.id, [])
    rv = render_group(
        group.id,
        group.display_name,
        group.external_id,
        members if projection.wants("members") else None,
        meta(
            "Group",
            group.created_at,
            group.last_modified_at,
            group.version,
            f"{base_url}/Groups/{group.id}",
        ),
    )
    return projection.apply(rv)


def list_conditions(organization_id: int, filter_text: str | None) -> list:
    """The WHERE conditions of a list query: the organization's groups matching the
    filter (RFC 7644 §3.4.2.2), compiled to SQL."""
    conditions = [Group.organization_id == organization_id]
    if filter_text:
        conditions.append(compile_filter(parse_filter(filter_text), "Group"))
    return conditions


def list_groups(organization_id: int, query: ListQuery, base_url: str) -> GroupPage:
    conditions = list_conditions(organization_id, query.filter)
    total = db.session.scalar(select(func.count()).select_from(Group).where(*conditions)) or 0
    if query.count == 0 or total < query.start_index:
        return GroupPage([], total)
    order = []
    if query.sort_by:
        key = sort_key("Group", query.sort_by)
        order.append((key.desc() if query.descending else key.asc()).nulls_last())
    order += [Group.created_at.asc(), Group.id.asc()]
    groups = list(
        db.session.scalars(
            select(Group)
            .where(*conditions)
            .order_by(*order)
            .offset(query.start_index - 1)
            .limit(query.count)
        )
    )
    projection = Projection("Group", query.attributes, query.excluded_attributes)
    return GroupPage(represent_many(groups, projection, base_url), total)


def keyset_keys(query: ListQuery) -> list[Key]:
    """``sortBy`` if given, then (created_at, id): the order index paging uses too."""
    keys = []
    if query.sort_by:
        keys.append(Key(sort_key("Group", query.sort_by), query.descending, nullable=True))
    return keys + [Key(Group.created_at), Key(Group.id)]


def list_groups_by_cursor(
    organization_id: int,
    query: ListQuery,
    position: tuple | None,
    backward: bool,
    base_url: str,
) -> tuple[list[dict[str, Any]], int, Walked]:
    """A cursor page of groups (RFC 9865), read as a range of the (organization,
    created_at, id) index; see :func:`willow.scim.store.users.list_users_by_cursor`."""
    keys = keyset_keys(query)
    if position is not None and len(position) != len(keys):
        raise InvalidCursor()
    conditions = list_conditions(organization_id, query.filter)
    stmt = select(Group.id, *(key.expr for key in keys)).where(*conditions)
    walked = walk(
        lambda s: db.session.execute(s).all(),
        stmt,
        keys,
        lambda row: tuple(row[1:]),
        position,
        backward,
        query.count,
    )
    ids = [row[0] for row in walked.rows]
    loaded = {g.id: g for g in db.session.scalars(select(Group).where(Group.id.in_(ids)))}
    groups = [loaded[group_id] for group_id in ids if group_id in loaded]
    projection = Projection("Group", query.attributes, query.excluded_attributes)
    if position is None and not walked.more_after:
        total = len(ids)
    else:
        total = db.session.scalar(select(func.count()).select_from(Group).where(*conditions))
    return represent_many(groups, projection, base_url), total or 0, walked


def represent_many(
    groups: list[Group], projection: Projection, base_url: str
) -> list[dict[str, Any]]:
    """Several groups, with their members (when wanted) loaded in one query."""
    wanted = projection.wants("members")
    members = group_members([g.id for g in groups], base_url) if wanted else {}
    return [represent(g, base_url, projection, members=members.get(g.id, [])) for g in groups]
