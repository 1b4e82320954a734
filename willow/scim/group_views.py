"""``/Groups`` endpoints (RFC 7644 §3.3-§3.6). Parse, call the service, commit, respond."""

from __future__ import annotations

from flask import current_app
from flask import g
from flask import request

from ..extensions import db
from . import audit
from . import groups
from .blueprint import bp
from .http import check_preconditions
from .http import not_modified
from .http import request_object
from .http import resource_location
from .http import scim_response
from .listing import build_query
from .listing import list_response
from .messages import load_patch_request
from .render import Projection


def _projection() -> Projection:
    query = build_query(request.args, current_app.config["WILLOW_SCIM_MAX_RESULTS"])
    return Projection("Group", query.attributes, query.excluded_attributes)


def _group_response(group, status: int = 200):
    return scim_response(
        groups.represent(group, _projection()),
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
    if _projection().is_default:
        return scim_response(None, 204, version=group.version)
    return _group_response(group)


@bp.delete("/Groups/<group_id>")
def delete_group(group_id: str):
    check_preconditions(groups.get_group(g.organization_id, group_id, lock=True).version)
    groups.delete_group(g.organization_id, group_id)
    db.session.commit()
    return scim_response(None, 204)
