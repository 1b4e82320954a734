"""The SCIM request messages: PatchOp (RFC 7644 §3.5.2) and SearchRequest (RFC 7644 §3.4.3).

marshmallow schemas check the envelope; the resources inside are left to
``willow.scim.protocol.normalize`` and ``willow.scim.protocol.patch``. Keys are matched
case-insensitively (Entra's ``"Operations"`` is canonical, but lower-case variants exist)
and unknown keys are ignored.

Choices where the RFC leaves room:

* A PatchOp without ``schemas`` is accepted with a note (Okta and Entra always send it;
  refusing other clients for a missing constant helps nobody). A ``schemas`` of the wrong
  JSON type is refused with ``invalidSyntax``.
* An unknown ``op`` is ``invalidSyntax``: the message does not conform to the PatchOp
  schema, whose ``op`` has three canonical values (RFC 7644 §3.12, table 9). ``op`` is
  compared case-insensitively (Entra sends ``"Replace"``), with a note.
* ``add`` or ``replace`` without ``value`` is ``invalidValue`` ("a required value was
  missing", RFC 7644 §3.12); ``remove`` needs a ``path``, which ``willow.scim.protocol.patch``
  checks (``noTarget``, RFC 7644 §3.5.2.2).
* A malformed SearchRequest is ``invalidValue`` for a field of the wrong type or value,
  ``invalidSyntax`` when the body is not an object or ``schemas`` is malformed. Paging
  rules (``startIndex`` < 1, negative ``count``, the maximum) are applied by the listing,
  the same way for query strings and bodies; here the values are only read.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import pre_load
from marshmallow import validate

from willow.numbers import INT64_MAX
from willow.numbers import INT64_MIN
from willow.numbers import NotAnInteger
from willow.numbers import parse_integer

from .errors import InvalidSyntax
from .errors import InvalidValue
from .errors import PayloadTooLarge
from .errors import ScimError
from .normalize import add_note
from .schema import PATCH_OP_SCHEMA
from .schema import SEARCH_REQUEST_SCHEMA

OPS = ("add", "remove", "replace")

#: Most operations in one PatchOp. Okta sends one to a few; Entra batches group membership
#: changes in the low hundreds. Above this the request is refused before any operation is
#: read: 413, as RFC 7644 §3.7.4 answers a bulk request over ``maxOperations`` (PATCH has
#: no limit of its own in the RFC, and ServiceProviderConfig's ``patch`` has only
#: ``supported``, so docs/scim.md states it).
MAX_PATCH_OPERATIONS = 1000

# marshmallow 4 has no Schema.context; the notes of the load in progress live here.
_notes: ContextVar[list[str] | None] = ContextVar("willow_message_notes", default=None)


@dataclass(frozen=True)
class PatchOperation:
    """One PATCH operation (RFC 7644 §3.5.2). ``op`` is lower-case; ``path`` is None when
    absent or blank; ``value`` is None when absent or null."""

    op: str
    path: str | None = None
    value: Any = None


@dataclass(frozen=True)
class SearchRequest:
    """A SearchRequest body (RFC 7644 §3.4.3), values as sent; None when absent."""

    attributes: tuple[str, ...] = ()
    excluded_attributes: tuple[str, ...] = ()
    filter: str | None = None
    sort_by: str | None = None
    #: "ascending" or "descending".
    sort_order: str | None = None
    start_index: int | None = None
    #: An integer, except in a cursor-paged request, where the listing checks it
    #: (RFC 9865 §2.1: a bad count there is ``invalidCount``).
    count: Any = None
    #: RFC 9865 §3: None when absent; "" asks for the first page.
    cursor: Any = None


def _note(text: str) -> None:
    notes = _notes.get()
    if notes is not None:
        add_note(notes, text)


class _Integer(fields.Field):
    """A JSON integer, or a string holding one, read by Willow's one number rule
    (:func:`willow.numbers.parse_integer`); 10.5, true and "99_999" are refused, not
    truncated. Values beyond 64 bits are kept at the 64-bit bound for the listing to clamp."""

    default_error_messages = {"invalid": "Not an integer written with the digits 0-9."}

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_integer(value, INT64_MIN, INT64_MAX, clamp=True)
        except NotAnInteger:
            raise self.make_error("invalid") from None


class _AttributeNames(fields.Field):
    """A list of attribute names, or one comma-separated string (RFC 7644 §3.4.2.5)."""

    default_error_messages = {"invalid": "Not a list of attribute names."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise self.make_error("invalid")
        return tuple(name.strip() for name in value if name.strip())


class _SchemaUris(fields.Field):
    """``schemas``: a list of URIs; a single string is read as a list of one."""

    default_error_messages = {"invalid": "Not a list of schema URIs."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(uri, str) for uri in value):
            raise self.make_error("invalid")
        return value


class MessageSchema(Schema):
    """Base for request messages: keys matched case-insensitively, unknown keys ignored."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def canonical_keys(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data  # marshmallow reports "Invalid input type."
        names = {
            (f.data_key or name).lower(): f.data_key or name for name, f in self.fields.items()
        }
        rv: dict = {}
        for key, value in data.items():
            canonical = names.get(key.lower(), key)
            if canonical in rv:
                raise ValidationError("Given more than once.", canonical)
            rv[canonical] = value
        return rv


class PatchOperationSchema(MessageSchema):
    op = fields.String(required=True)
    path = fields.String(load_default=None, allow_none=True)
    value = fields.Raw(allow_none=True)

    @post_load
    def make_operation(self, data: dict, **kwargs: Any) -> PatchOperation:
        sent = data["op"]
        op = sent.strip().lower()
        if op not in OPS:
            raise ValidationError(f"Must be add, remove or replace, not {sent!r}.", "op")
        if op != sent:
            _note(f'op "{sent}" read as "{op}"')
        path = data["path"].strip() if data["path"] is not None else None
        if path == "":
            _note("empty path read as no path")
            path = None
        if op != "remove" and "value" not in data:
            # Raised as is: marshmallow lets non-ValidationError exceptions through.
            raise InvalidValue(f'The "{op}" operation needs a "value".')
        return PatchOperation(op=op, path=path, value=data.get("value"))


class PatchRequestSchema(MessageSchema):
    schemas = _SchemaUris(load_default=None, allow_none=True)
    operations = fields.List(
        fields.Nested(PatchOperationSchema),
        required=True,
        data_key="Operations",
        validate=validate.Length(min=1, error="At least one operation is required."),
    )

    @post_load
    def check_schemas(self, data: dict, **kwargs: Any) -> list[PatchOperation]:
        _check_message_schema(data["schemas"], PATCH_OP_SCHEMA, "PatchOp")
        return data["operations"]


class SearchRequestSchema(MessageSchema):
    schemas = _SchemaUris(load_default=None, allow_none=True)
    attributes = _AttributeNames(load_default=(), allow_none=True)
    excluded_attributes = _AttributeNames(
        load_default=(), allow_none=True, data_key="excludedAttributes"
    )
    filter = fields.String(load_default=None, allow_none=True)
    sort_by = fields.String(load_default=None, allow_none=True, data_key="sortBy")
    sort_order = fields.String(load_default=None, allow_none=True, data_key="sortOrder")
    start_index = _Integer(load_default=None, allow_none=True, data_key="startIndex")
    count = fields.Raw(load_default=None, allow_none=True)
    cursor = fields.Raw(load_default=None, allow_none=True)

    @post_load
    def make_request(self, data: dict, **kwargs: Any) -> SearchRequest:
        _check_message_schema(data["schemas"], SEARCH_REQUEST_SCHEMA, "SearchRequest")
        count = data["count"]
        if data["cursor"] is None and count is not None:
            try:
                count = _Integer().deserialize(count, "count", data)
            except ValidationError as exc:
                raise ValidationError(exc.messages, "count") from None
        order = data["sort_order"]
        if order is not None:
            order = order.strip().lower() or None
            if order not in (None, "ascending", "descending"):
                raise ValidationError("Must be ascending or descending.", "sortOrder")
        return SearchRequest(
            attributes=data["attributes"] or (),
            excluded_attributes=data["excluded_attributes"] or (),
            filter=_blank_to_none(data["filter"]),
            sort_by=_blank_to_none(data["sort_by"]),
            sort_order=order,
            start_index=data["start_index"],
            count=count,
            cursor=data["cursor"],
        )


def _blank_to_none(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()


def _check_message_schema(uris: list[str] | None, expected: str, name: str) -> None:
    if not uris:
        _note(f"schemas missing: read as {name}")
    elif expected.lower() not in (uri.lower() for uri in uris):
        _note(f"schemas does not name {name}: read as {name}")


patch_request_schema = PatchRequestSchema()
search_request_schema = SearchRequestSchema()


_PATCH_KEYS = frozenset({"schemas", "Operations"})
_OPERATION_KEYS = frozenset({"op", "path", "value"})


def _canonical_patch(body: Any) -> list[PatchOperation] | None:
    """The operations of a PatchOp written exactly as the RFC spells it (Okta's and
    Entra's, nearly always), read without the schema; None for anything else, which the
    schema reads (and notes or refuses). What this returns is what the schema would."""
    if not isinstance(body, dict) or body.keys() != _PATCH_KEYS:
        return None
    schemas, operations = body["schemas"], body["Operations"]
    if schemas != [PATCH_OP_SCHEMA] or not isinstance(operations, list) or not operations:
        return None
    rv = []
    for item in operations:
        if not isinstance(item, dict) or not item.keys() <= _OPERATION_KEYS:
            return None
        op, path = item.get("op"), item.get("path")
        if op not in OPS or (op != "remove" and "value" not in item):
            return None
        if path is not None and (not isinstance(path, str) or not path or path != path.strip()):
            return None
        rv.append(PatchOperation(op=op, path=path, value=item.get("value")))
    return rv


def load_patch_request(body: Any) -> tuple[list[PatchOperation], list[str]]:
    """The operations of a PatchOp body, in order, and notes on how it was read.

    Raises ``InvalidSyntax`` for a malformed envelope and ``InvalidValue`` for an
    ``add``/``replace`` without a value.
    """
    _check_operation_count(body)
    canonical = _canonical_patch(body)
    if canonical is not None:
        return canonical, []
    notes: list[str] = []
    operations = _load(patch_request_schema, body, notes, "PatchOp request", InvalidSyntax)
    return operations, notes


def _check_operation_count(body: Any) -> None:
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        if key.lower() == "operations" and isinstance(value, list):
            if len(value) > MAX_PATCH_OPERATIONS:
                raise PayloadTooLarge(
                    f"The PatchOp has {len(value)} operations; at most "
                    f"{MAX_PATCH_OPERATIONS} are accepted in one request. Send the rest "
                    "in further requests."
                )


def load_search_request(body: Any) -> SearchRequest:
    """A SearchRequest body (RFC 7644 §3.4.3) as a dataclass.

    Raises ``InvalidSyntax`` when the body is not an object or ``schemas`` is malformed,
    ``InvalidValue`` when a parameter has the wrong type or value.
    """
    return _load(search_request_schema, body, [], "SearchRequest", InvalidValue)


def _load(schema: Schema, body: Any, notes: list[str], name: str, error: type[ScimError]) -> Any:
    if not isinstance(body, dict):
        raise InvalidSyntax(f"A {name} must be a JSON object.")
    token = _notes.set(notes)
    try:
        return schema.load(body)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        if "schemas" in messages:
            error = InvalidSyntax
        raise error(f"The {name} is not valid: {_describe(messages)}") from None
    finally:
        _notes.reset(token)


def _describe(messages: Any, prefix: str = "") -> str:
    """marshmallow's nested error dict as one line: ``Operations.0.op: Missing data…``."""
    if isinstance(messages, dict):
        parts = []
        for key, value in messages.items():
            name = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
            parts.append(_describe(value, name))
        return " ".join(parts)
    if isinstance(messages, list):
        text = " ".join(str(m) for m in messages)
    else:
        text = str(messages)
    return f"{prefix}: {text}" if prefix else text
