"""Compile SCIM filter ASTs to SQLAlchemy WHERE clauses, and ``sortBy`` to ORDER BY keys.

RFC 7644 §3.4.2.2 (filtering) and §3.4.2.3 (sorting) over the tables in
``willow.storage.models``. Attribute names, types and caseExact come from
``willow.scim.protocol.schema``; this module only maps them to columns. The clause is meant for
``select(User).where(User.organization_id == org, compile_filter(...))``: multi-valued
attributes become correlated EXISTS subqueries, so nothing is ever loaded to filter in
Python.

Semantics, identical on SQLite and PostgreSQL:

- caseExact false: the lower-cased ``*_norm`` column (written with Python's
  ``str.lower``) is compared with the lower-cased value, so ``userName eq`` uses the unique
  index; attributes without a norm column compare ``lower(column)`` with ``lower(value)``
  (SQLite's ``lower`` folds ASCII only, so non-ASCII case differences only match on
  PostgreSQL for those attributes).
- co/sw/ew: LIKE with ``%``, ``_`` and ``\\`` escaped, on folded text; case-exact ones use
  ``instr``/``strpos`` and ``substr``, because SQLite's LIKE ignores ASCII case.
- gt/ge/lt/le on strings compare code points (``COLLATE "C"`` on PostgreSQL, SQLite's
  default BINARY), whatever the database's locale. On booleans they are invalid.
- dateTime values are ISO 8601 (``Z`` or an offset; no offset means UTC) and compare at
  the millisecond precision Willow renders ``meta.created``/``meta.lastModified`` with, so
  ``meta.lastModified gt "<a value we returned>"`` never returns that same version again.
- Two-valued logic: a missing value never makes a comparison NULL. ``ne`` and
  ``not (...)`` match a missing value ("not equal"); ``eq null`` means missing.
- A multi-valued attribute matches when one of its values does (``emails.value co "x"``);
  ``ne`` and ``eq null`` are the negations (``emails.value ne "x"``: no email equals x).
  Inside ``emails[...]`` every condition applies to the same element: one EXISTS.

Not filterable: ``password`` (never returned), ``meta.location``, ``meta.version`` and
the ``$ref`` of ``groups``/``members``, which are derived from the request URL or ETag.
Values of multi-valued attributes are compared on their first 512 characters when folded
(``user_values.value_norm``), which only matters for certificate-sized values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Column
from sqlalchemy import ColumnElement
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from ...storage.models import Group
from ...storage.models import GroupMember
from ...storage.models import User
from ...storage.models import UserValue
from ..protocol.errors import InvalidFilter
from ..protocol.errors import InvalidValue
from ..protocol.errors import ScimError
from ..protocol.filter import And
from ..protocol.filter import AttrPath
from ..protocol.filter import Compare
from ..protocol.filter import Filter
from ..protocol.filter import Not
from ..protocol.filter import Or
from ..protocol.filter import ValuePath
from ..protocol.filter import operands
from ..protocol.filter import split_attr_path
from ..protocol.schema import COMMON_ATTRIBUTES
from ..protocol.schema import RESOURCE_SCHEMAS
from ..protocol.schema import Attribute
from ..protocol.schema import find_attribute
from .attributes import MULTI_VALUED
from .attributes import SCALARS
from .attributes import VALUE_COLUMNS
from .attributes import VALUE_NORM_WIDTH

#: meta.created/lastModified are rendered with milliseconds (willow.scim.protocol.render).
DATETIME_PRECISION = timedelta(milliseconds=1)
_STRING_TYPES = frozenset({"string", "reference", "binary"})
_LIKE_ESCAPE = "\\"


# --- Dialect-specific SQL --------------------------------------------------------------


class _bytewise(FunctionElement):
    """A string compared and sorted by code point, whatever the database's locale."""

    inherit_cache = True
    type = String()
    name = "bytewise"


@compiles(_bytewise)
def _bytewise_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)  # SQLite's default collation is BINARY


@compiles(_bytewise, "postgresql")
def _bytewise_postgresql(element, compiler, **kw):
    return f'({compiler.process(element.clauses, **kw)} COLLATE "C")'


class _strpos(FunctionElement):
    """1-based position of a substring, 0 when absent; case-sensitive on both databases."""

    inherit_cache = True
    type = Integer()
    name = "strpos"


@compiles(_strpos)
def _strpos_default(element, compiler, **kw):
    return f"strpos({compiler.process(element.clauses, **kw)})"


@compiles(_strpos, "sqlite")
def _strpos_sqlite(element, compiler, **kw):
    return f"instr({compiler.process(element.clauses, **kw)})"


USERS = User.__table__
GROUPS = Group.__table__


# --- The attribute map -----------------------------------------------------------------


@dataclass(frozen=True)
class _Col:
    """Where one single value lives: a column of the resource or of a child row, or a
    constant."""

    expr: Any
    #: Lower-cased copy kept by the writers with Python's str.lower.
    norm: Any = None
    #: The norm column keeps at most this many characters.
    norm_length: int | None = None
    #: Conditions that bring the column's table into an EXISTS (a join to groups/users).
    join: tuple = ()
    #: Read from the column when not given.
    can_be_null: bool | None = None

    @property
    def nullable(self) -> bool:
        if self.can_be_null is not None:
            return self.can_be_null
        column = getattr(self.expr, "expression", self.expr)
        return getattr(column, "nullable", True)


@dataclass(frozen=True)
class _Rel:
    """A multi-valued attribute stored as rows, correlated to the resource row."""

    correlate: Table
    where: tuple
    columns: dict[str, _Col]
    #: The "primary, else first" order of RFC 7644 §3.4.2.3, for sortBy.
    order: tuple

    def exists(self, condition: Any = None, joins: tuple = ()) -> ColumnElement[bool]:
        conditions = (*self.where, *joins, *(() if condition is None else (condition,)))
        return exists().where(*conditions).correlate(self.correlate)


def _user_values(attribute: str) -> _Rel:
    row = aliased(UserValue)
    return _Rel(
        correlate=USERS,
        # The organization lets PostgreSQL use ix_user_values_org_attr_value for
        # `emails[...].value eq`, the lookup Entra ID matches users with.
        where=(
            row.user_id == USERS.c.id,
            row.organization_id == USERS.c.organization_id,
            row.attribute == attribute,
        ),
        columns={
            name: _Col(row.value, norm=row.value_norm, norm_length=VALUE_NORM_WIDTH)
            if name == "value"
            else _Col(getattr(row, column.key))
            for name, column in VALUE_COLUMNS.items()
        },
        order=(row.primary.desc().nulls_last(), row.position, row.id),
    )


def _user_groups() -> _Rel:
    member = aliased(GroupMember)
    group = aliased(Group)
    return _Rel(
        correlate=USERS,
        where=(member.user_id == USERS.c.id,),
        columns={
            # Ids are generated lower-case, so the column is its own norm (and indexed).
            "value": _Col(member.group_id, norm=member.group_id),
            "display": _Col(
                group.display_name,
                norm=group.display_name_norm,
                join=(group.id == member.group_id,),
            ),
            "type": _Col(literal("direct", String), can_be_null=False),
        },
        order=(member.created_at, member.id),
    )


def _group_members() -> _Rel:
    member = aliased(GroupMember)
    user = aliased(User)
    return _Rel(
        correlate=GROUPS,
        where=(member.group_id == GROUPS.c.id,),
        columns={
            "value": _Col(member.user_id),
            # As rendered: the member's displayName, else (missing or "") its userName.
            "display": _Col(
                func.coalesce(func.nullif(user.display_name, ""), user.user_name),
                join=(user.id == member.user_id,),
                can_be_null=False,
            ),
            "type": _Col(literal("User", String), can_be_null=False),
        },
        order=(member.created_at, member.id),
    )


def _meta(table: Table, resource_type: str) -> dict[tuple[str, str | None], _Col]:
    return {
        ("meta", "created"): _Col(table.c.created_at),
        ("meta", "lastModified"): _Col(table.c.last_modified_at),
        ("meta", "resourceType"): _Col(literal(resource_type, String), can_be_null=False),
    }


_USER_COLUMNS: dict[tuple[str, str | None], _Col] = {
    ("id", None): _Col(USERS.c.id),
    **{
        scalar.key: _Col(scalar.column, norm=USERS.c.user_name_norm)
        if scalar.column.name == "user_name"
        else _Col(scalar.column)
        for scalar in SCALARS
    },
    # Read-only (RFC 7643 §4.3): never stored from a request, so never matched.
    ("manager", "displayName"): _Col(USERS.c.manager_display_name),
    **_meta(USERS, "User"),
}
_GROUP_COLUMNS: dict[tuple[str, str | None], _Col] = {
    ("id", None): _Col(GROUPS.c.id),
    ("externalId", None): _Col(GROUPS.c.external_id),
    ("displayName", None): _Col(GROUPS.c.display_name, norm=GROUPS.c.display_name_norm),
    **_meta(GROUPS, "Group"),
}


@dataclass(frozen=True)
class _Mapping:
    columns: dict[tuple[str, str | None], _Col]
    #: Multi-valued attribute → a factory of fresh aliases, one per subquery.
    relations: dict[str, Callable[[], _Rel]]


_MAPPINGS = {
    "User": _Mapping(
        _USER_COLUMNS,
        {
            **{name: (lambda name=name: _user_values(name)) for name in MULTI_VALUED},
            "groups": _user_groups,
        },
    ),
    "Group": _Mapping(_GROUP_COLUMNS, {"members": _group_members}),
}


# --- Resolution ------------------------------------------------------------------------


def _resolve(
    resource_type: str, path: AttrPath, error: type[ScimError]
) -> tuple[Attribute, Attribute | None]:
    """The schema definitions of ``path`` (attribute, sub-attribute), or ``error``."""
    core, extensions = RESOURCE_SCHEMAS[resource_type]
    schema, attr, sub = find_attribute(resource_type, str(path))
    if attr is None and schema is core and path.uri is not None:
        # id, externalId and meta also answer to the core schema's URN.
        attr = next((a for a in COMMON_ATTRIBUTES if a.name.lower() == path.attr.lower()), None)
    if attr is None and path.uri is None:
        # Extension attributes without their URN: no name is shared, so it is unambiguous.
        for extension in extensions:
            attr = extension.attribute(path.attr)
            if attr is not None:
                break
    if attr is None:
        raise error(f"Unknown attribute {str(path)!r} for {resource_type} resources.")
    if path.sub_attr is not None:
        if not attr.sub_attributes:
            raise error(f"{attr.name!r} has no sub-attributes, so {str(path)!r} is unknown.")
        sub = attr.sub(path.sub_attr)
        if sub is None:
            raise error(f"{attr.name!r} has no sub-attribute {path.sub_attr!r}.")
    if "never" in (attr.returned, sub.returned if sub else None):
        raise error(f"{str(path)!r} is never returned, so it cannot be used here.")
    return attr, sub


def _not_filterable(label: str, error: type[ScimError]) -> ScimError:
    return error(f"{label!r} is derived from the request and cannot be used here.")


# --- Predicates ------------------------------------------------------------------------


def _label(attr: Attribute, sub: Attribute | None) -> str:
    return f"{attr.name}.{sub.name}" if sub else attr.name


def _like_pattern(value: str, op: str) -> str:
    escaped = (
        value.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]


def _string_value(value: Any, label: str) -> str:
    if isinstance(value, bool):
        raise InvalidFilter(f"{label!r} is a string; compare it with a quoted value.")
    if isinstance(value, int | float):
        # An unquoted number against a string (employeeNumber eq 1234) means its text.
        return str(value)
    return value


def _boolean_value(value: Any, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"  # Entra ID sends "True"/"False"
    raise InvalidFilter(f"{label!r} is a boolean; compare it with true or false.")


def _datetime_value(value: Any, label: str) -> datetime:
    """An ISO 8601 date-time as naive UTC, the form the columns store."""
    try:
        if not isinstance(value, str):
            raise ValueError
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InvalidFilter(
            f"{label!r} is a dateTime; {value!r} is not an ISO 8601 date-time "
            f'such as "2024-01-31T09:30:00Z".'
        ) from None
    return parsed


def _present(col: _Col, leaf: Attribute) -> ColumnElement[bool]:
    """``pr``: has a value, and a string value is not empty (RFC 7644 §3.4.2.2)."""
    if leaf.type in _STRING_TYPES:
        return and_(col.expr.is_not(None), col.expr != "")
    return col.expr.is_not(None)


def _known(col: _Col, condition: Any, negated: bool) -> ColumnElement[bool]:
    """Make a comparison false, never NULL, on a missing value, so that ``not (...)``
    matches it, as ``ne`` does. Only needed under an odd number of ``not``: elsewhere
    NULL already acts as false, and the plain comparison keeps the SQL readable."""
    if negated and col.nullable:
        return and_(col.expr.is_not(None), condition)
    return condition


def _ne(col: _Col, condition: Any) -> ColumnElement[bool]:
    return or_(col.expr.is_(None), condition) if col.nullable else condition


def _datetime_predicate(
    col: _Col, op: str, value: Any, label: str, negated: bool
) -> ColumnElement[bool]:
    """Compare at DATETIME_PRECISION: [low, high) is every stored time that renders as
    the value."""
    if op not in ("eq", "ne", "gt", "ge", "lt", "le"):
        raise InvalidFilter(f"{op!r} does not apply to the dateTime {label!r}.")
    moment = _datetime_value(value, label)
    low = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    expr = col.expr
    try:
        below_high, at_or_above_high = (
            expr < low + DATETIME_PRECISION,
            expr >= low + DATETIME_PRECISION,
        )
    except OverflowError:  # the last representable millisecond
        below_high, at_or_above_high = true(), false()
    return {
        "eq": _known(col, and_(expr >= low, below_high), negated),
        "ne": _ne(col, or_(expr < low, at_or_above_high)),
        "gt": _known(col, at_or_above_high, negated),
        "ge": _known(col, expr >= low, negated),
        "lt": _known(col, expr < low, negated),
        "le": _known(col, below_high, negated),
    }[op]


def _string_predicate(
    col: _Col, leaf: Attribute, op: str, value: Any, label: str, negated: bool
) -> ColumnElement[bool]:
    text = _string_value(value, label)
    if leaf.case_exact:
        lhs, operand = col.expr, (lambda s: s)
    elif col.norm is not None and (col.norm_length is None or len(text) < col.norm_length):
        lhs, operand = col.norm, (lambda s: s.lower())
    else:
        lhs, operand = func.lower(col.expr), (lambda s: func.lower(literal(s, String)))

    if op == "eq":
        return _known(col, lhs == operand(text), negated)
    if op == "ne":
        return _ne(col, lhs != operand(text))
    if op in ("co", "sw", "ew"):
        if not leaf.case_exact:
            return _known(
                col, lhs.like(operand(_like_pattern(text, op)), escape=_LIKE_ESCAPE), negated
            )
        if op == "co":
            return _known(col, _strpos(lhs, text) > 0, negated)
        if op == "sw":
            return _known(col, func.substr(lhs, 1, len(text)) == text, negated)
        length = func.length(lhs)
        suffix = func.substr(lhs, length - len(text) + 1)
        return _known(col, and_(length >= len(text), suffix == text), negated)
    ordered = _bytewise(lhs)
    rhs = operand(text)
    compared = {
        "gt": ordered > rhs,
        "ge": ordered >= rhs,
        "lt": ordered < rhs,
        "le": ordered <= rhs,
    }
    return _known(col, compared[op], negated)


def _predicate(
    col: _Col, leaf: Attribute, op: str, value: Any, label: str, negated: bool = False
) -> ColumnElement[bool]:
    """One comparison on one single value (RFC 7644 §3.4.2.2, Table 3). ``negated``: it
    sits under an odd number of ``not`` (see :func:`_known`)."""
    if op == "pr":
        return _present(col, leaf)
    if value is None:  # the parser allows null with eq and ne only
        return col.expr.is_(None) if op == "eq" else col.expr.is_not(None)
    if leaf.type == "boolean":
        if op not in ("eq", "ne"):
            raise InvalidFilter(f"{op!r} does not apply to the boolean {label!r}.")
        flag = _boolean_value(value, label)
        if op == "eq":
            return _known(col, col.expr == flag, negated)
        return _ne(col, col.expr != flag)
    if leaf.type == "dateTime":
        return _datetime_predicate(col, op, value, label, negated)
    if leaf.type in _STRING_TYPES:
        return _string_predicate(col, leaf, op, value, label, negated)
    raise InvalidFilter(f"{label!r} cannot be used in a filter.")


# --- The compiler ----------------------------------------------------------------------


@dataclass
class _Element:
    """Compiling inside ``attr[...]``: paths name sub-attributes of ``attr``."""

    attr: Attribute
    columns: dict[str, _Col]
    joins: dict = field(default_factory=dict)  # ordered set of join conditions


class _Compiler:
    def __init__(self, resource_type: str):
        if resource_type not in _MAPPINGS:
            raise ValueError(f"No filter mapping for resource type {resource_type!r}")
        self.resource_type = resource_type
        self.mapping = _MAPPINGS[resource_type]

    def node(
        self, node: Filter, element: _Element | None = None, negated: bool = False
    ) -> ColumnElement[bool]:
        """``negated`` counts ``not`` (odd or even) since the last EXISTS boundary."""
        if isinstance(node, And):
            return and_(*(self.node(term, element, negated) for term in operands(node)))
        if isinstance(node, Or):
            return or_(*(self.node(term, element, negated) for term in operands(node)))
        if isinstance(node, Not):
            return not_(self.node(node.expr, element, not negated))
        if isinstance(node, ValuePath):
            return self.value_path(node, negated)
        if element is not None:
            return self.element_compare(node, element, negated)
        return self.compare(node, negated)

    def column(self, attr: Attribute, sub: Attribute | None) -> _Col:
        col = self.mapping.columns.get((attr.name, sub.name if sub else None))
        if col is None:
            raise _not_filterable(_label(attr, sub), InvalidFilter)
        return col

    def complex_columns(self, attr: Attribute) -> dict[str, _Col]:
        """The mapped sub-attributes of a single-valued complex attribute (name, meta…)."""
        return {
            sub.name: self.mapping.columns[(attr.name, sub.name)]
            for sub in attr.sub_attributes
            if (attr.name, sub.name) in self.mapping.columns
        }

    def value_path(self, node: ValuePath, negated: bool) -> ColumnElement[bool]:
        """``emails[type eq "work" and value co "x"]``: one EXISTS, one element."""
        attr, _ = _resolve(self.resource_type, node.path, InvalidFilter)
        if attr.type != "complex":
            raise InvalidFilter(f"{attr.name!r} is not complex, so it takes no '[...]' filter.")
        if not attr.multi_valued:
            return self.node(node.filter, _Element(attr, self.complex_columns(attr)), negated)
        relation = self.mapping.relations[attr.name]()
        element = _Element(attr, relation.columns)
        condition = self.node(node.filter, element)
        return relation.exists(condition, tuple(element.joins))

    def element_compare(
        self, node: Compare, element: _Element, negated: bool
    ) -> ColumnElement[bool]:
        sub = element.attr.sub(node.path.attr)
        if sub is None:
            raise InvalidFilter(f"{element.attr.name!r} has no sub-attribute {node.path.attr!r}.")
        label = _label(element.attr, sub)
        col = element.columns.get(sub.name)
        if col is None:
            raise _not_filterable(label, InvalidFilter)
        element.joins.update(dict.fromkeys(col.join))
        return _predicate(col, sub, node.op, node.value, label, negated)

    def compare(self, node: Compare, negated: bool) -> ColumnElement[bool]:
        attr, sub = _resolve(self.resource_type, node.path, InvalidFilter)
        if attr.multi_valued:
            return self.multi_valued(attr, sub, node)
        if attr.type == "complex" and sub is None:
            if node.op != "pr":
                raise InvalidFilter(
                    f"{attr.name!r} is complex: filter on one of its sub-attributes, "
                    f"such as {attr.name}.{attr.sub_attributes[0].name}."
                )
            columns = self.complex_columns(attr)
            return or_(*(_present(col, attr.sub(name)) for name, col in columns.items()))
        col = self.column(attr, sub)
        return _predicate(col, sub or attr, node.op, node.value, _label(attr, sub), negated)

    def multi_valued(
        self, attr: Attribute, sub: Attribute | None, node: Compare
    ) -> ColumnElement[bool]:
        """Matches when one value matches; ``ne`` and ``eq null`` are the negations."""
        relation = self.mapping.relations[attr.name]()
        if sub is None:
            if node.op == "pr":
                return relation.exists()
            # RFC 7644 §3.4.2.2: a multi-valued attribute without sub-attribute is its value.
            sub = attr.sub("value")
            if sub is None:
                raise InvalidFilter(
                    f"{attr.name!r} has no 'value': name a sub-attribute, "
                    f"such as {attr.name}.{attr.sub_attributes[0].name}."
                )
        label = _label(attr, sub)
        col = relation.columns.get(sub.name)
        if col is None:
            raise _not_filterable(label, InvalidFilter)
        if node.op == "pr":
            return relation.exists(_present(col, sub), col.join)
        if node.value is None:
            has_value = relation.exists(col.expr.is_not(None), col.join)
            return not_(has_value) if node.op == "eq" else has_value
        if node.op == "ne":
            return not_(relation.exists(_predicate(col, sub, "eq", node.value, label), col.join))
        return relation.exists(_predicate(col, sub, node.op, node.value, label), col.join)


def equality(node: Filter, resource_type: str) -> tuple[Any, str] | None:
    """The filter IdPs send on nearly every sync, ``userName eq "…"`` (also ``externalId``,
    ``id``, ``displayName``): one string attribute of the resource's own row compared with
    ``eq``. Returns the column and the value that ``compile_filter`` would compare (the
    lower-cased copy for a case-insensitive attribute), so the caller can run a statement
    built once; None for every other filter."""
    if not isinstance(node, Compare) or node.op != "eq" or not isinstance(node.value, str):
        return None
    attr, sub = _resolve(resource_type, node.path, InvalidFilter)
    leaf = sub or attr
    if attr.multi_valued or leaf.type not in _STRING_TYPES:
        return None
    col = _MAPPINGS[resource_type].columns.get((attr.name, sub.name if sub else None))
    if col is None or col.join or not isinstance(col.expr, Column):
        return None
    if leaf.case_exact:
        return col.expr, node.value
    if col.norm is not None and (col.norm_length is None or len(node.value) < col.norm_length):
        return col.norm, node.value.lower()
    return None


def compile_filter(node: Filter, resource_type: str) -> ColumnElement[bool]:
    """A WHERE clause for ``node`` over ``User`` or ``Group`` rows (RFC 7644 §3.4.2.2).

    Unknown attributes, ``password``, a sub-attribute of a simple attribute, and an
    operator or value that does not fit the attribute's type raise
    :class:`~willow.scim.protocol.errors.InvalidFilter`. The caller scopes the query by
    organization.
    """
    return _Compiler(resource_type).node(node)


def _sort_value(col: _Col, leaf: Attribute) -> Any:
    if leaf.type not in _STRING_TYPES:
        return col.expr
    if leaf.case_exact:
        return col.expr
    return col.norm if col.norm is not None else func.lower(col.expr)


def sort_key(resource_type: str, sort_by: str) -> ColumnElement:
    """The ORDER BY key for ``sortBy`` (RFC 7644 §3.4.2.3).

    Strings sort by code point, case-insensitively unless the attribute is caseExact. A
    multi-valued attribute sorts by its primary value, else its first, through a
    correlated scalar subquery. Unknown or unsortable attributes raise
    :class:`~willow.scim.protocol.errors.InvalidValue`. Callers add the direction and the stable
    tie-breaker; SQLite puts NULLs first and PostgreSQL last unless the caller adds
    ``.nulls_last()``/``.nulls_first()``.
    """
    if resource_type not in _MAPPINGS:
        raise ValueError(f"No sort mapping for resource type {resource_type!r}")
    mapping = _MAPPINGS[resource_type]
    path = split_attr_path(sort_by.strip())
    if path is None:
        raise InvalidValue(f"sortBy: {sort_by!r} is not an attribute path.")
    try:
        attr, sub = _resolve(resource_type, path, InvalidValue)
    except InvalidValue as exc:
        raise InvalidValue(f"sortBy: {exc.detail}") from None
    if attr.multi_valued:
        sub = sub or attr.sub("value")
        relation = mapping.relations[attr.name]()
        col = relation.columns.get(sub.name) if sub else None
        if col is None:
            raise InvalidValue(f"sortBy: {sort_by!r} cannot be sorted on.")
        value = (
            select(_sort_value(col, sub))
            .where(*relation.where, *col.join)
            .order_by(*relation.order)
            .limit(1)
            .correlate(relation.correlate)
            .scalar_subquery()
        )
        return _bytewise(value) if sub.type in _STRING_TYPES else value
    col = mapping.columns.get((attr.name, sub.name if sub else None))
    if col is None:
        raise InvalidValue(f"sortBy: {sort_by!r} cannot be sorted on.")
    leaf = sub or attr
    value = _sort_value(col, leaf)
    return _bytewise(value) if leaf.type in _STRING_TYPES else value
