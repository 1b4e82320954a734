"""``GET /api/v1/events``: the provisioning events of the token's organization, oldest
first, paged by an opaque cursor; and the API's OpenAPI document.

Views translate HTTP only. Every answer is JSON, errors included (``{"error": code,
"message": text}``): a consumer's script reads it, never an HTML page.
"""

from __future__ import annotations

import functools
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request

from ..console.tokens import EVENTS_SCOPE
from ..scim.bearer import bearer_from_header
from ..scim.bearer import read_token
from ..scim.bearer import record_token_use
from ..scim.bearer import remember_token_use
from ..storage import models
from ..storage.extensions import db
from ..storage.models import token_status
from .envelope import CursorError
from .envelope import decode_cursor
from .envelope import dumps
from .envelope import encode_cursor
from .store import CursorExpired
from .store import read_page
from .types import TypesFilterError
from .types import parse_types

bp = Blueprint("events_api", __name__, url_prefix="/api/v1")

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    rv = Response(dumps({"error": code, "message": message}), status, mimetype="application/json")
    rv.headers.update(headers or {})
    return rv


def _unauthorized(message: str) -> Response:
    return error(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="willow"'})


@bp.before_request
def authenticate() -> Response | None:
    """An active API token with the ``events`` scope; its organization is the one read.
    A SCIM-only token is 403 here, as an events-only token is on /scim/v2."""
    plaintext = bearer_from_header(request.headers.get("Authorization"))
    if plaintext is None:
        return _unauthorized("Send an API token: Authorization: Bearer <token>.")
    with db.engine.connect() as conn:
        token = read_token(conn, plaintext)
    if token is None:
        return _unauthorized("The API token is not valid.")
    now = models.utcnow()
    status = token_status(token.revoked_at, token.expires_at, now)
    if status != "active":
        return _unauthorized(f"The API token is {status}.")
    if EVENTS_SCOPE not in token.scopes.split():
        return error(
            403,
            "forbidden",
            "This API token may not read events: create one with the permission "
            "'Read provisioning events' (Admin → API Tokens).",
        )
    g.events_organization_id = token.organization_id
    remember_token_use(token, now)
    return None


@bp.after_request
def finish(response: Response) -> Response:
    record_token_use()
    response.headers["Cache-Control"] = "no-store"
    return response


def _limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(text)


@bp.get("/events")
def list_events() -> Response:
    args = request.args
    try:
        limit = _limit(args.get("limit"))
    except ValueError as exc:
        return error(400, "invalid_limit", str(exc))
    try:
        types = parse_types(args.get("types"))
    except TypesFilterError as exc:
        return error(400, "invalid_types", str(exc))
    after = None
    if args.get("after"):
        try:
            after = decode_cursor(args["after"])
        except CursorError as exc:
            return error(400, "invalid_cursor", f"{exc} Use the next_cursor of a page as it is.")
    try:
        with db.engine.connect() as conn:
            page = read_page(conn, g.events_organization_id, after, limit, types)
    except CursorExpired:
        days = current_app.config["WILLOW_EVENT_RETENTION_DAYS"]
        return error(
            410,
            "cursor_expired",
            f"Events after this cursor are no longer kept (events are kept for {days} days), "
            "so reading on from it would skip some. Start again without 'after' (the "
            "oldest event kept) and reconcile from the SCIM API (GET /scim/v2/Users and "
            "/Groups) what may have been missed.",
        )
    # The stored envelopes are sent as they are: no parsing and serialising again.
    body = (
        '{"data":['
        + ",".join(page.bodies)
        + '],"next_cursor":"'
        + encode_cursor(page.next_after)
        + '"}'
    )
    return Response(body, 200, mimetype="application/json")


@functools.cache
def _openapi_document() -> bytes:
    return Path(__file__).with_name("openapi.json").read_bytes()


@bp.get("/openapi.json")
def get_openapi() -> Response:
    """The OpenAPI 3.1 description of /api/v1 (``willow/events/openapi.json``); like the
    SCIM one, for token holders only."""
    return Response(_openapi_document(), mimetype="application/json")
