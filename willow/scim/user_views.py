"""``/Users`` endpoints (RFC 7644 §3.3-§3.6). Parse, call the service, commit, respond."""

from __future__ import annotations

from flask import current_app
from flask import g
from flask import request

from ..extensions import db
from . import audit
from . import users
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
    return Projection("User", query.attributes, query.excluded_attributes)


def _user_response(user, status: int = 200):
    location = resource_location("User", user.id)
    return scim_response(
        users.represent(user, _projection()),
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
