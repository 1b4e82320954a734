"""Keyset paging (RFC 9865 cursors): the page after or before a position, by key.

A listing's order is a tuple of keys ending in unique, immutable ones (``created_at``,
``id``), so every row has one place in it. A page is "the first ``n`` rows after this
key", a range read from the index, never an OFFSET: its cost does not grow with depth,
and rows inserted or deleted elsewhere during a walk cannot shift the rows that stay
(none is skipped or repeated). The backward page reads the reversed order and is
turned round by the caller.

An optional ``sortBy`` key may be NULL; it sorts last in either direction, as the
index-paged listings do.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import tuple_


@dataclass(frozen=True)
class Key:
    """One ORDER BY key: its expression, direction, and whether it can be NULL."""

    expr: Any
    descending: bool = False
    nullable: bool = False


def order(keys: Sequence[Key], backward: bool) -> list:
    """ORDER BY terms for reading forward, or backward (every direction flipped)."""
    rv = []
    for key in keys:
        down = key.descending != backward
        term = key.expr.desc() if down else key.expr.asc()
        if key.nullable:
            # NULLs are last going forward, so first going backward.
            term = term.nulls_first() if backward else term.nulls_last()
        rv.append(term)
    return rv


def _beyond_one(key: Key, value: Any, backward: bool) -> ColumnElement:
    """Rows strictly past ``value`` on this key alone, in the reading direction."""
    down = key.descending != backward
    if value is None:
        # NULLs are the end going forward; going backward every non-NULL precedes them.
        return key.expr.is_not(None) if backward else false()
    # A bound parameter of the key's type: SQL compares booleans, Python's operators on a
    # column refuse True and False.
    value = literal(value, key.expr.type)
    beyond = key.expr < value if down else key.expr > value
    if key.nullable and not backward:
        return or_(beyond, key.expr.is_(None))
    return beyond


def _equal(key: Key, value: Any) -> ColumnElement:
    return key.expr.is_(None) if value is None else key.expr == literal(value, key.expr.type)


def beyond(keys: Sequence[Key], values: Sequence[Any], backward: bool) -> ColumnElement:
    """Rows strictly after (or before) the row whose key is ``values``.

    The trailing keys that share one direction and cannot be NULL are compared as one
    row value, ``(created_at, id) > (:c, :i)``, which both databases read as an index
    range; the keys before them expand to ``k > v OR (k = v AND ...)``.
    """
    if len(keys) != len(values):
        raise ValueError("a key value for every key")
    tail = len(keys)
    while (
        tail > 0
        and not keys[tail - 1].nullable
        and keys[tail - 1].descending == keys[-1].descending
    ):
        tail -= 1
    rest = keys[tail:]
    down = rest[-1].descending != backward if rest else False
    if len(rest) == 1:
        condition = _beyond_one(rest[0], values[tail], backward)
    elif rest:
        left = tuple_(*(k.expr for k in rest))
        right = tuple_(*values[tail:])
        condition = left < right if down else left > right
    else:
        condition = false()
    for index in range(tail - 1, -1, -1):
        key, value = keys[index], values[index]
        condition = or_(_beyond_one(key, value, backward), and_(_equal(key, value), condition))
    return condition


def page(
    stmt: Select, keys: Sequence[Key], after: Sequence[Any] | None, backward: bool, size: int
) -> Select:
    """``stmt`` limited to ``size`` rows past ``after`` (from the start when None), in
    the reading direction. Ask for one row more than the page to learn whether another
    page follows."""
    if after is not None:
        stmt = stmt.where(beyond(keys, after, backward))
    return stmt.order_by(*order(keys, backward)).limit(size)


@dataclass(frozen=True)
class Walked:
    """One page of a keyset walk, in the listing's order, and what lies either side."""

    rows: list
    #: Sort keys to continue from: before the first row, after the last (or the
    #: position itself when the page is empty).
    first_key: tuple | None
    last_key: tuple | None
    more_before: bool
    more_after: bool


def walk(
    run: Callable[[Select], Sequence[Any]],
    stmt: Select,
    keys: Sequence[Key],
    key_of: Callable[[Any], tuple],
    position: tuple | None,
    backward: bool,
    size: int,
) -> Walked:
    """The ``size`` rows after ``position`` (or before it when ``backward``; from the
    start when None), read through ``run``, plus whether rows lie beyond either end: one
    range read of ``size + 1`` rows, and one of a single row for the other side."""
    rows = list(run(page(stmt, keys, position, backward, size + 1)))
    further = len(rows) > size
    rows = rows[:size]
    if backward:
        rows.reverse()
    first = key_of(rows[0]) if rows else position
    last = key_of(rows[-1]) if rows else position
    if backward:
        more_before = further
        more_after = last is not None and bool(run(page(stmt, keys, last, False, 1)))
    else:
        more_after = further
        more_before = first is not None and bool(run(page(stmt, keys, first, True, 1)))
    return Walked(rows, first, last, more_before, more_after)
