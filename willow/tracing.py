"""Request ids and timing for /scim requests.

Every SCIM response carries ``X-Request-Id``; the same id is in error details and in the
request log, so an IdP admin's error message leads straight to the log entry.
"""

from __future__ import annotations

import time
import uuid

from flask import Flask
from flask import g

from .errors import is_scim_request


def init_app(app: Flask) -> None:
    @app.before_request
    def start_trace() -> None:
        if is_scim_request():
            g.request_id = uuid.uuid4().hex
            g.request_started = time.perf_counter()

    @app.after_request
    def add_request_id(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-Id"] = request_id
        return response
