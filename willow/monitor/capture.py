"""Capture of every request under /scim into the request log.

The hook is app-level and keyed on the path, so unknown routes, 401s and the 404/405/413
that Werkzeug raises before any blueprint code runs are logged too. It runs after the
response is built (and after the scim blueprint has committed or rolled back the
request's own transaction) and hands the row to the log writer, which inserts it in a
transaction of its own (log_writer.py): a failed SCIM write is still logged, and a failure
to log never changes the response.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from flask import Flask
from flask import Request
from flask import Response
from flask import current_app
from flask import request
from sqlalchemy import String
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from ..console.tokens import hash_token
from ..scim import audit
from ..scim.bearer import bearer_from_header
from ..scim.bearer import read_token
from ..scim.bulk import BULK_REQUEST_ID
from ..scim.protocol.errors import ServiceUnavailable
from ..scim.protocol.text import first_unstorable
from ..scim.protocol.text import is_storable
from ..scim.protocol.text import storable
from ..server.errors import is_scim_request
from ..server.json_limits import loads as load_json
from ..server.middleware import PATH_AS_SENT
from ..storage.extensions import db
from ..storage.faults import is_unavailable
from ..storage.models import ScimRequestLog
from ..storage.models import label_key
from ..storage.models import utcnow
from . import lookup
from . import redact
from .clients import client_family
from .log_writer import TOKEN_DIGEST
from .log_writer import LogWriter
from .present import PATH_AS_SENT_NOTE

SCIM_BASE = "/scim/v2"
#: Refused requests (401, 429) never reached a view: their bodies are of no use to debug
#: an integration, and an anonymous sender could fill the log with them. Nor could the
#: anonymous requests Werkzeug answers before the bearer check (404, 405). Of those, at
#: most this much of the request body (and query string) is kept, redacted.
REFUSED_EXCERPT_BYTES = 256
REFUSED = (401, 429)

#: Collection segment (lower-cased) → resource type shown in the log.
RESOURCE_TYPES = {
    "users": "User",
    "groups": "Group",
    "serviceproviderconfig": "Config",
    "resourcetypes": "Config",
    "schemas": "Schema",
    # A /Bulk request is its own type: its operations' rows are User and Group rows.
    "bulk": "Bulk",
}
_ITEM_OPERATIONS = {"GET": "read", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
_COLLECTION_OPERATIONS = {"GET": "query", "POST": "create"}

# Column widths of scim_request_logs, read from the model: longer values are cut, never
# rejected by PostgreSQL.
_WIDTHS = {
    column.name: column.type.length
    for column in ScimRequestLog.__table__.columns
    if isinstance(column.type, String)
    and column.type.length
    and column.name not in ("request_id", "resource_label_key")
}


def classify(method: str, path: str) -> tuple[str | None, str | None, str | None]:
    """``(resource type, resource id, operation)`` that the method and path alone imply,
    for requests no view described (unknown routes, 401s, 405s...).

    GET on a collection is a query, GET on an item a read, POST creates, PUT and PATCH
    update, DELETE deletes, and POST ``.search`` (RFC 7644 §3.4.3) queries.
    ServiceProviderConfig is a single resource, so GET on it is a read.
    """
    if path != SCIM_BASE and not path.startswith(SCIM_BASE + "/"):
        return None, None, None
    segments = [s for s in path[len(SCIM_BASE) :].split("/") if s]
    if not segments:
        return None, None, "query" if method == "GET" else None
    if segments == [".search"]:
        return None, None, "query" if method == "POST" else None
    resource_type = RESOURCE_TYPES.get(segments[0].lower())
    if resource_type is None or len(segments) > 2:
        return None, None, None
    if len(segments) == 2:
        if segments[1] == ".search":
            return resource_type, None, "query" if method == "POST" else None
        return resource_type, segments[1], _ITEM_OPERATIONS.get(method)
    if segments[0].lower() == "serviceproviderconfig":
        return resource_type, segments[0], "read" if method == "GET" else None
    if resource_type == "Bulk":
        return resource_type, None, "bulk" if method == "POST" else None
    return resource_type, None, _COLLECTION_OPERATIONS.get(method)


def fingerprint(
    token_or_ip: str, method: str, path: str, status: int, error_detail: str | None
) -> str:
    """What two identical failing requests share: an IdP retrying the same call."""
    key = "\x1f".join([token_or_ip, method, path, str(status), error_detail or ""])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def label_from_body(body: Any) -> str | None:
    """userName (Users) or displayName (Groups) of a request body, whatever the key case."""
    if not isinstance(body, dict):
        return None
    for key, value in body.items():
        if isinstance(key, str) and key.lower() in ("username", "displayname"):
            if isinstance(value, str):
                return value
    return None


def build_row(response: Response) -> dict[str, Any]:
    """The log row for the current request and its response, redacted and capped."""
    req = request._get_current_object()  # noqa: SLF001 - one proxy lookup, not thirty
    environ = req.environ
    config = current_app.config
    max_bytes = config["WILLOW_LOG_BODY_MAX_BYTES"]
    record = audit.current()
    duration_ms = (time.perf_counter() - record.started) * 1000
    method = req.method
    path = req.path
    status = response.status_code

    counted = record.counted if status == 429 else None
    # A counted refusal only raises its entry's count: its body is not even read.
    raw_request = _request_body(req) if counted is None else None
    resource_type, resource_id, operation = classify(method, path)
    resource_type = record.resource_type or resource_type
    resource_id = record.resource_id or resource_id
    label = record.resource_label
    operation = record.operation or operation
    if resource_id is None and status == 201 and response.headers.get("Location"):
        resource_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    if label is None and method in ("POST", "PUT") and isinstance(raw_request, bytes):
        label = label_from_body(_parse_json(raw_request))
    if label is None and operation == "query" and status == 200:
        label, found_id = _lookup(raw_request, response)
        if resource_id is None and resource_type in ("User", "Group"):
            resource_id = found_id

    error_detail = _error_detail(response, record) if status >= 400 else None
    digest = None
    if record.token_id is not None:
        token_id, token_name = record.token_id, record.token_name
        organization_id = record.organization_id
    else:
        token_id, token_name, organization_id, digest = _token_from_header(record)
    if record.refusal is not None and status == 401:
        # Why, in the admin's words (scim.refusal); the IdP's answer said less.
        error_detail = record.refusal.text
        if organization_id is None:
            organization_id = record.refusal.organization_id
        if token_id is None and record.refusal.token_id is not None:
            token_id, token_name = record.refusal.token_id, record.refusal.token_name
    notes = list(record.notes)
    sent = environ.get(PATH_AS_SENT)
    if sent and sent != path:
        # Kept beside the normalised path: "was the base URL entered with a trailing slash?"
        notes.insert(0, f"{PATH_AS_SENT_NOTE}{sent} (read as {path})")
    query = environ.get("QUERY_STRING")
    client_ip = req.remote_addr
    user_agent = environ.get("HTTP_USER_AGENT") or None
    excerpt_only = status in REFUSED or token_id is None
    body_bytes = REFUSED_EXCERPT_BYTES if excerpt_only else max_bytes
    if counted is not None:
        error_detail = counted.text

    row: dict[str, Any] = {
        "created_at": utcnow() - timedelta(milliseconds=duration_ms),
        "organization_id": organization_id,
        "token_id": token_id,
        "token_name": token_name,
        "request_id": record.request_id,
        "method": method,
        "path": path,
        "query_string": redact.redact_query(unquote(query))
        or None
        if query
        else None,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "resource_label": label,
        "operation": operation,
        "status_code": status,
        "duration_ms": round(duration_ms, 3),
        "client_ip": client_ip,
        "user_agent": user_agent,
        "client_family": client_family(user_agent),
        "request_headers": redact.redact_environ_headers(environ),
        "response_headers": redact.redact_response_headers(response.headers.items()),
        "request_body": (
            redact.redact_body(raw_request, body_bytes)
            if isinstance(raw_request, bytes)
            else raw_request
        ),
        "response_body": _response_body(response, max_bytes),
        "error_detail": error_detail,
        "warnings": list(record.warnings) or None,
        "changes": list(record.changes) or None,
        "notes": notes or None,
        "fingerprint": None,
        "count_key": None,
        "repeat_count": None,
        "bulk_request_id": environ.get(BULK_REQUEST_ID),
    }
    if excerpt_only:
        if row["query_string"]:
            row["query_string"] = redact.truncate(row["query_string"], REFUSED_EXCERPT_BYTES)
        row["request_headers"] = _headers_excerpt(row["request_headers"])
    if counted is not None:
        # One entry per client (or token) and window: the log writer upserts on the key.
        row["count_key"] = hashlib.sha256(
            f"{counted.key}\x1f{counted.window_start.isoformat()}".encode()
        ).hexdigest()
        row["repeat_count"] = counted.number
        # Dated at the window's start, which every refusal of the window (on any app
        # server) agrees on: the upsert finds the entry by key and time, because on
        # PostgreSQL the log is partitioned by time (willow/partitions).
        row["created_at"] = counted.window_start
    for column, width in _WIDTHS.items():
        value = row[column]
        if isinstance(value, str) and len(value) > width:
            row[column] = value[:width]
    # A refused request can carry a NUL or an unpaired surrogate (in its path, a header or
    # the userName a label is taken from): PostgreSQL refuses the one, UTF-8 the other,
    # and the whole row would be lost. Replace them, as the body's invalid UTF-8 is.
    row = _storable_row(row)
    # The log writer's INSERT bypasses column defaults: fill the search key here.
    row["resource_label_key"] = label_key(row["resource_label"])
    if digest is not None:
        row[TOKEN_DIGEST] = digest
    # The path is indexed (the console's search): PostgreSQL refuses a B-tree entry over
    # about 2.7 kB, so it is also cut to its width in bytes of UTF-8, not only characters.
    encoded = row["path"].encode("utf-8", "replace")
    if len(encoded) > _WIDTHS["path"]:
        row["path"] = encoded[: _WIDTHS["path"]].decode("utf-8", "ignore")
    if status >= 400:
        who = f"token:{token_id}" if token_id is not None else f"ip:{client_ip}"
        row["fingerprint"] = fingerprint(who, method, row["path"], status, error_detail)
    return row


#: Headers an anonymous request's entry keeps (waitress accepts 256 KB of them).
REFUSED_HEADERS = 32


def _headers_excerpt(headers: dict[str, str]) -> dict[str, str]:
    """At most REFUSED_HEADERS headers of at most REFUSED_EXCERPT_BYTES each, and a note
    of how many more were sent, for an entry of an anonymous or refused request."""
    if len(headers) <= REFUSED_HEADERS and all(
        len(value) <= REFUSED_EXCERPT_BYTES // 4 for value in headers.values()
    ):
        # Nearly every request: nothing to cut (a quarter of the bytes in characters,
        # since a character is at most 4 bytes of UTF-8), checked without encoding.
        return headers
    rv = {
        name[:REFUSED_EXCERPT_BYTES]: redact.truncate(value, REFUSED_EXCERPT_BYTES)
        for name, value in list(headers.items())[:REFUSED_HEADERS]
    }
    if len(headers) > REFUSED_HEADERS:
        rv["…"] = f"{len(headers) - REFUSED_HEADERS} more headers not stored"
    return rv


def _storable_row(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with no character a column refuses. Nearly every row has none: its texts
    and the strings inside its JSON values are checked as they are, and only a row that
    has one is rebuilt value by value."""
    for value in row.values():
        if isinstance(value, str):
            if not is_storable(value):
                return _storable(row)
        elif isinstance(value, (dict, list)) and first_unstorable(value) is not None:
            return _storable(row)
    return row


def _storable(value: Any) -> Any:
    """``value`` (a row, or a value in it: text, lists and dicts of them) with no
    character a column refuses (``willow.scim.protocol.text``)."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _lookup(raw_request: bytes | str | None, response: Response) -> tuple[str | None, str | None]:
    """For a ``userName eq`` / ``externalId eq`` / ``displayName eq`` lookup: the value it
    looked for (the row's label, so ``q`` finds it) and the id of the one resource found."""
    body = _parse_json(raw_request) if isinstance(raw_request, bytes) else None
    value = lookup.looked_up_value(lookup.filter_of(request.args, body))
    if value is None or response.is_streamed:
        return None, None
    return value, lookup.single_result_id(_parse_json(response.get_data()))


def _request_body(req: Request) -> bytes | str | None:
    """The raw request body, or a note saying why it was not read (a body over the
    request-size limit is never read: that is what the 413 refused)."""
    environ = req.environ
    if not environ.get("CONTENT_LENGTH") and "chunked" not in environ.get(
        "HTTP_TRANSFER_ENCODING", ""
    ).lower():
        # No Content-Length (or 0) and not chunked: HTTP/1.1 says there is no body (RFC 9112
        # §6.3), so the GETs that make up most IdP traffic skip reading the stream.
        return None
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = req.content_length
    if limit and length and length > limit:
        return f"[body not stored: {length} bytes, over the {limit}-byte request limit]"
    try:
        return req.get_data(cache=True)
    except HTTPException as exc:
        return f"[body not stored: {exc.code} {exc.name}]"


def _parse_json(raw: bytes) -> Any:
    try:
        return load_json(raw)
    except ValueError:  # not JSON, or nested too deep to parse safely
        return None


def _response_body(response: Response, max_bytes: int) -> str | None:
    if response.is_streamed:
        return "[streamed response not stored]"
    return redact.redact_body(response.get_data(), max_bytes)


def _error_detail(response: Response, record: audit.Audit) -> str | None:
    """The SCIM error's detail (RFC 7644 §3.12), without the request id the client saw,
    so that retries of one failure share it. A 500 adds the exception's class name:
    enough to find it in the application log, nothing that could leak data."""
    error = record.error
    if error is not None:
        detail = f"{error.scim_type}: {error.detail}" if error.scim_type else error.detail
    else:
        body = _parse_json(response.get_data()) if not response.is_streamed else None
        detail = body.get("detail") if isinstance(body, dict) else None
        detail = str(detail) if detail is not None else response.status
    if record.exception_name is not None:
        detail = f"{detail} ({record.exception_name})"
    return detail


def _token_from_header(
    record: audit.Audit,
) -> tuple[int | None, str | None, int | None, str | None]:
    """The bearer token of a request the scim blueprint never saw: Werkzeug answers an
    unknown route (404) or a wrong method (405) before any blueprint code runs; or of one
    whose bearer check could not read the token, the database being unavailable. In that
    case only the token's digest is known (the fourth value): the log writer looks the
    token up when the database is back."""
    plaintext = bearer_from_header(request.headers.get("Authorization"))
    if plaintext is None:
        return None, None, None, None
    if isinstance(record.error, ServiceUnavailable):
        return None, None, None, hash_token(plaintext)
    try:
        with db.engine.connect() as conn:
            token = read_token(conn, plaintext)
    except SQLAlchemyError as exc:
        if not is_unavailable(exc):
            raise
        return None, None, None, hash_token(plaintext)
    if token is None:
        return None, None, None, None
    return token.id, token.name, token.organization_id, None


def write_row(row: dict[str, Any]) -> None:
    """Hand one log row to the application's log writer (see log_writer.py)."""
    current_app.extensions["willow_request_log"].submit(row)


def write_in_transaction(response: Response, connection: Connection) -> None:
    """Insert the request's log row in the caller's open transaction: the row of a change
    commits with the change, or not at all. A change must not be acknowledged without
    its row (a ``kill -9`` between the two would lose it), so a failure here fails the
    request, unlike the batched writer's."""
    current_app.extensions["willow_request_log"].insert_in(connection, build_row(response))
    audit.current().logged = True


def init_app(app: Flask) -> None:
    app.extensions["willow_request_log"] = LogWriter(app)

    @app.after_request
    def log_scim_request(response: Response) -> Response:
        if not is_scim_request() or audit.current().logged:
            return response
        try:
            write_row(build_row(response))
        except Exception:
            # The IdP must get its answer even when the log cannot be written.
            app.logger.exception(
                "could not write the SCIM request log for %s %s (request id %s)",
                request.method,
                request.path,
                audit.current().request_id,
            )
        return response
