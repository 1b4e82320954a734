"""``POST /.search`` over every resource type at once (RFC 7644 §3.4.3).

The result is one list: Users, then Groups, each in its own stable order; with
``sortBy`` it is sorted as a whole (RFC 7644 §3.4.2.3), in SQL, by a UNION ALL of the
two tables' (sort key, id) rows, so paging never loads more than the page.

Attributes one type lacks: a filter naming them selects nothing of that type, and a
``sortBy`` naming them gives that type no sort value, so its resources come last in
either order (as on ``/Users`` and ``/Groups``). Invalid for every type is a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from sqlalchemy import Integer
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import union_all

from ...storage.extensions import db
from ...storage.models import Group
from ...storage.models import User
from ..protocol.errors import InvalidCursor
from ..protocol.errors import InvalidFilter
from ..protocol.errors import InvalidValue
from ..protocol.listing import ListQuery
from ..protocol.render import Projection
from . import groups
from . import users
from .filter_sql import sort_key
from .keyset import Key
from .keyset import Walked
from .keyset import walk


def _user_page(organization_id: int, query: ListQuery, base_url: str) -> list[dict[str, Any]]:
    return users.list_users(db.session.connection(), organization_id, query, base_url)[0]


def _group_page(organization_id: int, query: ListQuery, base_url: str) -> list[dict[str, Any]]:
    return groups.list_groups(organization_id, query, base_url).resources


def _users_by_id(
    ids: list[str], projection: Projection, base_url: str
) -> dict[str, dict[str, Any]]:
    return users.represent_ids(db.session.connection(), ids, base_url, projection)


def _groups_by_id(
    ids: list[str], projection: Projection, base_url: str
) -> dict[str, dict[str, Any]]:
    loaded = list(db.session.scalars(select(Group).where(Group.id.in_(ids))))
    rendered = groups.represent_many(loaded, projection, base_url)
    return {group.id: resource for group, resource in zip(loaded, rendered, strict=True)}


@dataclass(frozen=True)
class _Type:
    name: str
    model: type
    conditions: Callable[[int, str | None], list]
    page: Callable[[int, ListQuery, str], list[dict[str, Any]]]
    by_id: Callable[[list[str], Projection, str], dict[str, dict[str, Any]]]


#: In this order when unsorted, and for ties when sorted.
_TYPES = (
    _Type("User", User, users.list_conditions, _user_page, _users_by_id),
    _Type("Group", Group, groups.list_conditions, _group_page, _groups_by_id),
)


def search_all(
    organization_id: int, query: ListQuery, base_url: str
) -> tuple[list[dict[str, Any]], int]:
    """The page of resources of every type and the total number of matches."""
    conditions, totals = _conditions_and_totals(organization_id, query)
    total = sum(totals.values())
    if query.count == 0 or total < query.start_index:
        return [], total
    if query.sort_by:
        return _sorted_page(query, conditions, base_url), total
    return _concatenated_page(organization_id, query, totals, base_url), total


def _conditions_and_totals(
    organization_id: int, query: ListQuery
) -> tuple[dict[str, list], dict[str, int]]:
    """Each type's WHERE conditions (a type the filter cannot apply to is left out) and
    its number of matches."""
    conditions: dict[str, list] = {}
    errors: list[InvalidFilter] = []
    for kind in _TYPES:
        try:
            conditions[kind.name] = kind.conditions(organization_id, query.filter)
        except InvalidFilter as exc:
            errors.append(exc)
    if not conditions:
        raise errors[0]
    totals = {
        kind.name: db.session.scalar(
            select(func.count()).select_from(kind.model).where(*conditions[kind.name])
        )
        or 0
        for kind in _TYPES
        if kind.name in conditions
    }
    return conditions, totals


def _concatenated_page(
    organization_id: int, query: ListQuery, totals: dict[str, int], base_url: str
) -> list[dict[str, Any]]:
    """Users then Groups, paged as one list through each type's own list query."""
    resources: list[dict[str, Any]] = []
    offset = query.start_index - 1
    remaining = query.count
    for kind in _TYPES:
        total = totals.get(kind.name)
        if total is None or remaining <= 0:
            continue
        if offset >= total:
            offset -= total
            continue
        page = kind.page(
            organization_id, replace(query, start_index=offset + 1, count=remaining), base_url
        )
        resources += page
        remaining -= len(page)
        offset = 0
    return resources


def _union(query: ListQuery, conditions: dict[str, list]):
    """Every match of every type as (rank, id, sort_key, created_at) rows, one subquery."""
    parts = []
    sort_errors: list[InvalidValue] = []
    for rank, kind in enumerate(_TYPES):
        if kind.name not in conditions:
            continue
        key = null()
        if query.sort_by:
            try:
                key = sort_key(kind.name, query.sort_by)
            except InvalidValue as exc:
                sort_errors.append(exc)
        parts.append(
            select(
                literal(rank, Integer).label("rank"),
                kind.model.id.label("id"),
                key.label("sort_key"),
                kind.model.created_at.label("created_at"),
            ).where(*conditions[kind.name])
        )
    if query.sort_by and len(sort_errors) == len(parts):
        raise sort_errors[0]
    return union_all(*parts).subquery()


def _render(page: list, query: ListQuery, base_url: str) -> list[dict[str, Any]]:
    """(rank, id) rows rendered in their order, each type read by id in one query."""
    rendered: dict[tuple[int, str], dict[str, Any]] = {}
    for rank, kind in enumerate(_TYPES):
        ids = [row.id for row in page if row.rank == rank]
        if not ids:
            continue
        projection = Projection(kind.name, query.attributes, query.excluded_attributes)
        for resource_id, resource in kind.by_id(ids, projection, base_url).items():
            rendered[(rank, resource_id)] = resource
    return [rendered[(row.rank, row.id)] for row in page if (row.rank, row.id) in rendered]


def _sorted_page(
    query: ListQuery, conditions: dict[str, list], base_url: str
) -> list[dict[str, Any]]:
    rows = _union(query, conditions)
    by_key = rows.c.sort_key.desc() if query.descending else rows.c.sort_key.asc()
    page = db.session.execute(
        select(rows.c.rank, rows.c.id)
        .order_by(by_key.nulls_last(), rows.c.rank, rows.c.created_at, rows.c.id)
        .offset(query.start_index - 1)
        .limit(query.count)
    ).all()
    return _render(page, query, base_url)


def search_all_by_cursor(
    organization_id: int,
    query: ListQuery,
    position: tuple | None,
    backward: bool,
    base_url: str,
) -> tuple[list[dict[str, Any]], int, Walked]:
    """A cursor page (RFC 9865) of every type in the same order as index paging: by
    (rank, created_at, id), after the sort key when sorted. Ranks and keys come from the
    UNION ALL of the types' matches, read by keyset from it."""
    conditions, totals = _conditions_and_totals(organization_id, query)
    rows = _union(query, conditions)
    keys = [Key(rows.c.rank), Key(rows.c.created_at), Key(rows.c.id)]
    if query.sort_by:
        keys.insert(0, Key(rows.c.sort_key, query.descending, nullable=True))
    if position is not None and len(position) != len(keys):
        raise InvalidCursor()
    stmt = select(rows.c.rank, rows.c.id, *(key.expr for key in keys))
    walked = walk(
        lambda s: db.session.execute(s).all(),
        stmt,
        keys,
        lambda row: tuple(row[2:]),
        position,
        backward,
        query.count,
    )
    return _render(walked.rows, query, base_url), sum(totals.values()), walked
