"""Mapping between ``User`` rows and canonical SCIM User dicts.

The canonical dict is the SCIM JSON with canonical attribute names and without the
read-only parts (id, meta, groups); the enterprise extension sits under its URN key.
PATCH is applied to this dict (willow.scim.protocol.patch), and the result is written back here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String

from ...models import User
from ...models import UserValue
from ..protocol.errors import InvalidValue
from ..protocol.schema import ENTERPRISE_USER_SCHEMA

#: Single-valued core attributes → User columns.
SIMPLE_COLUMNS = {
    "userName": "user_name",
    "externalId": "external_id",
    "displayName": "display_name",
    "nickName": "nick_name",
    "profileUrl": "profile_url",
    "title": "title",
    "userType": "user_type",
    "preferredLanguage": "preferred_language",
    "locale": "locale",
    "timezone": "timezone",
    "active": "active",
}
NAME_COLUMNS = {
    "formatted": "name_formatted",
    "familyName": "name_family_name",
    "givenName": "name_given_name",
    "middleName": "name_middle_name",
    "honorificPrefix": "name_honorific_prefix",
    "honorificSuffix": "name_honorific_suffix",
}
ENTERPRISE_COLUMNS = {
    "employeeNumber": "employee_number",
    "costCenter": "cost_center",
    "organization": "organization_name",
    "division": "division",
    "department": "department",
}
MANAGER_COLUMNS = {
    "value": "manager_value",
    "$ref": "manager_ref",
    "displayName": "manager_display_name",
}
MULTI_VALUED = (
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
)
#: Sub-attributes of multi-valued elements → UserValue columns.
VALUE_COLUMNS = {
    "value": "value",
    "display": "display",
    "type": "type",
    "primary": "primary",
    "formatted": "formatted",
    "streetAddress": "street_address",
    "locality": "locality",
    "region": "region",
    "postalCode": "postal_code",
    "country": "country",
}


def user_to_resource(user: User, values: list[UserValue] | None = None) -> dict[str, Any]:
    """The canonical dict of a user. ``values`` may be passed when they were loaded in
    bulk for a page of users; otherwise the relationship is used."""
    rv: dict[str, Any] = {}
    for attr, column in SIMPLE_COLUMNS.items():
        value = getattr(user, column)
        if value is not None:
            rv[attr] = value
    name = _columns_to_dict(user, NAME_COLUMNS)
    if name:
        rv["name"] = name
    for row in sorted(values if values is not None else user.values, key=_value_order):
        element = {
            attr: getattr(row, column)
            for attr, column in VALUE_COLUMNS.items()
            if getattr(row, column) is not None and not (attr == "primary" and not row.primary)
        }
        rv.setdefault(row.attribute, []).append(element)
    enterprise = _columns_to_dict(user, ENTERPRISE_COLUMNS)
    manager = _columns_to_dict(user, MANAGER_COLUMNS)
    if manager:
        enterprise["manager"] = manager
    if enterprise:
        rv[ENTERPRISE_USER_SCHEMA] = enterprise
    return rv


def write_resource(user: User, resource: dict[str, Any]) -> None:
    """Make the row (and its value rows) hold exactly ``resource``.

    Attributes absent from the dict are cleared, except ``active``, which the caller
    decides (a PUT that omits it keeps the current value).
    """
    for attr, column in SIMPLE_COLUMNS.items():
        if attr == "active":
            if "active" in resource:
                user.active = bool(resource["active"])
            continue
        _set(user, column, resource.get(attr), attr)
    user.user_name_norm = user.user_name.lower()
    name = resource.get("name") or {}
    for attr, column in NAME_COLUMNS.items():
        _set(user, column, name.get(attr), f"name.{attr}")
    enterprise = resource.get(ENTERPRISE_USER_SCHEMA) or {}
    for attr, column in ENTERPRISE_COLUMNS.items():
        _set(user, column, enterprise.get(attr), attr)
    manager = enterprise.get("manager") or {}
    for attr, column in MANAGER_COLUMNS.items():
        _set(user, column, manager.get(attr), f"manager.{attr}")
    _write_values(user, resource)


def _write_values(user: User, resource: dict[str, Any]) -> None:
    wanted: list[UserValue] = []
    for attribute in MULTI_VALUED:
        for position, element in enumerate(resource.get(attribute) or []):
            row = UserValue(
                organization_id=user.organization_id,
                attribute=attribute,
                position=position,
                primary=bool(element.get("primary", False)),
            )
            for attr, column in VALUE_COLUMNS.items():
                if attr != "primary":
                    _set(row, column, element.get(attr), f"{attribute}.{attr}")
            row.value_norm = row.value.lower()[:512] if row.value is not None else None
            wanted.append(row)
    current = {_value_key(v): v for v in user.values}
    # Keep unchanged rows as they are, so an update of one attribute rewrites only it.
    kept: list[UserValue] = []
    for row in wanted:
        existing = current.pop(_value_key(row), None)
        kept.append(existing if existing is not None else row)
    user.values = kept


def _value_key(row: UserValue) -> tuple:
    return (row.attribute, row.position, bool(row.primary)) + tuple(
        getattr(row, column) for column in VALUE_COLUMNS.values() if column != "primary"
    )


def _value_order(row: UserValue) -> tuple:
    return (
        MULTI_VALUED.index(row.attribute) if row.attribute in MULTI_VALUED else 99,
        row.position,
    )


def _columns_to_dict(obj: Any, columns: dict[str, str]) -> dict[str, Any]:
    return {
        attr: getattr(obj, column)
        for attr, column in columns.items()
        if getattr(obj, column) is not None
    }


def _set(obj: Any, column: str, value: Any, attr_name: str) -> None:
    """Assign a column, refusing values longer than the column holds (PostgreSQL would
    refuse them with an error; SQLite would silently keep them)."""
    if value is not None:
        column_type = type(obj).__table__.columns[column].type
        if isinstance(column_type, String) and column_type.length:
            if not isinstance(value, str):
                value = str(value)
            if len(value) > column_type.length:
                raise InvalidValue(f"'{attr_name}' is longer than {column_type.length} characters.")
    setattr(obj, column, value)
