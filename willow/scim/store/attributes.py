"""The attribute map of Users: where each SCIM attribute lives in the database.

One table read by the row mapping (``user_rows``), the filter and sort compiler
(``filter_sql``) and the request log: a SCIM path maps to a column of ``users`` or to a
sub-attribute column of the ``user_values`` rows of a multi-valued attribute. Widths
come from the model's columns, so a migration that widens a column widens what is
accepted. Adding an attribute touches the schema (``protocol.schema``), this map and a
migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import Column
from sqlalchemy import String

from ...storage.models import User
from ...storage.models import UserValue
from ..protocol.schema import ENTERPRISE_USER_SCHEMA

USERS = User.__table__
VALUES = UserValue.__table__


@dataclass(frozen=True)
class Scalar:
    """A single value of a User: ``path`` is its place in the canonical dict (the
    enterprise extension's attributes under its URN), ``column`` where it is stored."""

    path: tuple[str, ...]
    column: Column
    #: ``(attribute, sub-attribute)`` as filters name it, without the URN.
    key: tuple[str, str | None] = field(init=False)
    #: The name errors give it: ``name.givenName``, ``department``.
    label: str = field(init=False)
    #: How many characters the column holds (None: no limit).
    width: int | None = field(init=False)

    def __post_init__(self) -> None:
        path = self.path[1:] if self.path[0] == ENTERPRISE_USER_SCHEMA else self.path
        object.__setattr__(self, "key", (path[0], path[1] if len(path) > 1 else None))
        object.__setattr__(self, "label", ".".join(path))
        object.__setattr__(self, "width", column_width(self.column))


def column_width(column: Column) -> int | None:
    """How many characters the column holds (None: no limit)."""
    return column.type.length if isinstance(column.type, String) else None


_E = ENTERPRISE_USER_SCHEMA

#: Every single-valued User attribute, in rendering order.
SCALARS: tuple[Scalar, ...] = tuple(
    Scalar(path, USERS.c[column])
    for path, column in (
        (("userName",), "user_name"),
        (("externalId",), "external_id"),
        (("active",), "active"),
        (("name", "formatted"), "name_formatted"),
        (("name", "familyName"), "name_family_name"),
        (("name", "givenName"), "name_given_name"),
        (("name", "middleName"), "name_middle_name"),
        (("name", "honorificPrefix"), "name_honorific_prefix"),
        (("name", "honorificSuffix"), "name_honorific_suffix"),
        (("displayName",), "display_name"),
        (("nickName",), "nick_name"),
        (("profileUrl",), "profile_url"),
        (("title",), "title"),
        (("userType",), "user_type"),
        (("preferredLanguage",), "preferred_language"),
        (("locale",), "locale"),
        (("timezone",), "timezone"),
        ((_E, "employeeNumber"), "employee_number"),
        ((_E, "costCenter"), "cost_center"),
        ((_E, "organization"), "organization_name"),
        ((_E, "division"), "division"),
        ((_E, "department"), "department"),
        ((_E, "manager", "value"), "manager_value"),
        ((_E, "manager", "$ref"), "manager_ref"),
    )
)

#: Multi-valued attributes stored as ``user_values`` rows, in rendering order.
MULTI_VALUED: tuple[str, ...] = (
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
)

#: Sub-attributes of multi-valued elements → ``user_values`` columns.
VALUE_COLUMNS: dict[str, Column] = {
    "value": VALUES.c.value,
    "display": VALUES.c.display,
    "type": VALUES.c.type,
    "primary": VALUES.c.primary,
    "formatted": VALUES.c.formatted,
    "streetAddress": VALUES.c.street_address,
    "locality": VALUES.c.locality,
    "region": VALUES.c.region,
    "postalCode": VALUES.c.postal_code,
    "country": VALUES.c.country,
}

#: Width of the lower-cased copy of a value that case-insensitive filters compare.
VALUE_NORM_WIDTH: int = column_width(VALUES.c.value_norm) or 512
