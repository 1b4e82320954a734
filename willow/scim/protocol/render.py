"""Rendering resources as SCIM JSON, and ``attributes``/``excludedAttributes`` projection.

Pure functions: the callers pass what was loaded from the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .schema import ENTERPRISE_USER_SCHEMA
from .schema import GROUP_SCHEMA
from .schema import RESOURCE_SCHEMAS
from .schema import USER_SCHEMA
from .schema import find_attribute


def timestamp(value: datetime) -> str:
    """RFC 7643 §2.3.5 dateTime, in UTC."""
    return (
        value.replace(microsecond=(value.microsecond // 1000) * 1000).isoformat(
            timespec="milliseconds"
        )
        + "Z"
    )


def meta(
    resource_type: str, created: datetime, modified: datetime, version: int, location: str
) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": timestamp(created),
        "lastModified": timestamp(modified),
        "location": location,
        "version": f'W/"{version}"',
    }


def render_user(
    resource_id: str, resource: dict[str, Any], groups: list[dict[str, Any]], meta_: dict[str, Any]
) -> dict[str, Any]:
    """The full User representation (before projection)."""
    schemas = [USER_SCHEMA]
    if ENTERPRISE_USER_SCHEMA in resource:
        schemas.append(ENTERPRISE_USER_SCHEMA)
    rv: dict[str, Any] = {"schemas": schemas, "id": resource_id}
    for key, value in resource.items():
        if key != ENTERPRISE_USER_SCHEMA:
            rv[key] = value
    if groups:
        rv["groups"] = groups
    if ENTERPRISE_USER_SCHEMA in resource:
        rv[ENTERPRISE_USER_SCHEMA] = resource[ENTERPRISE_USER_SCHEMA]
    rv["meta"] = meta_
    return rv


def render_group(
    resource_id: str,
    display_name: str,
    external_id: str | None,
    members: list[dict[str, Any]] | None,
    meta_: dict[str, Any],
) -> dict[str, Any]:
    rv: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": resource_id}
    if external_id is not None:
        rv["externalId"] = external_id
    rv["displayName"] = display_name
    if members is not None:
        rv["members"] = members
    rv["meta"] = meta_
    return rv


class Projection:
    """RFC 7644 §3.4.2.5: which attributes a response carries.

    ``attributes`` lists what to return (plus what is always returned: id, schemas);
    ``excludedAttributes`` lists what to leave out of the default set. Names may be
    sub-attributes (``name.givenName``) or URN-prefixed. Unknown names are ignored.
    """

    def __init__(
        self,
        resource_type: str,
        attributes: Iterable[str] | None = None,
        excluded: Iterable[str] | None = None,
    ):
        self.resource_type = resource_type
        #: Whether ``attributes`` was given at all: naming only unknown attributes still
        #: asks for the minimal representation, not the default one.
        self.selective = any(a.strip() for a in attributes or ())
        self.include = _resolve(resource_type, attributes)
        self.exclude = _resolve(resource_type, excluded)

    @property
    def is_default(self) -> bool:
        return not self.selective and not self.exclude

    def wants(self, attribute: str) -> bool:
        """Whether top-level ``attribute`` (canonical name) can appear in the output, so
        callers can skip loading it (e.g. group members)."""
        if self.selective:
            return any(top == attribute for top, _ in self.include)
        return (attribute, None) not in self.exclude

    def apply(self, rv: dict[str, Any]) -> dict[str, Any]:
        if self.selective:
            out: dict[str, Any] = {}
            for key in ("schemas", "id"):
                if key in rv:
                    out[key] = rv[key]
            for top, sub in self.include:
                _copy(rv, out, top, sub)
            return self._settle_schemas(out)
        if self.exclude:
            out = dict(rv)
            for top, sub in self.exclude:
                if top in ("id", "schemas"):
                    continue
                _remove(out, top, sub)
            return self._settle_schemas(out)
        return rv

    def _settle_schemas(self, rv: dict[str, Any]) -> dict[str, Any]:
        """RFC 7643 §3: ``schemas`` names the schemas of the attributes present, so an
        extension left with no attribute loses its object and its URN."""
        _, extensions = RESOURCE_SCHEMAS[self.resource_type]
        urns = {extension.id for extension in extensions}
        for urn in urns:
            if urn in rv and not rv[urn]:
                del rv[urn]
        if "schemas" in rv:
            rv["schemas"] = [uri for uri in rv["schemas"] if uri not in urns or uri in rv]
        return rv


def _resolve(resource_type: str, names: Iterable[str] | None) -> list[tuple[str, str | None]]:
    """Canonical (top-level key, sub-attribute) pairs; extension attributes use the URN as
    their top-level key."""
    rv: list[tuple[str, str | None]] = []
    core, _ = RESOURCE_SCHEMAS[resource_type]
    for raw in names or ():
        name = raw.strip()
        if not name:
            continue
        schema, attr, sub = find_attribute(resource_type, name)
        if schema is not None and attr is None and name.lower() == schema.id.lower():
            rv.append((schema.id, None))
            continue
        if attr is None:
            continue
        if schema is not None and schema is not core:
            rv.append((schema.id, attr.name if sub is None else f"{attr.name}.{sub.name}"))
        else:
            rv.append((attr.name, sub.name if sub is not None else None))
    return rv


def _copy(src: dict[str, Any], dst: dict[str, Any], top: str, sub: str | None) -> None:
    if top not in src:
        return
    value = src[top]
    if sub is None:
        dst[top] = value
        return
    first, _, rest = sub.partition(".")
    if isinstance(value, list):
        picked = [{first: e[first]} for e in value if isinstance(e, dict) and first in e]
        if picked:
            existing = dst.setdefault(top, [{} for _ in picked])
            if isinstance(existing, list) and len(existing) == len(picked):
                for target, element in zip(existing, picked, strict=True):
                    target.update(element)
    elif isinstance(value, dict) and first in value:
        target = dst.setdefault(top, {})
        if isinstance(target, dict):
            if rest:
                _copy(value, target, first, rest)
            else:
                target[first] = value[first]


def _remove(rv: dict[str, Any], top: str, sub: str | None) -> None:
    if top not in rv:
        return
    if sub is None:
        rv.pop(top)
        return
    first, _, rest = sub.partition(".")
    value = rv[top]
    if isinstance(value, list):
        rv[top] = [{k: v for k, v in e.items() if k != first} for e in value]
    elif isinstance(value, dict):
        copy = dict(value)
        if rest:
            _remove(copy, first, rest)
        else:
            copy.pop(first, None)
        rv[top] = copy
