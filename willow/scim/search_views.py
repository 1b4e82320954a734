"""``POST /.search``, ``/Users/.search`` and ``/Groups/.search`` (RFC 7644 §3.4.3): the
list query in a SearchRequest body instead of the query string."""

from __future__ import annotations

from flask import current_app
from flask import g

from . import audit
from . import groups
from . import users
from .blueprint import bp
from .errors import InvalidFilter
from .http import request_object
from .http import scim_response
from .listing import ListQuery
from .listing import build_query
from .listing import list_response
from .messages import load_search_request

_SERVICES = {"User": users.list_users, "Group": groups.list_groups}


def _search_query() -> ListQuery:
    """The SearchRequest body, validated by its schema, under the same paging rules as
    the query string."""
    search = load_search_request(request_object())
    params = {
        "filter": search.filter,
        "startIndex": search.start_index,
        "count": search.count,
        "sortBy": search.sort_by,
        "sortOrder": search.sort_order,
        "attributes": list(search.attributes),
        "excludedAttributes": list(search.excluded_attributes),
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
    """Users then Groups, paged as one list. A filter naming attributes that one resource
    type does not have selects nothing of that type; invalid for both is a 400."""
    query = _search_query()
    audit.describe(operation="query")
    totals: dict[str, int] = {}
    errors: list[InvalidFilter] = []
    for resource_type, service in _SERVICES.items():
        try:
            totals[resource_type] = service(g.organization_id, _counting(query)).total
        except InvalidFilter as exc:
            errors.append(exc)
    if not totals:
        raise errors[0]
    resources: list[dict] = []
    offset = query.start_index - 1
    remaining = query.count
    for resource_type, total in totals.items():
        if remaining <= 0:
            break
        if offset >= total:
            offset -= total
            continue
        page = _SERVICES[resource_type](
            g.organization_id,
            ListQuery(**{**query.__dict__, "start_index": offset + 1, "count": remaining}),
        )
        resources += page.resources
        remaining -= len(page.resources)
        offset = 0
    return scim_response(list_response(resources, sum(totals.values()), query.start_index))


def _counting(query: ListQuery) -> ListQuery:
    return ListQuery(**{**query.__dict__, "count": 0})
