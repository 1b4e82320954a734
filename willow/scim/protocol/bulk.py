"""/Bulk (RFC 7644 §3.7): the BulkRequest message, ``bulkId`` references, the order the
operations run in, and the BulkResponse.

Pure: nothing here runs an operation. ``willow.scim.bulk`` runs each one as the request it
stands for (its own transaction, validation, events and log row) and reports back here.

Rules as implemented:

- A request over ``maxOperations`` or ``maxPayloadSize`` is refused whole with 413 and the
  RFC's wording (§3.7.4); a malformed envelope or operation is refused whole with 400
  before anything runs (nothing half-done).
- ``bulkId:x`` is resolved in an operation's path ("/Groups/bulkId:x") and in any
  ``value`` in its data (``members[].value``, a PATCH's ``value``, ``manager.value``),
  §3.7.2. An operation runs after the POSTs it refers to, even if it comes first in the
  request (§3.7.1 leaves the order to the service provider).
- A cycle of Group POSTs referring to each other through ``members`` is resolved: the
  first group of the cycle is created without the members not created yet, and they are
  added by a PATCH once they are (§3.7.1). Any other cycle is answered 409, as §3.7.1
  allows.
- A reference to a bulkId no POST of the request defines is 400 ``invalidValue``; to an
  operation that failed, 409 (§3.7.3). Neither runs.
- ``failOnErrors`` (§3.7.3): after that many errors the remaining operations are not run
  and not reported.

Not supported: ``bulkId:`` inside a PATCH path's value filter
(``members[value eq "bulkId:x"]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from .errors import ERROR_SCHEMA
from .errors import InvalidSyntax
from .errors import InvalidValue
from .errors import PayloadTooLarge

BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
#: ``bulk.maxOperations`` (RFC 7643 §5). authentik sizes its requests by it.
MAX_OPERATIONS = 1000
METHODS = ("POST", "PUT", "PATCH", "DELETE")
BULK_ID_PREFIX = "bulkId:"
#: Longest bulkId accepted: it is echoed back and named in errors, never stored.
MAX_BULK_ID_LENGTH = 200

_PATH = re.compile(r"^/(users|groups)(?:/([^/?#]+))?/?$", re.IGNORECASE)
_COLLECTIONS = {"users": "Users", "groups": "Groups"}


class BulkTooLarge(PayloadTooLarge):
    """413 over a limit of §3.7.4. Its detail is the RFC's sentence exactly, without the
    request id other errors carry: clients match on it."""

    exact_detail = True


def payload_too_large(limit: int) -> BulkTooLarge:
    return BulkTooLarge(f"The size of the bulk operation exceeds the maxPayloadSize ({limit}).")


def too_many_operations(limit: int) -> BulkTooLarge:
    return BulkTooLarge(f"The number of operations exceeds the maxOperations ({limit}).")


@dataclass(frozen=True)
class Operation:
    """One operation of a BulkRequest (§3.7), as sent. ``target`` is the resource id of
    PUT/PATCH/DELETE (possibly ``bulkId:x``); ``version`` an ETag for If-Match."""

    index: int
    method: str
    collection: str
    target: str | None
    bulk_id: str | None
    version: str | None
    data: Any

    @property
    def path(self) -> str:
        return f"/{self.collection}" if self.target is None else f"/{self.collection}/{self.target}"


@dataclass(frozen=True)
class BulkRequest:
    operations: tuple[Operation, ...]
    fail_on_errors: int | None = None


def _keys(obj: dict) -> dict[str, Any]:
    """Attribute names are case-insensitive (RFC 7643 §2.1): keyed in lower case."""
    return {key.lower(): value for key, value in obj.items() if isinstance(key, str)}


def load_bulk_request(body: Any, max_operations: int = MAX_OPERATIONS) -> BulkRequest:
    """A BulkRequest body (§3.7) as a dataclass.

    Raises ``BulkTooLarge`` past ``max_operations`` (counted before anything else is
    read), ``InvalidSyntax`` for a malformed envelope or operation and ``InvalidValue``
    for a value of the wrong kind.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("A BulkRequest must be a JSON object.")
    fields = _keys(body)
    operations = fields.get("operations")
    if isinstance(operations, list) and len(operations) > max_operations:
        raise too_many_operations(max_operations)
    schemas = fields.get("schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.lower() == BULK_REQUEST_SCHEMA.lower() for s in schemas
    ):
        raise InvalidSyntax(f"A BulkRequest must list {BULK_REQUEST_SCHEMA!r} in 'schemas'.")
    if not isinstance(operations, list):
        raise InvalidSyntax("A BulkRequest must have 'Operations', a list.")
    fail_on_errors = fields.get("failonerrors")
    if fail_on_errors is not None and (
        isinstance(fail_on_errors, bool)
        or not isinstance(fail_on_errors, int)
        or fail_on_errors < 1
    ):
        raise InvalidValue("'failOnErrors' must be an integer of 1 or more.")
    loaded = tuple(_load_operation(i, op) for i, op in enumerate(operations))
    seen: set[str] = set()
    for op in loaded:
        if op.bulk_id is not None:
            if op.bulk_id in seen:
                raise InvalidValue(
                    f"Operations[{op.index}]: bulkId {op.bulk_id!r} is used by another "
                    "operation; each bulkId must be unique in the request."
                )
            seen.add(op.bulk_id)
    return BulkRequest(loaded, fail_on_errors)


def _load_operation(index: int, raw: Any) -> Operation:
    where = f"Operations[{index}]"
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"{where} must be a JSON object.")
    fields = _keys(raw)
    method = fields.get("method")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise InvalidValue(f"{where}: 'method' must be one of {', '.join(METHODS)}.")
    method = method.upper()
    path = fields.get("path")
    match = _PATH.match(path) if isinstance(path, str) else None
    if match is None:
        raise InvalidValue(
            f"{where}: 'path' must be '/Users' or '/Groups', followed by '/<id>' for "
            f"{', '.join(METHODS[1:])}."
        )
    collection, target = _COLLECTIONS[match.group(1).lower()], match.group(2)
    if method == "POST" and target is not None:
        raise InvalidValue(f"{where}: a POST's 'path' is the collection ('/{collection}').")
    if method != "POST" and target is None:
        raise InvalidValue(f"{where}: a {method}'s 'path' names a resource ('/{collection}/<id>').")
    bulk_id = fields.get("bulkid")
    if bulk_id is not None and (
        not isinstance(bulk_id, str) or not bulk_id.strip() or len(bulk_id) > MAX_BULK_ID_LENGTH
    ):
        raise InvalidValue(
            f"{where}: 'bulkId' must be a non-empty string of at most {MAX_BULK_ID_LENGTH} "
            "characters."
        )
    if method == "POST" and bulk_id is None:
        raise InvalidValue(f"{where}: a POST needs a 'bulkId' (RFC 7644 §3.7).")
    if target is not None and target.startswith(BULK_ID_PREFIX) and not target[7:]:
        raise InvalidValue(f"{where}: 'path' names an empty bulkId.")
    version = fields.get("version")
    if version is not None and not isinstance(version, str):
        raise InvalidValue(f"{where}: 'version' must be a string (an ETag).")
    data = fields.get("data")
    if method != "DELETE" and not isinstance(data, dict):
        raise InvalidSyntax(f"{where}: a {method} needs 'data', a JSON object.")
    return Operation(index, method, collection, target, bulk_id, version, data)


# -- References --------------------------------------------------------------------------


def _value_references(data: Any, out: set[str]) -> None:
    """The bulkIds named by ``value`` attributes anywhere in ``data``."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if (
                    isinstance(value, str)
                    and isinstance(key, str)
                    and key.lower() == "value"
                    and value.startswith(BULK_ID_PREFIX)
                ):
                    out.add(value[len(BULK_ID_PREFIX) :])
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def references(op: Operation) -> frozenset[str]:
    """Every bulkId the operation refers to, in its path or its data."""
    out: set[str] = set()
    if op.target is not None and op.target.startswith(BULK_ID_PREFIX):
        out.add(op.target[len(BULK_ID_PREFIX) :])
    _value_references(op.data, out)
    return frozenset(out)


def resolve_values(data: Any, ids: dict[str, str]) -> Any:
    """``data`` with each ``value`` naming a bulkId of ``ids`` replaced by its id."""
    if isinstance(data, dict):
        rv = {}
        for key, value in data.items():
            if (
                isinstance(value, str)
                and isinstance(key, str)
                and key.lower() == "value"
                and value.startswith(BULK_ID_PREFIX)
            ):
                value = ids.get(value[len(BULK_ID_PREFIX) :], value)
            else:
                value = resolve_values(value, ids)
            rv[key] = value
        return rv
    if isinstance(data, list):
        return [resolve_values(item, ids) for item in data]
    return data


def resolve(op: Operation, ids: dict[str, str]) -> tuple[str, Any]:
    """The operation's path and data with every bulkId replaced by the id of the resource
    its POST created (``ids``: bulkId → id)."""
    path = op.path
    if op.target is not None and op.target.startswith(BULK_ID_PREFIX):
        path = f"/{op.collection}/{ids[op.target[len(BULK_ID_PREFIX) :]]}"
    return path, resolve_values(op.data, ids)


def without_members(data: dict, bulk_ids: frozenset[str]) -> tuple[dict, list[dict]]:
    """A Group POST's data without the members naming ``bulk_ids``, and those members (to
    be added once their resources exist: the break of a circular reference, §3.7.1)."""
    kept, deferred = [], []
    rv = {}
    for key, value in data.items():
        if isinstance(key, str) and key.lower() == "members" and isinstance(value, list):
            for member in value:
                out: set[str] = set()
                _value_references(member, out)
                (deferred if out & bulk_ids else kept).append(member)
            value = kept
        rv[key] = value
    return rv, deferred


def members_patch(members: list[dict]) -> dict:
    """The PatchOp that adds a cycle's deferred members (RFC 7644 §3.5.2.1)."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}],
    }


# -- Order -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing to do, in order. ``kind``:

    - ``run``: run the operation; ``defer`` names the bulkIds whose members are left out
      of a Group POST (added by its ``complete`` step);
    - ``complete``: add the deferred members of that POST;
    - ``unknown``: refuse it, 400, it names a bulkId no other POST of the request
      defines (``names``);
    - ``circular``: refuse it, 409, its references form a cycle Willow cannot break.
    """

    kind: str
    op: Operation
    defer: frozenset[str] = field(default_factory=frozenset)
    names: frozenset[str] = field(default_factory=frozenset)


def _members_only(op: Operation, bulk_ids: frozenset[str]) -> bool:
    """Whether every reference of ``op`` to ``bulk_ids`` is a member of a Group POST."""
    if op.method != "POST" or op.collection != "Groups" or not isinstance(op.data, dict):
        return False
    rest, _ = without_members(op.data, bulk_ids)
    out: set[str] = set()
    _value_references(rest, out)
    return not (out & bulk_ids)


def _on_cycle(bulk_id: str | None, graph: dict[str, frozenset[str]]) -> bool:
    """Whether following references from ``bulk_id`` leads back to it."""
    if bulk_id is None:
        return False
    seen: set[str] = set()
    stack = list(graph.get(bulk_id, ()))
    while stack:
        node = stack.pop()
        if node == bulk_id:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(graph.get(node, ()))
    return False


def plan(request: BulkRequest) -> list[Step]:
    """The steps that carry the request out (§3.7.1): request order, except that an
    operation waits for the POSTs it refers to; cycles broken where they can be."""
    defined = {op.bulk_id: op for op in request.operations if op.method == "POST" and op.bulk_id}
    steps: list[Step] = []
    waiting: list[tuple[Operation, frozenset[str]]] = []
    for op in request.operations:
        refs = references(op)
        unknown = frozenset(b for b in refs if b not in defined or defined[b] is op)
        if unknown:
            steps.append(Step("unknown", op, names=unknown))
        else:
            waiting.append((op, refs))
    # A refused POST counts as done: what refers to it is answered 409 when its turn comes.
    done: set[str] = {step.op.bulk_id for step in steps if step.op.bulk_id}
    completions: list[Step] = []
    while waiting:
        ready = next((i for i, (_, refs) in enumerate(waiting) if refs <= done), None)
        if ready is not None:
            op, _ = waiting.pop(ready)
            steps.append(Step("run", op))
        else:
            # Nothing can run: every waiting operation is on or behind a cycle.
            pending = frozenset(b for op, _ in waiting if op.bulk_id for b in [op.bulk_id])
            graph = {op.bulk_id: refs - done for op, refs in waiting if op.bulk_id}
            breakable = next(
                (
                    i
                    for i, (op, refs) in enumerate(waiting)
                    if _on_cycle(op.bulk_id, graph) and _members_only(op, frozenset(refs - done))
                ),
                None,
            )
            if breakable is None:
                steps.extend(Step("circular", op, names=refs - done) for op, refs in waiting)
                break
            op, refs = waiting.pop(breakable)
            deferred = frozenset(refs - done) & pending
            steps.append(Step("run", op, defer=deferred))
            completions.append(Step("complete", op, defer=deferred))
        if op.bulk_id:
            done.add(op.bulk_id)
    return steps + completions


# -- Response ----------------------------------------------------------------------------


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict:
    rv: dict = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        rv["scimType"] = scim_type
    return rv


def operation_result(
    op: Operation,
    status: int,
    *,
    location: str | None = None,
    version: str | None = None,
    response: Any = None,
) -> dict:
    """One entry of the BulkResponse's ``Operations`` (§3.7.3). The body is included for
    an error only (a success MAY omit it, and a large group's would swell the answer)."""
    rv: dict = {"method": op.method}
    if op.bulk_id is not None:
        rv["bulkId"] = op.bulk_id
    if version is not None:
        rv["version"] = version
    if location is not None:
        rv["location"] = location
    rv["status"] = str(status)
    if status >= 400 and response is not None:
        rv["response"] = response
    return rv


def bulk_response(results: list[dict]) -> dict:
    return {"schemas": [BULK_RESPONSE_SCHEMA], "Operations": results}
