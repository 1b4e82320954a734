"""A User's rows ↔ its canonical SCIM dict, through the attribute map.

The canonical dict is the SCIM JSON with canonical attribute names and without the
read-only parts (id, meta, groups); the enterprise extension sits under its URN key.
PATCH is applied to this dict (``willow.scim.protocol.patch``); the result is written
back as column values and value rows built here.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from ..protocol.errors import InvalidValue
from .attributes import MULTI_VALUED
from .attributes import SCALARS
from .attributes import USERS
from .attributes import VALUE_COLUMNS
from .attributes import VALUE_NORM_WIDTH
from .attributes import column_width

#: The order of the fields of a value row as read (``users.VALUE_FIELDS``).
VALUE_FIELDS: tuple[str, ...] = ("attribute", "position", *VALUE_COLUMNS)
_ORDER = {name: i for i, name in enumerate(MULTI_VALUED)}
_USER_NAME_NORM_WIDTH = column_width(USERS.c.user_name_norm)


def resource_from_row(row: Mapping[str, Any], values: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """The canonical dict of a user from its ``users`` row and its value rows (each a
    sequence in ``VALUE_FIELDS`` order, in any order)."""
    rv: dict[str, Any] = {}
    for scalar in SCALARS:
        value = row[scalar.column.name]
        if value is None:
            continue
        if scalar.column.name == "active":
            value = bool(value)
        target = rv
        for part in scalar.path[:-1]:
            target = target.setdefault(part, {})
        target[scalar.path[-1]] = value
    for element in sorted(values, key=lambda v: (_ORDER.get(v[0], 99), v[1])):
        item = {}
        for name, value in zip(VALUE_COLUMNS, element[2:], strict=True):
            if value is not None:
                item[name] = bool(value) if name == "primary" else value
        rv.setdefault(element[0], []).append(item)
    return rv


def columns_from_resource(resource: dict[str, Any]) -> dict[str, Any]:
    """The ``users`` column values that hold ``resource`` (every mapped column, None for
    an absent attribute). A value longer than its column is refused as ``invalidValue``
    before anything is written."""
    rv: dict[str, Any] = {}
    for scalar in SCALARS:
        value: Any = resource
        for part in scalar.path:
            value = value.get(part) if isinstance(value, dict) else None
        rv[scalar.column.name] = _fit(value, scalar.width, scalar.label)
    rv["user_name_norm"] = lowered_copy(rv["user_name"], _USER_NAME_NORM_WIDTH, "userName")
    return rv


def lowered_copy(value: str | None, limit: int | None, label: str) -> str | None:
    """The lower-cased copy kept for case-insensitive uniqueness, refused as
    ``invalidValue`` when longer than its column. Measured on what is stored: lower-casing
    can lengthen a string ("İ" becomes "i" and a combining dot), so 240 characters that
    fit ``userName`` can need 480 in ``user_name_norm``."""
    if value is None:
        return None
    rv = value.lower()
    if limit is not None and len(rv) > limit:
        raise InvalidValue(
            f"'{label}' is longer than {limit} characters once lower-cased "
            f"({len(rv)}; some letters, such as 'İ', lower-case to two characters)."
        )
    return rv


def value_rows(resource: dict[str, Any], attribute: str) -> list[dict[str, Any]]:
    """The ``user_values`` rows of one multi-valued attribute (without user and
    organization ids). ``primary`` is kept as sent: true, false or absent (None)."""
    rows = []
    for position, element in enumerate(resource.get(attribute) or []):
        row: dict[str, Any] = {"attribute": attribute, "position": position}
        for name, column in VALUE_COLUMNS.items():
            value = element.get(name)
            if name == "primary":
                row[column.name] = None if value is None else bool(value)
            else:
                row[column.name] = _fit(value, column_width(column), f"{attribute}.{name}")
        value = row["value"]
        row["value_norm"] = value.lower()[:VALUE_NORM_WIDTH] if value is not None else None
        rows.append(row)
    return rows


def _fit(value: Any, limit: int | None, label: str) -> Any:
    """Refuse values longer than the column holds (PostgreSQL would fail the statement;
    SQLite would silently keep them)."""
    if value is None or limit is None:
        return value
    if not isinstance(value, str):
        value = str(value)
    if len(value) > limit:
        raise InvalidValue(f"'{label}' is longer than {limit} characters.")
    return value
