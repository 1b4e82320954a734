"""``POST /.search``, ``/Users/.search`` and ``/Groups/.search`` (RFC 7644 §3.4.3): the
list query in a SearchRequest body instead of the query string."""

from __future__ import annotations

from flask import current_app
from flask import g

from . import audit
from . import groups
from . import search
from . import users
from .blueprint import bp
from .http import request_object
from .http import scim_response
from .listing import ListQuery
from .listing import build_query
from .listing import list_response
from .messages import load_search_request


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
    """Users and Groups in one list (see ``willow.scim.search``)."""
    query = _search_query()
    audit.describe(operation="query")
    resources, total = search.search_all(g.organization_id, query)
    return scim_response(list_response(resources, total, query.start_index))
