"""Application-wide error handling.

Under /scim every error, including the 404/405/413 that Werkzeug raises before any
blueprint code runs, is a SCIM Error JSON (RFC 7644 §3.12). Console pages get HTML.
Nothing ever shows a stack trace or SQL to the client.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException

from .extensions import db
from .scim import audit
from .scim import transaction
from .scim.http import scim_response
from .scim.protocol import errors as scim_errors

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


def is_scim_path(path: str) -> bool:
    return path == "/scim" or path.startswith("/scim/")


def is_scim_request() -> bool:
    return is_scim_path(request.path)


def render_scim_error(error: scim_errors.ScimError):
    body = error.to_dict()
    record = audit.current()
    body["detail"] = f"{body['detail']} (request id {record.request_id})"
    record.error = error
    rv = scim_response(body, error.status)
    for name, value in error.headers.items():
        rv.headers[name] = value
    return rv


def _scim_error_for_http(exc: HTTPException) -> scim_errors.ScimError:
    cls = _HTTP_TO_SCIM.get(exc.code or 500)
    if cls is not None:
        error = cls()
        valid_methods = getattr(exc, "valid_methods", None)
        if valid_methods:
            # RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
            error.headers["Allow"] = ", ".join(sorted(valid_methods))
        return error
    error = scim_errors.ScimError(exc.description if exc.code and exc.code < 500 else None)
    error.status = exc.code or 500
    return error


def _rollback() -> None:
    if is_scim_request():
        transaction.rollback()  # the request's connection and the session
    else:
        db.session.rollback()


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
        if exc.code and 400 <= exc.code < 500:
            # Console pages (including a rejected CSRF token) answer in the console's layout.
            return render_template("errors/error.html", error=exc), exc.code
        return exc

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        _rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_scim_request():
            audit.current().exception_name = type(exc).__name__
            return render_scim_error(scim_errors.InternalError())
        return render_template("errors/error.html", error=None), 500
