"""The /scim/v2 blueprint: its hooks and every route (RFC 7644 §3-§4).

Each view translates HTTP only: parse the request (``protocol``), call the store, commit
once, render the response. Bearer authentication runs before every request
(``bearer``); the end of the request's transaction after.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import g
from flask import request

from ..extensions import db
from . import audit
from .bearer import record_token_use
from .bearer import require_bearer_token
from .http import base_url
from .http import check_preconditions
from .http import not_modified
from .http import request_object
from .http import resource_location
from .http import scim_response
from .protocol import discovery
from .protocol.errors import Forbidden
from .protocol.errors import NotFound
from .protocol.listing import ListQuery
from .protocol.listing import build_query
from .protocol.listing import list_response
from .protocol.messages import load_patch_request
from .protocol.messages import load_search_request
from .protocol.render import Projection
from .protocol.schema import LIST_RESPONSE_SCHEMA
from .store import groups
from .store import search
from .store import users

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")


@bp.before_request
def authenticate() -> None:
    require_bearer_token()


@bp.after_request
def finish(response):
    # The request's transaction is over (committed by the view or rolled back by the error
    # handler); closing the session now means no lock is held during the writes below.
    db.session.close()
    record_token_use()
    return response


@bp.get("")
def root():
    """``GET {base}``: some clients probe the base URL itself; answer with where to go."""
    return scim_response(
        {
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": 0,
            "startIndex": 1,
            "itemsPerPage": 0,
            "Resources": [],
        }
    )


def _refuse_filter() -> None:
    """RFC 7644 §4: a filter on a discovery endpoint SHOULD be answered with 403, so a
    client never believes the conditions it asked for were applied."""
    if "filter" in request.args:
        raise Forbidden("Filtering is not supported on this discovery endpoint.")


@bp.get("/ServiceProviderConfig")
def get_service_provider_config():
    audit.describe(resource_type="Config", resource_id="ServiceProviderConfig", operation="read")
    _refuse_filter()
    return scim_response(
        discovery.service_provider_config(
            base_url(),
            max_results=current_app.config["WILLOW_SCIM_MAX_RESULTS"],
            documentation_uri=current_app.config.get("WILLOW_DOCUMENTATION_URL"),
        )
    )


@bp.get("/ResourceTypes")
def list_resource_types():
    audit.describe(resource_type="Config", operation="query")
    _refuse_filter()
    return scim_response(discovery.resource_types(base_url()))


@bp.get("/ResourceTypes/<name>")
def get_resource_type(name: str):
    audit.describe(resource_type="Config", resource_id=name, operation="read")
    _refuse_filter()
    rv = discovery.resource_type(base_url(), name)
    if rv is None:
        raise NotFound(f"Unknown resource type {name!r}.")
    return scim_response(rv)


@bp.get("/Schemas")
def list_schemas():
    audit.describe(resource_type="Schema", operation="query")
    _refuse_filter()
    return scim_response(discovery.schemas(base_url()))


@bp.get("/Schemas/<urn>")
def get_schema(urn: str):
    audit.describe(resource_type="Schema", resource_id=urn, operation="read")
    _refuse_filter()
    rv = discovery.schema_resource(base_url(), urn)
    if rv is None:
        raise NotFound(f"Unknown schema {urn!r}.")
    return scim_response(rv)


def _user_projection() -> Projection:
    query = build_query(request.args, current_app.config["WILLOW_SCIM_MAX_RESULTS"])
    return Projection("User", query.attributes, query.excluded_attributes)


def _user_response(user, status: int = 200):
    location = resource_location("User", user.id)
    return scim_response(
        users.represent(user, _user_projection()),
        status,
        version=user.version,
        location=location if status == 201 else None,
    )


@bp.get("/Users")
def list_users():
    audit.describe(resource_type="User", operation="query")
    query = build_query(request.args, current_app.config["WILLOW_SCIM_MAX_RESULTS"])
    page = users.list_users(g.organization_id, query)
    return scim_response(list_response(page.resources, page.total, query.start_index))


@bp.post("/Users")
def create_user():
    user = users.create_user(g.organization_id, request_object())
    db.session.commit()
    return _user_response(user, 201)


@bp.get("/Users/<user_id>")
def get_user(user_id: str):
    user = users.get_user(g.organization_id, user_id)
    audit.describe(
        resource_type="User", resource_id=user.id, label=user.user_name, operation="read"
    )
    if not_modified(user.version):
        return scim_response(None, 304, version=user.version)
    return _user_response(user)


@bp.put("/Users/<user_id>")
def replace_user(user_id: str):
    body = request_object()
    check_preconditions(users.get_user(g.organization_id, user_id, lock=True).version)
    user = users.replace_user(g.organization_id, user_id, body)
    db.session.commit()
    return _user_response(user)


@bp.patch("/Users/<user_id>")
def patch_user(user_id: str):
    operations, notes = load_patch_request(request_object())
    for text in notes:
        audit.note(text)
    check_preconditions(users.get_user(g.organization_id, user_id, lock=True).version)
    user = users.patch_user(g.organization_id, user_id, operations)
    db.session.commit()
    return _user_response(user)


@bp.delete("/Users/<user_id>")
def delete_user(user_id: str):
    check_preconditions(users.get_user(g.organization_id, user_id, lock=True).version)
    users.delete_user(g.organization_id, user_id)
    db.session.commit()
    return scim_response(None, 204)


def _group_projection() -> Projection:
    query = build_query(request.args, current_app.config["WILLOW_SCIM_MAX_RESULTS"])
    return Projection("Group", query.attributes, query.excluded_attributes)


def _group_response(group, status: int = 200):
    return scim_response(
        groups.represent(group, _group_projection()),
        status,
        version=group.version,
        location=resource_location("Group", group.id) if status == 201 else None,
    )


@bp.get("/Groups")
def list_groups():
    audit.describe(resource_type="Group", operation="query")
    query = build_query(request.args, current_app.config["WILLOW_SCIM_MAX_RESULTS"])
    page = groups.list_groups(g.organization_id, query)
    return scim_response(list_response(page.resources, page.total, query.start_index))


@bp.post("/Groups")
def create_group():
    group = groups.create_group(g.organization_id, request_object())
    db.session.commit()
    return _group_response(group, 201)


@bp.get("/Groups/<group_id>")
def get_group(group_id: str):
    group = groups.get_group(g.organization_id, group_id)
    audit.describe(
        resource_type="Group", resource_id=group.id, label=group.display_name, operation="read"
    )
    if not_modified(group.version):
        return scim_response(None, 304, version=group.version)
    return _group_response(group)


@bp.put("/Groups/<group_id>")
def replace_group(group_id: str):
    body = request_object()
    check_preconditions(groups.get_group(g.organization_id, group_id, lock=True).version)
    group = groups.replace_group(g.organization_id, group_id, body)
    db.session.commit()
    return _group_response(group)


@bp.patch("/Groups/<group_id>")
def patch_group(group_id: str):
    """204 No Content (Entra prefers it, Okta accepts it; a large member list is never
    sent back), unless the client asks for a representation with attributes or
    excludedAttributes (RFC 7644 §3.5.2)."""
    operations, notes = load_patch_request(request_object())
    for text in notes:
        audit.note(text)
    check_preconditions(groups.get_group(g.organization_id, group_id, lock=True).version)
    group = groups.patch_group(g.organization_id, group_id, operations)
    db.session.commit()
    if _group_projection().is_default:
        return scim_response(None, 204, version=group.version)
    return _group_response(group)


@bp.delete("/Groups/<group_id>")
def delete_group(group_id: str):
    check_preconditions(groups.get_group(g.organization_id, group_id, lock=True).version)
    groups.delete_group(g.organization_id, group_id)
    db.session.commit()
    return scim_response(None, 204)


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
    }
    return build_query(
        {k: v for k, v in params.items() if v is not None},
        current_app.config["WILLOW_SCIM_MAX_RESULTS"],
    )


@bp.post("/Users/.search")
def search_users():
    audit.describe(resource_type="User", operation="query")
    query = _search_query()
    page = users.list_users(g.organization_id, query)
    return scim_response(list_response(page.resources, page.total, query.start_index))


@bp.post("/Groups/.search")
def search_groups():
    audit.describe(resource_type="Group", operation="query")
    query = _search_query()
    page = groups.list_groups(g.organization_id, query)
    return scim_response(list_response(page.resources, page.total, query.start_index))


@bp.post("/.search")
def search_all():
    """Users and Groups in one list (see ``willow.scim.store.search``)."""
    query = _search_query()
    audit.describe(operation="query")
    resources, total = search.search_all(g.organization_id, query)
    return scim_response(list_response(resources, total, query.start_index))
