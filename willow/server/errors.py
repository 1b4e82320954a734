"""Application-wide error handling.

Under /scim every error, including the 404/405/413 that Werkzeug raises before any
blueprint code runs, is a SCIM Error JSON (RFC 7644 §3.12). Console pages get HTML.
Nothing ever shows a stack trace or SQL to the client.

A database that cannot be reached or used (``willow.storage.faults``) is answered 503
with ``Retry-After``, on /scim and in the console alike: the request can be sent again.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import ServiceUnavailable

from ..scim import audit
from ..scim import transaction
from ..scim.http import scim_response
from ..scim.paths import is_scim_path
from ..scim.protocol import errors as scim_errors
from ..scim.protocol.wrong_path import hint as wrong_path_hint
from ..storage.extensions import db
from ..storage.faults import RETRY_AFTER_S
from ..storage.faults import is_unavailable
from ..storage.faults import reason

log = logging.getLogger(__name__)

_HTTP_TO_SCIM = {
    401: scim_errors.Unauthorized,
    403: scim_errors.Forbidden,
    404: scim_errors.NotFound,
    405: scim_errors.MethodNotAllowed,
    412: scim_errors.PreconditionFailed,
    413: scim_errors.PayloadTooLarge,
    415: scim_errors.UnsupportedMediaType,
}


def is_scim_request() -> bool:
    return is_scim_path(request.path)


def is_api_request() -> bool:
    """The events API (willow/events/api.py): its clients are scripts, answered in JSON."""
    return request.path.startswith("/api/")


def render_api_error(status: int, message: str):
    from ..events.api import error

    return error(status, "error", message)


def render_scim_error(error: scim_errors.ScimError):
    body = error.to_dict()
    record = audit.current()
    if not getattr(error, "exact_detail", False):
        body["detail"] = f"{body['detail']} (request id {record.request_id})"
    record.error = error
    rv = scim_response(body, error.status)
    for name, value in error.headers.items():
        rv.headers[name] = value
    return rv


def _scim_error_for_http(exc: HTTPException) -> scim_errors.ScimError:
    cls = _HTTP_TO_SCIM.get(exc.code or 500)
    if cls is not None:
        # A path that matched no route: say what was expected ("Resource not found." sent
        # admins looking for a missing user when the base URL was wrong).
        unrouted = exc.code == 404 and request.url_rule is None
        error = cls(wrong_path_hint(request.path) if unrouted else None)
        valid_methods = getattr(exc, "valid_methods", None)
        if valid_methods:
            # RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
            error.headers["Allow"] = ", ".join(sorted(valid_methods))
        return error
    if (exc.code or 500) >= 500:
        # Werkzeug's 500 for an error a handler raised: say what a 500 says.
        original = getattr(exc, "original_exception", None)
        if original is not None and is_unavailable(original):
            return scim_errors.ServiceUnavailable(retry_after=RETRY_AFTER_S)
        error = scim_errors.InternalError()
    else:
        error = scim_errors.ScimError(exc.description)
    error.status = exc.code or 500
    return error


def _rollback() -> None:
    """Undo the request's transaction. It never raises: on a lost connection the rollback
    fails too, and an error raised here would turn the answer into another one."""
    if is_scim_request():
        transaction.rollback()  # the request's connection and the session
        # A log row written in the request's transaction (a change) went with it: the
        # request log writes the row of the answer instead.
        audit.current().logged = False
        return
    try:
        db.session.rollback()
    except Exception:
        log.debug("rollback failed; the session's connections are discarded", exc_info=True)
        db.session.invalidate()


def _unavailable(exc: Exception):
    """503 with ``Retry-After``: a SCIM error, or the console's explaining page."""
    log.warning(
        "database unavailable on %s %s: %s (%s)",
        request.method,
        request.path,
        reason(exc),
        type(exc).__name__,
    )
    if is_scim_request():
        audit.current().exception_name = type(exc).__name__
        return render_scim_error(scim_errors.ServiceUnavailable(retry_after=RETRY_AFTER_S))
    if is_api_request():
        rv = render_api_error(503, "The database cannot be reached; try again in a few seconds.")
        rv.headers["Retry-After"] = str(RETRY_AFTER_S)
        return rv
    error = ServiceUnavailable(
        "The database cannot be reached at the moment, so this page cannot be shown. "
        "Try again in a few seconds."
    )
    # No signed-in user in the layout: its menu would read the account from the database.
    rv = render_template("errors/error.html", error=error, console_user=None)
    return rv, 503, {"Retry-After": str(RETRY_AFTER_S)}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(scim_errors.ScimError)
    def handle_scim_error(error: scim_errors.ScimError):
        _rollback()
        return render_scim_error(error)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        _rollback()
        if is_scim_request():
            return render_scim_error(_scim_error_for_http(exc))
        if is_api_request() and exc.code:
            return render_api_error(exc.code, exc.description or exc.name)
        if exc.code and 400 <= exc.code < 500:
            # Console pages (including a rejected CSRF token) answer in the console's layout.
            return render_template("errors/error.html", error=exc), exc.code
        return exc

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        _rollback()
        if is_unavailable(exc):
            return _unavailable(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_scim_request():
            audit.current().exception_name = type(exc).__name__
            return render_scim_error(scim_errors.InternalError())
        if is_api_request():
            return render_api_error(500, "The server could not answer; try again.")
        return render_template("errors/error.html", error=None), 500
