"""Request ids and timing for /scim requests.

Every SCIM response carries ``X-Request-Id``; the same id is in error details and in the
request log, so an IdP admin's error message leads straight to the log entry. Both live on
the request's record (``willow.scim.audit``), opened here before anything else runs.
"""

from __future__ import annotations

from flask import Flask
from flask import g
from flask import request

from ..scim import audit
from .errors import is_scim_request
from .request_gate import ARRIVED


def init_app(app: Flask) -> None:
    @app.before_request
    def start_trace() -> None:
        if is_scim_request():
            audit.start(request.environ.get(ARRIVED))

    @app.after_request
    def add_request_id(response):
        record = g.get("scim_audit")
        if record is not None:
            response.headers["X-Request-Id"] = record.request_id
        return response
