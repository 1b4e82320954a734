"""Turn a POST or PUT body into the canonical resource dict (RFC 7643 §2, RFC 7644 §3.3, §3.5.1).

The canonical dict is the resource's SCIM JSON with canonical attribute names, extension
attributes under their schema URN key, and no read-only parts (``id``, ``meta``,
``groups``). An absent key means "no value"; ``null``, ``[]`` and ``{}`` are read the
same way (RFC 7644 §3.5.2: unassigned, null and empty are equivalent). Strings are kept
exactly as sent.

Everything is driven by ``willow.scim.protocol.schema``: keys are matched case-insensitively
(RFC 7643 §2.1; Entra sends ``"UserName"``, ``"Active"``, ``"Primary"``) and values are
checked against the attribute's type. The rules lean towards accepting: an IdP whose
request is rejected stops provisioning, so anything that can be ignored safely (unknown
schemas and extensions, read-only attributes, unknown attributes) is ignored with a
note, and only values that cannot be stored faithfully are refused with ``invalidValue``.

Each adjustment is described by a short note for the request log, e.g.
``"False" read as false`` or ``password discarded``.

Not supported: values for ``integer``/``decimal``/``dateTime`` attributes are checked
for their JSON type only (Willow's writable attributes are strings and booleans).
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidSyntax
from .errors import InvalidValue
from .schema import COMMON_ATTRIBUTES
from .schema import GROUP
from .schema import RESOURCE_SCHEMAS
from .schema import Attribute
from .schema import Schema
from .schema import split_urn

#: Group members must name the member (RFC 7643 §4.2); other elements have no required part.
MEMBERS = GROUP.attribute("members")

#: Most values one multi-valued attribute of a User holds (emails, roles, addresses…).
#: IdPs send a handful. The bound keeps a PATCH's work linear: an operation with a value
#: filter (``emails[value eq "…"]``) looks at every value, so 1,000 operations on 5,000
#: emails took 9.4 s; with at most 1,000 values they take under 2 s. Group members are
#: not bounded here: they are rows changed by deltas, never scanned in memory.
MAX_VALUES = 1000

#: Attributes that must hold a non-empty value, per resource type (RFC 7643 §4.1, §4.2).
REQUIRED = {"User": "userName", "Group": "displayName"}

_STRING_TYPES = ("string", "reference", "binary", "dateTime")


def add_note(notes: list[str], text: str) -> None:
    """Append a note once: the same adjustment made for every element is told once."""
    if text not in notes:
        notes.append(text)


def normalize_resource(resource_type: str, body: dict) -> tuple[dict, list[str]]:
    """The canonical dict for a POST or PUT body, and the notes describing what was adjusted.

    ``resource_type`` is ``"User"`` or ``"Group"``. Raises ``InvalidValue`` when a value has
    the wrong type, when a required attribute is missing or empty, or when a multi-valued
    attribute has more than one ``primary: true`` (RFC 7643 §2.4).
    """
    if not isinstance(body, dict):
        raise InvalidSyntax(f"A {resource_type} must be a JSON object.")
    core, extensions = RESOURCE_SCHEMAS[resource_type]
    notes: list[str] = []
    rv: dict = {}
    for key, value in body.items():
        if key.lower() == "schemas":
            _check_schemas(value, (core, *extensions), notes)
            continue
        schema, rest = split_urn(key, resource_type)
        if schema is None and ":" in key:
            add_note(notes, f"unknown extension {key} ignored")
            continue
        if schema is not None and not rest:
            # The schema's attributes as one object: {"urn:…:enterprise:2.0:User": {...}}.
            if value is None:
                continue
            if not isinstance(value, dict):
                raise InvalidValue(f"'{key}' must be an object of {schema.name} attributes.")
            for sub_key, sub_value in value.items():
                _put(rv, schema, core, sub_key, sub_value, notes)
            continue
        _put(rv, schema or core, core, rest, value, notes)
    check_required(resource_type, rv)
    return rv, notes


def check_required(resource_type: str, resource: dict) -> None:
    """Refuse a resource whose required attribute (userName, displayName) is missing or blank."""
    name = REQUIRED[resource_type]
    value = resource.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"'{name}' is required and must not be empty.")


def _check_schemas(value: Any, known: tuple[Schema, ...], notes: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(uri, str) for uri in value):
        raise InvalidValue("'schemas' must be a list of schema URIs.")
    known_ids = {schema.id.lower() for schema in known}
    for uri in value:
        if uri.lower() not in known_ids:
            add_note(notes, f"unknown schema {uri} ignored")


def _put(rv: dict, schema: Schema, core: Schema, key: str, value: Any, notes: list[str]) -> None:
    """Store one top-level attribute of ``schema`` in ``rv`` under its canonical name."""
    attr = find_schema_attribute(schema, core, key)
    label = key if schema is core else f"{schema.id}:{key}"
    if attr is None:
        add_note(notes, f'unknown attribute "{label}" ignored')
        return
    if attr.name == "password":
        add_note(notes, "password discarded")
        return
    if attr.mutability == "readOnly":
        add_note(notes, f"read-only attribute {attr.name} ignored")
        return
    if attr.name != key:
        add_note(notes, f'"{key}" read as "{attr.name}"')
    label = attr.name if schema is core else f"{schema.id}:{attr.name}"
    normalized = normalize_value(attr, value, label=label, notes=notes)
    if normalized is None:
        return
    target = rv if schema is core else rv.setdefault(schema.id, {})
    if attr.name in target:
        raise InvalidValue(f"'{label}' is given more than once.")
    target[attr.name] = normalized


def find_schema_attribute(schema: Schema, core: Schema, name: str) -> Attribute | None:
    """An attribute of ``schema`` by name (case-insensitive); the core schema also has the
    common attributes ``id``, ``externalId`` and ``meta`` (RFC 7643 §3.1)."""
    if schema is core:
        for common in COMMON_ATTRIBUTES:
            if common.name.lower() == name.lower():
                return common
    return schema.attribute(name)


def normalize_value(attr: Attribute, value: Any, *, label: str, notes: list[str]) -> Any:
    """A value for ``attr`` in canonical form, or None for "no value".

    Multi-valued attributes give a list; a single element given on its own is wrapped
    (with a note). Raises ``InvalidValue`` naming ``label`` when the value has the wrong shape.
    """
    if value is None:
        return None
    if not attr.multi_valued:
        if isinstance(value, list):
            raise InvalidValue(f"'{label}' takes a single value, not a list.")
        return normalize_single(attr, value, label=label, notes=notes)
    if isinstance(value, list):
        items = value
    elif isinstance(value, dict) if attr.type == "complex" else not isinstance(value, dict):
        # One element where a list is expected: unambiguous, so accept it.
        add_note(notes, f"single {label} value wrapped in a list")
        items = [value]
    else:
        raise InvalidValue(f"'{label}' must be a list.")
    if attr is not MEMBERS:
        check_value_count(items, label)
    rv = [
        element
        for element in (normalize_single(attr, item, label=label, notes=notes) for item in items)
        if element is not None
    ]
    check_primary(rv, label)
    return rv or None


def normalize_single(attr: Attribute, value: Any, *, label: str, notes: list[str]) -> Any:
    """One value of ``attr``: a scalar, or for complex attributes an object of its
    sub-attributes (one element, when ``attr`` is multi-valued)."""
    if value is None:
        return None
    if attr.type != "complex":
        return _simple(attr, value, label, notes)
    if isinstance(value, str) and not attr.multi_valued and attr.sub("value") is not None:
        if not value:
            # Entra ID clears the manager with "" (a replace with an empty value).
            add_note(notes, f'{label} "" read as no value')
            return None
        # Entra ID sends the manager as its id alone ("value": "<id>"); a bare string for
        # a single-valued complex attribute with a value sub-attribute can only mean that.
        add_note(notes, f'{label} "{value}" read as {{"value": "{value}"}}')
        value = {"value": value}
    if not isinstance(value, dict):
        raise InvalidValue(f"'{label}' must be {_shape(attr)}.")
    rv: dict = {}
    for key, sub_value in value.items():
        sub = attr.sub(key)
        if sub is None:
            add_note(notes, f'unknown attribute "{label}.{key}" ignored')
            continue
        if sub.mutability == "readOnly":
            # The server's to set (RFC 7643 §2.2): manager.displayName, members.display.
            add_note(notes, f"read-only attribute {label}.{sub.name} ignored")
            continue
        if sub.name != key:
            add_note(notes, f'"{key}" read as "{sub.name}"')
        normalized = _simple(sub, sub_value, f"{label}.{sub.name}", notes)
        if normalized is None:
            continue
        if sub.name in rv:
            raise InvalidValue(f"'{label}.{sub.name}' is given more than once.")
        rv[sub.name] = normalized
    if attr is MEMBERS and not rv.get("value"):
        raise InvalidValue("Every member needs a 'value' (the member's id).")
    if not attr.multi_valued and rv.get("value") == "":
        # {"value": ""} names nobody: the attribute is cleared, not kept as an empty id.
        add_note(notes, f'{label} with an empty value read as no value')
        rv.pop("value")
    return rv or None


def check_value_count(values: list, label: str) -> None:
    """Refuse a multi-valued User attribute of more than :data:`MAX_VALUES` values."""
    if len(values) > MAX_VALUES:
        raise InvalidValue(
            f"'{label}' has {len(values)} values; at most {MAX_VALUES} are accepted."
        )


def check_primary(elements: list[dict], label: str) -> None:
    """RFC 7643 §2.4: the primary attribute value true MUST appear no more than once."""
    primaries = [e for e in elements if isinstance(e, dict) and e.get("primary") is True]
    if len(primaries) > 1:
        raise InvalidValue(f"'{label}' has more than one value with primary true.")


def coerce_boolean(value: Any, label: str, notes: list[str]) -> bool:
    """A JSON boolean, or the strings "true"/"false" in any case (Entra's default job sends
    ``"False"``, RFC 7643 §2.3.2 wants a boolean)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        rv = value.strip().lower() == "true"
        add_note(notes, f'"{value}" read as {str(rv).lower()}')
        return rv
    raise InvalidValue(f"'{label}' must be true or false.")


def _simple(attr: Attribute, value: Any, label: str, notes: list[str]) -> Any:
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise InvalidValue(f"'{label}' must be {_shape(attr)}.")
    if attr.type == "boolean":
        return coerce_boolean(value, label, notes)
    if attr.type in _STRING_TYPES:
        if not isinstance(value, str):
            raise InvalidValue(f"'{label}' must be a string.")
        return value
    if attr.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue(f"'{label}' must be an integer.")
        return value
    if attr.type == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(f"'{label}' must be a number.")
        return value
    raise InvalidValue(f"'{label}' has an unsupported type.")


def _shape(attr: Attribute) -> str:
    if attr.type == "complex":
        return "an object"
    if attr.type == "boolean":
        return "true or false"
    if attr.type in ("integer", "decimal"):
        return "a number"
    return "a string"
