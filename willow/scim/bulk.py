"""Carrying out a /Bulk request (RFC 7644 §3.7): each operation as the request it stands for.

An operation is dispatched inside the application as the single-resource request it
describes (``POST /Users`` with its ``data`` as the body, ``If-Match`` from its
``version``), through the same bearer check, views, store, events, deprovisioning guard
and request log as if the client had sent it alone. So it is validated, versioned,
guarded and logged exactly like one: one transaction per operation (a failed operation
leaves nothing half-written and does not undo the ones before it), one request-log row
per operation, linked to the Bulk request's row by ``bulk_request_id``, its body
redacted as any request's.

The order, the bulkId references and the BulkResponse are decided in
``willow.scim.protocol.bulk``; this module only runs the steps it plans.

The operations run through ``Flask.wsgi_app``, under the WSGI middleware (the request
gate, the access log): the Bulk request already holds its slot and its access-log line,
and an operation waiting for a slot of its own could wait for itself. Each one counts
against the token's rate limit like the request it stands for.
"""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

from flask import Flask
from flask import current_app
from flask import request
from werkzeug.datastructures import Headers

from ..server.json_limits import loads as load_json
from ..server.middleware import PATH_AS_SENT
from ..server.request_gate import ARRIVED
from .protocol import bulk as rules
from .protocol.bulk import BulkRequest
from .protocol.bulk import Operation

#: The environ key, on the Bulk request and on each operation's request, holding the Bulk
#: request's id: the request log stores it as ``bulk_request_id`` (monitor/capture.py).
BULK_REQUEST_ID = "willow.bulk_request_id"
SCIM_BASE = "/scim/v2"

# What an operation's request does not inherit from the Bulk request: its own method, path,
# body and preconditions are set from the operation; the rest (client address, Host,
# Authorization, User-Agent, the proxy's scheme) is the Bulk request's.
_NOT_INHERITED = frozenset(
    {
        "HTTP_IF_MATCH",
        "HTTP_IF_NONE_MATCH",
        "HTTP_TRANSFER_ENCODING",
        "HTTP_CONTENT_LENGTH",
        "HTTP_CONTENT_TYPE",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "QUERY_STRING",
        "REQUEST_URI",
        "RAW_URI",
        "werkzeug.request",
        ARRIVED,
        PATH_AS_SENT,
    }
)


def _environ(outer: dict, method: str, path: str, body: Any, version: str | None) -> dict:
    environ = {key: value for key, value in outer.items() if key not in _NOT_INHERITED}
    payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    environ.update(
        {
            "REQUEST_METHOD": method,
            # WSGI paths are bytes read as Latin-1 (PEP 3333).
            "PATH_INFO": (SCIM_BASE + path).encode("utf-8").decode("latin-1"),
            "QUERY_STRING": "",
            "wsgi.input": BytesIO(payload),
        }
    )
    if body is not None:
        environ["CONTENT_TYPE"] = "application/scim+json"
        environ["CONTENT_LENGTH"] = str(len(payload))
    if version is not None:
        environ["HTTP_IF_MATCH"] = version
    return environ


def _dispatch(app: Flask, environ: dict) -> tuple[int, Headers, bytes]:
    """Run one request through the application (not its WSGI middleware) and collect
    the answer. A fresh application context gives it its own ``g``: its own connection,
    transaction, request record and events."""
    answer: list[Any] = []

    def start_response(status: str, headers: list, exc_info: Any = None) -> Any:
        answer[:] = [status, headers]
        return lambda data: None

    with app.app_context():
        chunks = Flask.wsgi_app(app, environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    return int(answer[0].split(" ", 1)[0]), Headers(answer[1]), body


def _error_response(status: int, body: bytes) -> Any:
    try:
        parsed = load_json(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    return rules.error_body(status, "The operation failed.")


class _Run:
    """The state of one Bulk request's run: ids created so far, failed bulkIds, results."""

    def __init__(self, message: BulkRequest, base: str) -> None:
        self.app = current_app._get_current_object()  # noqa: SLF001
        self.outer = request.environ
        self.base = base
        self.fail_on_errors = message.fail_on_errors
        self.ids: dict[str, str] = {}
        self.failed: set[str] = set()
        self.results: dict[int, dict] = {}
        self.deferred: dict[int, list] = {}
        self.errors = 0

    def send(self, method: str, path: str, body: Any, version: str | None):
        return _dispatch(self.app, _environ(self.outer, method, path, body, version))

    def record(self, op: Operation, result: dict, *, failed: bool) -> None:
        self.results[op.index] = result
        if failed:
            self.errors += 1
            if op.bulk_id is not None:
                self.failed.add(op.bulk_id)

    def refuse(self, op: Operation, status: int, detail: str, scim_type: str | None = None):
        location = None
        if op.target is not None and not op.target.startswith(rules.BULK_ID_PREFIX):
            location = f"{self.base}{op.path}"
        body = rules.error_body(status, detail, scim_type)
        self.record(
            op, rules.operation_result(op, status, location=location, response=body), failed=True
        )

    def run(self, step: rules.Step) -> None:
        op = step.op
        failed = sorted((rules.references(op) - step.defer) & self.failed)
        if failed:
            self.refuse(op, 409, _names("refers to", failed, "whose operation failed"))
            return
        path, data = rules.resolve(op, self.ids)
        if step.defer:
            data, self.deferred[op.index] = rules.without_members(data, step.defer)
        body = None if op.method == "DELETE" else data
        status, headers, raw = self.send(op.method, path, body, op.version)
        location = headers.get("Location") if op.method == "POST" else f"{self.base}{path}"
        if op.method == "POST" and status == 201 and location and op.bulk_id:
            self.ids[op.bulk_id] = location.rstrip("/").rsplit("/", 1)[-1]
        ok = status < 400
        self.record(
            op,
            rules.operation_result(
                op,
                status,
                location=location if ok or op.method != "POST" else None,
                version=headers.get("ETag"),
                response=None if ok else _error_response(status, raw),
            ),
            failed=not ok,
        )

    def complete(self, step: rules.Step) -> None:
        """Add the members a cycle's Group POST was created without (§3.7.1)."""
        op = step.op
        members = self.deferred.get(op.index)
        group_id = self.ids.get(op.bulk_id or "")
        if members is None or group_id is None:
            return  # the POST itself failed, and says so
        result = self.results[op.index]
        failed = sorted(step.defer & self.failed)
        if failed:
            detail = _names("was created without members", failed, "whose operations failed")
            self.record(op, _without(op, result, 409, rules.error_body(409, detail)), failed=True)
            return
        patch = rules.members_patch(rules.resolve_values(members, self.ids))
        status, headers, raw = self.send("PATCH", f"/Groups/{group_id}", patch, None)
        if status < 400:
            if headers.get("ETag"):
                result["version"] = headers["ETag"]
            return
        self.record(op, _without(op, result, status, _error_response(status, raw)), failed=True)


def _without(op: Operation, created: dict, status: int, response: Any) -> dict:
    """The result of a cycle's Group POST whose deferred members could not be added: the
    group exists (``location``) but not as the operation asked."""
    return rules.operation_result(
        op,
        status,
        location=created.get("location"),
        version=created.get("version"),
        response=response,
    )


def _names(before: str, bulk_ids: list[str], after: str) -> str:
    listed = ", ".join(f"bulkId:{b}" for b in bulk_ids)
    return f"The operation {before} {listed}, {after}."


def run(message: BulkRequest, base: str) -> list[dict]:
    """Carry out ``message``'s operations; the BulkResponse's ``Operations``, in the order
    of the request, for every operation that was run or refused before ``failOnErrors``
    stopped the rest (RFC 7644 §3.7.3)."""
    state = _Run(message, base)
    for step in rules.plan(message):
        if state.fail_on_errors is not None and state.errors >= state.fail_on_errors:
            break
        if step.kind == "unknown":
            state.refuse(
                step.op,
                400,
                _names("refers to", sorted(step.names), "which no other POST of this request has"),
                "invalidValue",
            )
        elif step.kind == "circular":
            state.refuse(
                step.op,
                409,
                _names(
                    "refers to", sorted(step.names), "in a circular reference Willow cannot resolve"
                ),
            )
        elif step.kind == "complete":
            state.complete(step)
        else:
            state.run(step)
    return [state.results[index] for index in sorted(state.results)]
