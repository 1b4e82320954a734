"""The /scim/v2 blueprint: its hooks and every route (RFC 7644 §3-§4).

Each view translates HTTP only: parse the request (``protocol``), call the store, commit
once, render the response. Bearer authentication runs before every request
(``bearer``); the end of the request's transaction after.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from ..events import emit
from ..events.derive import Effects
from ..events.derive import derive
from ..guard import scim as guard
from ..membership_history import store as membership_history
from ..membership_history.rules import changes_of
from ..monitor import capture
from ..storage.database import MUTATING_METHODS
from ..storage.database import writer_queue
from ..webhooks import events_committed
from . import audit
from . import bulk
from . import transaction
from .bearer import record_token_use
from .bearer import require_bearer_token
from .http import base_url
from .http import preconditions
from .http import request_object
from .http import scim_response
from .http import to_json
from .protocol import cursor
from .protocol import discovery
from .protocol.bulk import MAX_OPERATIONS
from .protocol.bulk import bulk_response
from .protocol.bulk import load_bulk_request
from .protocol.bulk import payload_too_large
from .protocol.errors import Forbidden
from .protocol.errors import NotFound
from .protocol.listing import ListQuery
from .protocol.listing import build_query
from .protocol.listing import cursor_response
from .protocol.listing import list_response
from .protocol.messages import load_patch_request
from .protocol.messages import load_search_request
from .protocol.render import Projection
from .store import groups
from .store import search
from .store import users

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")


@bp.before_request
def authenticate() -> None:
    writers = writer_queue(current_app)
    if writers is not None and request.method in MUTATING_METHODS:
        # The write queues behind the process's other SQLite writers when its transaction
        # begins (database.WriterQueue, database._sqlite_begin): reading the token and
        # parsing the body happen beside another request's commit, not behind it.
        g.writer_queue = writers
    require_bearer_token()


def _end_transaction() -> None:
    # The request's transaction is over (committed by the view or rolled back by the error
    # handler); ending it now means no lock is held during the writes after it. A write
    # after this (the token's last use) must not take the queue: nothing would release it.
    g.pop("writer_queue", None)
    transaction.end()
    writers = g.pop("queued_writer", None)
    if writers is not None:
        writers.release()


@bp.after_request
def finish(response):
    _end_transaction()
    g.scim_transaction_ended = True
    record_token_use()
    return response


@bp.teardown_request
def release(exc: BaseException | None = None) -> None:  # noqa: ARG001
    """A request that ended without a response (an error in an after_request hook) must
    not keep the writers' queue. After ``finish`` there is nothing left to end."""
    if not g.pop("scim_transaction_ended", False):
        _end_transaction()


@bp.get("")
def root():
    """``GET {base}``: a query against the server root covers every resource type (RFC
    7644 §3.4.2.1), Users and Groups, with the same ``filter``, paging and projection as
    ``POST /.search``. (It used to answer an empty list whatever the filter.)"""
    audit.describe(operation="query")
    return _list_all(build_query(request.args, current_app.config["WILLOW_SCIM_MAX_RESULTS"]))


def _list_all(query: ListQuery):
    if query.cursor_paged:
        return _cursor_page(
            "*", query, functools.partial(search.search_all_by_cursor, g.organization_id)
        )
    resources, total = search.search_all(g.organization_id, query, base_url())
    return scim_response(list_response(resources, total, query.start_index))


def _cursor_page(kind: str, query: ListQuery, read: Callable):
    """A cursor-paged list (RFC 9865): the page from the request's cursor, with the
    cursors to the pages either side of it. ``read(query, position, backward, base)``
    is the store's keyset read."""
    config = current_app.config
    walk = cursor.Walk(
        cursor.query_hash(kind, g.organization_id, query.filter, query.sort_by, query.descending),
        int(time.time()),
        config["WILLOW_CURSOR_TIMEOUT"],
        current_app.secret_key,
    )
    position = walk.start(query.cursor)
    resources, total, walked = read(
        query,
        position.key if position else None,
        position is not None and position.direction == cursor.BACKWARD,
        base_url(),
    )
    return scim_response(
        cursor_response(
            resources,
            total,
            walk.next_cursor(walked.last_key) if walked.more_after else None,
            walk.previous_cursor(walked.first_key) if walked.more_before else None,
        )
    )


def _refuse_filter() -> None:
    """RFC 7644 §4: a filter on a discovery endpoint SHOULD be answered with 403, so a
    client never believes the conditions it asked for were applied."""
    if request.environ.get("QUERY_STRING") and "filter" in request.args:
        raise Forbidden("Filtering is not supported on this discovery endpoint.")


@functools.lru_cache(maxsize=64)
def _discovery_json(
    kind: str,
    base: str,
    name: str | None,
    max_results: int,
    docs: str | None,
    max_payload: int,
    cursor_timeout: int,
) -> str | None:
    """A discovery document as JSON text, built once per base URL and name: it depends on
    configuration only (RFC 7644 §4). None for an unknown resource type or schema."""
    if kind == "ServiceProviderConfig":
        doc = discovery.service_provider_config(
            base,
            max_results=max_results,
            documentation_uri=docs,
            bulk_max_operations=MAX_OPERATIONS,
            bulk_max_payload_size=max_payload,
            cursor_timeout=cursor_timeout,
        )
    elif kind == "ResourceTypes" and name is None:
        doc = discovery.resource_types(base)
    elif kind == "ResourceTypes":
        doc = discovery.resource_type(base, name)
    elif name is None:
        doc = discovery.schemas(base)
    else:
        doc = discovery.schema_resource(base, name)
    return None if doc is None else to_json(doc)


def _discovery_response(kind: str, name: str | None = None):
    config = current_app.config
    text = _discovery_json(
        kind,
        base_url(),
        name,
        config["WILLOW_SCIM_MAX_RESULTS"],
        config.get("WILLOW_DOCUMENTATION_URL"),
        config.get("MAX_CONTENT_LENGTH") or 0,
        config["WILLOW_CURSOR_TIMEOUT"],
    )
    if text is None:
        label = "resource type" if kind == "ResourceTypes" else "schema"
        raise NotFound(f"Unknown {label} {name!r}.")
    return scim_response(text)


@bp.get("/ServiceProviderConfig")
def get_service_provider_config():
    audit.describe(resource_type="Config", resource_id="ServiceProviderConfig", operation="read")
    _refuse_filter()
    return _discovery_response("ServiceProviderConfig")


@bp.get("/ResourceTypes")
def list_resource_types():
    audit.describe(resource_type="Config", operation="query")
    _refuse_filter()
    return _discovery_response("ResourceTypes")


@bp.get("/ResourceTypes/<name>")
def get_resource_type(name: str):
    audit.describe(resource_type="Config", resource_id=name, operation="read")
    _refuse_filter()
    return _discovery_response("ResourceTypes", name)


@bp.get("/Schemas")
def list_schemas():
    audit.describe(resource_type="Schema", operation="query")
    _refuse_filter()
    return _discovery_response("Schemas")


@bp.get("/Schemas/<urn>")
def get_schema(urn: str):
    audit.describe(resource_type="Schema", resource_id=urn, operation="read")
    _refuse_filter()
    return _discovery_response("Schemas", urn)


@functools.cache
def _openapi_document() -> bytes:
    return (Path(__file__).with_name("openapi.json")).read_bytes()


@bp.get("/openapi.json")
def get_openapi():
    """The OpenAPI 3.1 description of /scim/v2, kept in ``willow/scim/openapi.json``.
    Like the other discovery documents it needs the bearer token: the API surface of a
    tenant is described to its token holders only."""
    audit.describe(resource_type="Config", resource_id="openapi.json", operation="read")
    return Response(_openapi_document(), mimetype="application/json")


def _connection():
    """The request's connection (``transaction``), the one the bearer check used."""
    return transaction.connection()


def _commit(response, effects: Effects | None = None):
    """End a change: its events and its request-log row go into the change's own
    transaction, so no acknowledged change is ever without them (and there is no extra
    commit); a request that fails before this writes neither."""
    conn = transaction.change_connection()
    drafts = derive(effects) if effects is not None else []
    # The guard may hold a deprovisioning's events (and its effects on access) back.
    drafts = guard.screen(conn, effects, drafts)
    written = emit.write_drafts(conn, drafts)
    membership_history.record(
        conn, g.organization_id, changes_of(effects), audit.current().request_id
    )
    capture.write_in_transaction(response, conn)
    transaction.commit()
    if written:
        events_committed(current_app)
    return response


def _query() -> ListQuery:
    return build_query(request.args, current_app.config["WILLOW_SCIM_MAX_RESULTS"])


def _projection(resource_type: str) -> Projection:
    query = _query()
    return Projection(resource_type, query.attributes, query.excluded_attributes)


def _user_response(user: users.StoredUser, status: int = 200):
    base = base_url()
    return scim_response(
        users.represent(user, base, _projection("User")),
        status,
        version=user.version,
        location=f"{base}/Users/{user.id}" if status == 201 else None,
    )


@bp.get("/Users")
def list_users():
    audit.describe(resource_type="User", operation="query")
    return _list_users(_query())


def _list_users(query: ListQuery):
    if query.cursor_paged:
        read = functools.partial(users.list_users_by_cursor, _connection(), g.organization_id)
        return _cursor_page("User", query, read)
    resources, total = users.list_users(_connection(), g.organization_id, query, base_url())
    return scim_response(list_response(resources, total, query.start_index))


@bp.post("/Users")
def create_user():
    user = users.create_user(_connection(), g.organization_id, request_object())
    return _commit(_user_response(user, 201), emit.user_effects(user))


@bp.get("/Users/<user_id>")
def get_user(user_id: str):
    user = users.get_user(_connection(), g.organization_id, user_id)
    audit.describe(operation="read")
    if preconditions().not_modified(user.version):
        return scim_response(None, 304, version=user.version)
    return _user_response(user)


@bp.put("/Users/<user_id>")
def replace_user(user_id: str):
    body = request_object()
    user = users.replace_user(_connection(), g.organization_id, user_id, body, preconditions())
    return _commit(_user_response(user), emit.user_effects(user))


@bp.patch("/Users/<user_id>")
def patch_user(user_id: str):
    operations, notes = load_patch_request(request_object())
    for text in notes:
        audit.note(text)
    user = users.patch_user(_connection(), g.organization_id, user_id, operations, preconditions())
    return _commit(_user_response(user), emit.user_effects(user))


@bp.delete("/Users/<user_id>")
def delete_user(user_id: str):
    effects = emit.user_delete_effects(g.organization_id, user_id)
    users.delete_user(_connection(), g.organization_id, user_id, preconditions())
    return _commit(scim_response(None, 204), effects)


def _group_response(group, status: int = 200):
    base = base_url()
    return scim_response(
        groups.represent(group, base, _projection("Group")),
        status,
        version=group.version,
        location=f"{base}/Groups/{group.id}" if status == 201 else None,
    )


@bp.get("/Groups")
def list_groups():
    audit.describe(resource_type="Group", operation="query")
    return _list_groups(_query())


def _list_groups(query: ListQuery):
    if query.cursor_paged:
        read = functools.partial(groups.list_groups_by_cursor, g.organization_id)
        return _cursor_page("Group", query, read)
    page = groups.list_groups(g.organization_id, query, base_url())
    return scim_response(list_response(page.resources, page.total, query.start_index))


@bp.post("/Groups")
def create_group():
    group = groups.create_group(g.organization_id, request_object())
    return _commit(_group_response(group, 201), emit.group_effects(group))


@bp.get("/Groups/<group_id>")
def get_group(group_id: str):
    group = groups.get_group(g.organization_id, group_id)
    audit.describe(
        resource_type="Group", resource_id=group.id, label=group.display_name, operation="read"
    )
    if preconditions().not_modified(group.version):
        return scim_response(None, 304, version=group.version)
    return _group_response(group)


@bp.put("/Groups/<group_id>")
def replace_group(group_id: str):
    body = request_object()
    group = groups.replace_group(g.organization_id, group_id, body, preconditions())
    return _commit(_group_response(group), emit.group_effects(group))


@bp.patch("/Groups/<group_id>")
def patch_group(group_id: str):
    """204 No Content (Entra prefers it, Okta accepts it; a large member list is never
    sent back), unless the client asks for a representation with attributes or
    excludedAttributes (RFC 7644 §3.5.2)."""
    operations, notes = load_patch_request(request_object())
    for text in notes:
        audit.note(text)
    group = groups.patch_group(g.organization_id, group_id, operations, preconditions())
    effects = emit.group_effects(group)
    if _projection("Group").is_default:
        return _commit(scim_response(None, 204, version=group.version), effects)
    return _commit(_group_response(group), effects)


@bp.delete("/Groups/<group_id>")
def delete_group(group_id: str):
    effects = emit.group_delete_effects(g.organization_id, group_id)
    # Its members' history, read before the memberships go with the group.
    membership_history.record_group_deleted(
        transaction.change_connection(),
        g.organization_id,
        effects.resource["id"],
        audit.current().request_id,
    )
    groups.delete_group(g.organization_id, group_id, preconditions())
    return _commit(scim_response(None, 204), effects)


def _search_query() -> ListQuery:
    """The SearchRequest body, validated by its schema, under the same paging rules as
    the query string."""
    message = load_search_request(request_object())
    params = {
        "filter": message.filter,
        "startIndex": message.start_index,
        "count": message.count,
        "sortBy": message.sort_by,
        "sortOrder": message.sort_order,
        "attributes": list(message.attributes),
        "excludedAttributes": list(message.excluded_attributes),
        "cursor": message.cursor,
    }
    return build_query(
        {k: v for k, v in params.items() if v is not None},
        current_app.config["WILLOW_SCIM_MAX_RESULTS"],
    )


@bp.post("/Users/.search")
def search_users():
    audit.describe(resource_type="User", operation="query")
    return _list_users(_search_query())


@bp.post("/Groups/.search")
def search_groups():
    audit.describe(resource_type="Group", operation="query")
    return _list_groups(_search_query())


@bp.post("/.search")
def search_all():
    """Users and Groups in one list (see ``willow.scim.store.search``)."""
    query = _search_query()
    audit.describe(operation="query")
    return _list_all(query)


@bp.post("/Bulk")
def bulk_request():
    """RFC 7644 §3.7: the operations run one by one, each as the request it stands for
    (``willow.scim.bulk``); the answer is 200 with one result per operation run."""
    audit.describe(resource_type="Bulk", operation="bulk")
    request.environ[bulk.BULK_REQUEST_ID] = audit.current().request_id
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and (request.content_length or 0) > limit:
        raise payload_too_large(limit)
    try:
        body = request_object()
    except RequestEntityTooLarge:  # a chunked body over the limit
        raise payload_too_large(limit) from None
    message = load_bulk_request(body, MAX_OPERATIONS)
    # The Bulk request itself changes nothing: its connection goes back now, and each
    # operation takes one for its own transaction.
    _end_transaction()
    return scim_response(bulk_response(bulk.run(message, base_url())))
