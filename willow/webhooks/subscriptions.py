"""Which event types an endpoint receives: a comma list of types, each exact
(``user.deactivated``) or a prefix ending in ``*`` (``group.*``); empty means every type.

Pure: parsing for the forms and the CLI, and matching (in Python, and as the SQL
condition the worker reads events with).
"""

from __future__ import annotations

import re

from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy.sql import ColumnElement

from ..events.types import EVENT_TYPES

#: ``webhook.test`` is sent by "Send test event" only.
TEST_EVENT_TYPE = "webhook.test"
_PATTERN = re.compile(r"^[a-z_]+(\.[a-z_]+)?$|^[a-z_]+\.\*$|^\*$")


class InvalidTypes(ValueError):
    """A type list with a type that does not exist."""


def parse_types(text: str | None) -> list[str]:
    """The normalised list (sorted, without duplicates) of a comma list; ``*`` alone or
    nothing is every type (``[]``). Unknown types are refused, so a typo does not
    silently subscribe to nothing."""
    items = sorted({part.strip().lower() for part in (text or "").split(",") if part.strip()})
    if "*" in items:
        return []
    for item in items:
        if not _PATTERN.match(item) or not any(matches([item], t) for t in EVENT_TYPES):
            raise InvalidTypes(
                f"unknown event type {item!r}; known types: {', '.join(EVENT_TYPES)} "
                "(a prefix such as user.* is allowed)"
            )
    return items


def matches(types: list[str], event_type: str) -> bool:
    if not types:
        return True
    return any(event_type.startswith(t[:-1]) if t.endswith("*") else event_type == t for t in types)


def sql_condition(types: list[str], column) -> ColumnElement[bool] | None:
    """The condition on an event type column, or None for every type."""
    if not types:
        return None
    exact = [t for t in types if not t.endswith("*")]
    prefixes = [t[:-1] for t in types if t.endswith("*")]
    clauses = []
    if exact:
        clauses.append(column.in_(exact))
    clauses.extend(column.startswith(prefix, autoescape=True) for prefix in prefixes)
    return or_(*clauses) if clauses else false()
