"""SCIM HTTP endpoints under /scim/v2. Views translate HTTP; the rules live in services."""

from __future__ import annotations

from flask import Blueprint

from ..auth import record_token_use
from ..auth import require_bearer_token
from ..extensions import db
from .http import scim_response

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
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0,
            "startIndex": 1,
            "itemsPerPage": 0,
            "Resources": [],
        }
    )
