"""SCIM Users over the database (RFC 7644 §3.3-§3.6): the rules, not the HTTP.

SQLAlchemy Core on the request's connection: one statement reads a user with its
multi-valued attributes and its groups (a JSON aggregate per child table), and the
statements a request repeats are built once, at import. Writes lock the row they change
with that same read and check the request's preconditions under that lock; functions
never commit (the view does, once). Every query is scoped by organization and leaves
tombstoned (DELETEd) users out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection

from ...storage.models import Group
from ...storage.models import GroupMember
from ...storage.models import new_id
from ...storage.models import utcnow
from ...storage.prepared import Prepared
from ...storage.prepared import dbapi_errors
from .. import audit
from ..protocol.errors import InvalidCursor
from ..protocol.errors import NotFound
from ..protocol.errors import Uniqueness
from ..protocol.filter import parse_filter
from ..protocol.listing import ListQuery
from ..protocol.normalize import normalize_resource
from ..protocol.patch import apply_patch
from ..protocol.patch import diff
from ..protocol.preconditions import Preconditions
from ..protocol.render import Projection
from ..protocol.render import meta
from ..protocol.render import render_user
from ..protocol.text import is_storable
from .attributes import MULTI_VALUED
from .attributes import USERS
from .attributes import VALUE_COLUMNS
from .attributes import VALUES
from .filter_sql import compile_filter
from .filter_sql import equality
from .filter_sql import sort_key
from .keyset import Key
from .keyset import Walked
from .keyset import walk
from .sql import json_rows
from .user_rows import columns_from_resource
from .user_rows import resource_from_row
from .user_rows import value_rows

GROUPS = Group.__table__
MEMBERS = GroupMember.__table__


@dataclass
class StoredUser:
    """A user as read (or just written): its canonical dict and what the store keeps
    beside it."""

    id: str
    resource: dict[str, Any]
    #: (group id, displayName) of the groups the user is a direct member of.
    groups: list[tuple[str, str]]
    version: int
    created: datetime
    modified: datetime

    @property
    def user_name(self) -> str:
        return self.resource["userName"]


# --- Reading ---------------------------------------------------------------------------

_VALUES_JSON = (
    select(json_rows(VALUES.c.attribute, VALUES.c.position, *VALUE_COLUMNS.values()))
    .where(VALUES.c.user_id == USERS.c.id)
    .scalar_subquery()
    .label("values_json")
)
_GROUPS_JSON = (
    select(json_rows(GROUPS.c.id, GROUPS.c.display_name, GROUPS.c.display_name_norm))
    .select_from(MEMBERS.join(GROUPS, GROUPS.c.id == MEMBERS.c.group_id))
    .where(MEMBERS.c.user_id == USERS.c.id)
    .scalar_subquery()
    .label("groups_json")
)
#: A user row with its value rows and groups: the one read of every request on a user.
_READ = select(USERS, _VALUES_JSON, _GROUPS_JSON)
_BY_ID = _READ.where(
    USERS.c.id == bindparam("id"),
    USERS.c.organization_id == bindparam("organization_id"),
    USERS.c.deleted_at.is_(None),
)
_BY_ID_LOCKED = _BY_ID.with_for_update(of=USERS)
_BY_IDS = _READ.where(USERS.c.id.in_(bindparam("ids", expanding=True)))
#: Writes by the columns they set, compiled once (``willow.storage.prepared``); the set of
#: columns is fixed for INSERTs and varies with what changed for UPDATEs, so the cache is
#: bounded and a rare combination past the bound is compiled for its request alone.
_WRITES: dict[tuple, Prepared] = {}
_WRITES_MAX = 512
_UPDATE_USER = update(USERS).where(USERS.c.id == bindparam("user_id"))
_DELETE_VALUES = Prepared(
    delete(VALUES).where(
        VALUES.c.user_id == bindparam("user_id"), VALUES.c.attribute == bindparam("attribute")
    )
)


def _write(stmt: Any, keys: tuple[str, ...]) -> Prepared:
    """``stmt`` (an INSERT or ``_UPDATE_USER``) setting the columns ``keys``."""
    found = _WRITES.get((stmt, keys))
    if found is None:
        found = Prepared(stmt, column_keys=keys)
        if len(_WRITES) < _WRITES_MAX:
            _WRITES[(stmt, keys)] = found
    return found


_INSERT_USER = insert(USERS)
_INSERT_VALUES = insert(VALUES)


def _insert_values(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        _write(_INSERT_VALUES, tuple(rows[0])).execute_many(conn, rows)


#: The reads every request on a user makes, run on the DBAPI cursor (``willow.storage.prepared``).
_READ_BY_ID = Prepared(_BY_ID)
_READ_BY_ID_LOCKED = Prepared(_BY_ID_LOCKED)


def _json(value: Any) -> list:
    """A JSON aggregate as Python (psycopg parses it, SQLite's comes as parsed JSON too
    through the column type; NULL means no rows)."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else value


def _stored(mapping: Any) -> StoredUser:
    """The user of a row read by ``_READ`` (a mapping: column name → value)."""
    groups = sorted(_json(mapping["groups_json"]), key=lambda g: (g[2], g[0]))
    return StoredUser(
        id=mapping["id"],
        resource=resource_from_row(mapping, _json(mapping["values_json"])),
        groups=[(g[0], g[1]) for g in groups],
        version=mapping["version"],
        created=mapping["created_at"],
        modified=mapping["last_modified_at"],
    )


def get_user(
    conn: Connection, organization_id: int, user_id: str, *, lock: bool = False
) -> StoredUser:
    """The live user with this id in this organization; another organization's id, an
    unknown id and a deleted user are all 404 (so is an id no row can hold)."""
    if not is_storable(user_id):
        raise NotFound(f"User {user_id!r} not found.")
    read = _READ_BY_ID_LOCKED if lock else _READ_BY_ID
    row = read.first(conn, {"id": user_id, "organization_id": organization_id})
    if row is None:
        raise NotFound(f"User {user_id!r} not found.")
    user = _stored(row)
    audit.describe(resource_type="User", resource_id=user.id, label=user.user_name)
    return user


def represent(user: StoredUser, base_url: str, projection: Projection) -> dict[str, Any]:
    """The SCIM representation of ``user`` under ``base_url`` (``…/scim/v2``)."""
    groups_url = f"{base_url}/Groups"
    groups = [
        {"value": gid, "$ref": f"{groups_url}/{gid}", "display": name, "type": "direct"}
        for gid, name in user.groups
    ]
    rv = render_user(
        user.id,
        user.resource,
        groups,
        meta("User", user.created, user.modified, user.version, f"{base_url}/Users/{user.id}"),
    )
    return projection.apply(rv)


def _live(organization_id: int) -> list:
    return [USERS.c.organization_id == organization_id, USERS.c.deleted_at.is_(None)]


def list_conditions(organization_id: int, filter_text: str | None) -> list:
    """The WHERE conditions of a list query: live users of the organization matching
    the filter (RFC 7644 §3.4.2.2), compiled to SQL."""
    conditions = _live(organization_id)
    if filter_text:
        conditions.append(compile_filter(parse_filter(filter_text), "User"))
    return conditions


#: A page of users with one column equal to a value, read whole in one statement: the
#: statement of IdPs' lookups (``userName eq "…"``), built once per column.
_BY_EQUALITY: dict[str, Prepared] = {}


def _by_equality(column: Any) -> Prepared:
    stmt = _BY_EQUALITY.get(column.name)
    if stmt is None:
        stmt = _BY_EQUALITY[column.name] = Prepared(
            _READ.where(
                USERS.c.organization_id == bindparam("organization_id"),
                USERS.c.deleted_at.is_(None),
                column == bindparam("value"),
            )
            .order_by(USERS.c.created_at.asc(), USERS.c.id.asc())
            .offset(bindparam("offset"))
            .limit(bindparam("limit"))
        )
    return stmt


def list_users(
    conn: Connection, organization_id: int, query: ListQuery, base_url: str
) -> tuple[list[dict[str, Any]], int]:
    """A page of users and the number of matches. An IdP's lookup (one attribute ``eq`` a
    value) reads its page whole in one statement built once; any other filter reads the
    page's ids (filter, order, offset), then the users by a statement built once, in one
    read transaction. The total is counted only when the page cannot tell it: a first
    page that is not full holds every match (a lookup, hit or miss, is one statement)."""
    node = parse_filter(query.filter) if query.filter else None
    lookup = equality(node, "User") if node is not None and not query.sort_by else None

    def conditions() -> list:
        where = _live(organization_id)
        if node is not None:
            where.append(
                lookup[0] == lookup[1] if lookup is not None else compile_filter(node, "User")
            )
        return where

    def count() -> int:
        return conn.execute(
            select(func.count()).select_from(USERS).where(*conditions())
        ).scalar_one()

    if query.count == 0:
        return [], count()
    projection = Projection("User", query.attributes, query.excluded_attributes)
    if lookup is not None:
        rows = _by_equality(lookup[0]).rows(
            conn,
            {
                "organization_id": organization_id,
                "value": lookup[1],
                "offset": query.start_index - 1,
                "limit": query.count,
            },
        )
        page = [row["id"] for row in rows]
        rendered = {row["id"]: represent(_stored(row), base_url, projection) for row in rows}
    else:
        if not conn.in_transaction():
            conn.begin()  # the ids and the users from one snapshot
        order = []
        if query.sort_by:
            key = sort_key("User", query.sort_by)
            order.append((key.desc() if query.descending else key.asc()).nulls_last())
        order += [USERS.c.created_at.asc(), USERS.c.id.asc()]
        page = conn.execute(
            select(USERS.c.id)
            .where(*conditions())
            .order_by(*order)
            .offset(query.start_index - 1)
            .limit(query.count)
        ).scalars().all()
        rendered = represent_ids(conn, page, base_url, projection)
    if len(page) < query.count and (page or query.start_index == 1):
        # The page ended before it was full: the matches end on it.
        total = query.start_index - 1 + len(page)
    else:
        total = count()
    if lookup is not None:
        # The request log labels an IdP's lookup with the value looked for and the user
        # found, so that the console's search finds it beside that user's other requests.
        found = page[0] if total == 1 and page else None
        audit.describe(label=node.value, resource_id=found)
    return [rendered[user_id] for user_id in page], total


def keyset_keys(query: ListQuery) -> list[Key]:
    """The listing's order as keyset keys: ``sortBy`` if given, then the index's
    (created_at, id), the order index paging uses too."""
    keys = []
    if query.sort_by:
        keys.append(Key(sort_key("User", query.sort_by), query.descending, nullable=True))
    return keys + [Key(USERS.c.created_at), Key(USERS.c.id)]


def list_users_by_cursor(
    conn: Connection,
    organization_id: int,
    query: ListQuery,
    position: tuple | None,
    backward: bool,
    base_url: str,
) -> tuple[list[dict[str, Any]], int, Walked]:
    """A cursor page of users (RFC 9865): the page after (or before) ``position``, read
    as a range of the (organization, created_at, id) index, the number of matches, and
    the walk's state either side of the page."""
    keys = keyset_keys(query)
    if position is not None and len(position) != len(keys):
        raise InvalidCursor()
    conditions = list_conditions(organization_id, query.filter)
    if not conn.in_transaction():
        conn.begin()  # the page, its neighbours' existence and the users from one snapshot
    stmt = select(USERS.c.id, *(key.expr for key in keys)).where(*conditions)
    walked = walk(
        lambda s: conn.execute(s).all(),
        stmt,
        keys,
        lambda row: tuple(row[1:]),
        position,
        backward,
        query.count,
    )
    ids = [row[0] for row in walked.rows]
    projection = Projection("User", query.attributes, query.excluded_attributes)
    rendered = represent_ids(conn, ids, base_url, projection)
    if position is None and not walked.more_after:
        total = len(ids)  # a first page that holds every match
    else:
        total = conn.execute(
            select(func.count()).select_from(USERS).where(*conditions)
        ).scalar_one()
    return [rendered[user_id] for user_id in ids if user_id in rendered], total, walked


def represent_ids(
    conn: Connection, ids: list[str], base_url: str, projection: Projection
) -> dict[str, dict[str, Any]]:
    """Several users by id (a page of a search across resource types), id → representation."""
    if not ids:
        return {}
    rows = conn.execute(_BY_IDS, {"ids": ids})
    return {row.id: represent(_stored(row._mapping), base_url, projection) for row in rows}


# --- Writing ---------------------------------------------------------------------------


def _note_all(notes: list[str]) -> None:
    for text in notes:
        audit.note(text)


def _duplicate(user_name: str) -> Uniqueness:
    return Uniqueness(f"userName {user_name!r} is already in use.")


def create_user(conn: Connection, organization_id: int, body: dict[str, Any]) -> StoredUser:
    resource, notes = normalize_resource("User", body)
    _note_all(notes)
    audit.describe(resource_type="User", label=resource.get("userName"), operation="create")
    resource.setdefault("active", True)
    columns = columns_from_resource(resource)
    now = utcnow()
    user = StoredUser(new_id(), resource, [], 1, now, now)
    row = {
        **columns,
        "id": user.id,
        "organization_id": organization_id,
        "created_at": now,
        "last_modified_at": now,
        "version": 1,
    }
    try:
        _write(_INSERT_USER, tuple(row)).execute(conn, row)
    except dbapi_errors(conn).IntegrityError:
        # The partial unique index on (organization, lower(userName)) of live users
        # decides, so racing creates cannot both win; the error handler rolls back.
        raise _duplicate(resource["userName"]) from None
    extra = {"organization_id": organization_id, "user_id": user.id}
    _insert_values(
        conn,
        [
            {**row, **extra}
            for attribute in MULTI_VALUED
            for row in value_rows(resource, attribute)
        ],
    )
    audit.describe(resource_id=user.id)
    audit.current().changes.extend(diff({}, resource))
    return user


def replace_user(
    conn: Connection,
    organization_id: int,
    user_id: str,
    body: dict[str, Any],
    preconditions: Preconditions,
) -> StoredUser:
    """PUT: replace every writable attribute. ``active`` is kept when the body omits it:
    a client that does not manage it must not deactivate anyone by accident."""
    user = get_user(conn, organization_id, user_id, lock=True)
    audit.describe(operation="update")
    preconditions.check_write(user.version)
    resource, notes = normalize_resource("User", body)
    _note_all(notes)
    if "active" not in resource:
        resource["active"] = user.resource.get("active", True)
        audit.note("active not sent: current value kept")
    return _store(conn, organization_id, user, resource)


def patch_user(
    conn: Connection,
    organization_id: int,
    user_id: str,
    operations: list,
    preconditions: Preconditions,
) -> StoredUser:
    user = get_user(conn, organization_id, user_id, lock=True)
    audit.describe(operation="update")
    preconditions.check_write(user.version)
    after, notes = apply_patch("User", user.resource, operations, resource_id=user.id)
    _note_all(notes)
    return _store(conn, organization_id, user, after)


def _operation(before: dict[str, Any], after: dict[str, Any]) -> str:
    was, now = before.get("active", True), after.get("active", True)
    if was and not now:
        return "deactivate"
    if not was and now:
        return "reactivate"
    return "update"


def _store(
    conn: Connection, organization_id: int, user: StoredUser, after: dict[str, Any]
) -> StoredUser:
    """Write what changed between the stored user and ``after``: the changed columns in
    one UPDATE (with the version), and the value rows of the attributes that changed."""
    before = user.resource
    audit.describe(label=after.get("userName"), operation=_operation(before, after))
    if after == before:
        return user
    old, new = columns_from_resource(before), columns_from_resource(after)
    changed = {name: value for name, value in new.items() if old.get(name) != value}
    now = utcnow()
    values = {**changed, "version": user.version + 1, "last_modified_at": now}
    try:
        _write(_UPDATE_USER, tuple(values)).execute(conn, {**values, "user_id": user.id})
    except dbapi_errors(conn).IntegrityError:
        # Only the unique index on live userNames can refuse this UPDATE; the error
        # handler rolls the whole request back.
        raise _duplicate(after["userName"]) from None
    extra = {"organization_id": organization_id, "user_id": user.id}
    for attribute in MULTI_VALUED:
        if before.get(attribute) == after.get(attribute):
            continue
        _DELETE_VALUES.execute(conn, {"user_id": user.id, "attribute": attribute})
        _insert_values(conn, [{**row, **extra} for row in value_rows(after, attribute)])
    audit.current().changes.extend(diff(before, after))
    return StoredUser(user.id, after, user.groups, user.version + 1, user.created, now)


def delete_user(
    conn: Connection, organization_id: int, user_id: str, preconditions: Preconditions
) -> None:
    """DELETE keeps the account for audit: deactivated, tombstoned, out of every group,
    and gone from the SCIM API. Its userName is free again."""
    user = get_user(conn, organization_id, user_id, lock=True)
    audit.describe(operation="delete")
    preconditions.check_write(user.version)
    now = utcnow()
    if user.groups:
        conn.execute(delete(MEMBERS).where(MEMBERS.c.user_id == user.id))
        conn.execute(
            update(GROUPS)
            .where(GROUPS.c.id.in_([gid for gid, _ in user.groups]))
            .values(version=GROUPS.c.version + 1, last_modified_at=now)
        )
    audit.change("active", user.resource.get("active", True), False)
    conn.execute(
        update(USERS)
        .where(USERS.c.id == user.id)
        .values(active=False, deleted_at=now, version=user.version + 1, last_modified_at=now)
    )
