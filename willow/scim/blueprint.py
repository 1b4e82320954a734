"""The /scim/v2 blueprint and what every SCIM request goes through: bearer
authentication before, the end of the request's transaction after.

Routes are registered on ``bp`` by the ``*_views`` modules; ``views`` assembles them."""

from __future__ import annotations

from flask import Blueprint

from ..auth import record_token_use
from ..auth import require_bearer_token
from ..extensions import db

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
