"""SCIM protocol errors (RFC 7644 §3.12): one exception class per ``scimType``.

Raise them anywhere below a view; one handler renders the Error JSON.
"""

from __future__ import annotations

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """Base class: an HTTP status, an optional scimType and a human-readable detail."""

    status: int = 400
    scim_type: str | None = None
    default_detail: str = "The request is not valid."

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(detail or self.default_detail)
        self.detail = detail or self.default_detail
        self.headers = headers or {}

    def to_dict(self) -> dict:
        rv: dict = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            rv["scimType"] = self.scim_type
        return rv


class InvalidFilter(ScimError):
    """The specified filter syntax was invalid or the attribute/operator is not supported."""

    scim_type = "invalidFilter"
    default_detail = "The filter is not valid."


class TooMany(ScimError):
    scim_type = "tooMany"
    default_detail = "The query would return too many results."


class Uniqueness(ScimError):
    """One or more unique attribute values are already in use (409)."""

    status = 409
    scim_type = "uniqueness"
    default_detail = "A resource with this unique attribute value already exists."


class Mutability(ScimError):
    """The modification is incompatible with the attribute's mutability."""

    scim_type = "mutability"
    default_detail = "The attribute cannot be modified."


class InvalidSyntax(ScimError):
    """The request body structure was invalid or did not conform to the schema."""

    scim_type = "invalidSyntax"
    default_detail = "The request body is not valid."


class InvalidPath(ScimError):
    """The PATCH path was invalid or malformed."""

    scim_type = "invalidPath"
    default_detail = "The path attribute is not valid."


class NoTarget(ScimError):
    """The path did not yield an attribute or value that could be operated on."""

    scim_type = "noTarget"
    default_detail = "The path did not match any attribute or value."


class InvalidValue(ScimError):
    """A required value was missing, or the value was not compatible with the attribute."""

    scim_type = "invalidValue"
    default_detail = "A value is missing or not valid."


class InvalidCursor(ScimError):
    """RFC 9865 §2.1: the cursor is not one this server issued for this query (400)."""

    scim_type = "invalidCursor"
    default_detail = (
        "The cursor is not valid: send an empty cursor for the first page, then the "
        "nextCursor or previousCursor of the previous response."
    )


class ExpiredCursor(ScimError):
    """RFC 9865 §2.1: the cursor is older than ``cursorTimeout`` (400)."""

    scim_type = "expiredCursor"
    default_detail = "The cursor has expired."


class InvalidCount(ScimError):
    """RFC 9865 §2.1: ``count`` in a cursor-paged query is not an integer between 1 and
    maxPageSize (400)."""

    scim_type = "invalidCount"
    default_detail = "The count is not valid."


class InvalidVersion(ScimError):
    scim_type = "invalidVers"
    default_detail = "The SCIM protocol version is not supported."


class Unauthorized(ScimError):
    status = 401
    default_detail = "Authentication is required: send 'Authorization: Bearer <API token>'."

    def __init__(self, detail: str | None = None, *, invalid_token: bool = False):
        # RFC 6750 §3: no error code when no token was sent, "invalid_token" when the token
        # sent is unknown, revoked or expired.
        challenge = 'Bearer realm="Willow SCIM"'
        if invalid_token:
            challenge += ', error="invalid_token"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(ScimError):
    status = 403
    default_detail = "This API token does not grant SCIM provisioning."


class NotFound(ScimError):
    status = 404
    default_detail = "Resource not found."


class MethodNotAllowed(ScimError):
    status = 405
    default_detail = "This method is not allowed on this endpoint."


class PreconditionFailed(ScimError):
    """If-Match named a version that is no longer current (RFC 7644 §3.14)."""

    status = 412
    default_detail = "The resource has changed since the version given in If-Match."


class PayloadTooLarge(ScimError):
    status = 413
    default_detail = "The request body is too large."


class UnsupportedMediaType(ScimError):
    status = 415
    default_detail = "The request body must be JSON (application/scim+json or application/json)."


class TooManyRequests(ScimError):
    """An abuse limit was reached (RFC 6585 §4); ``Retry-After`` says when to try again."""

    status = 429
    default_detail = "Too many requests."

    def __init__(self, detail: str | None = None, *, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(ScimError):
    """The database cannot be reached or used right now (RFC 9110 §15.6.4): nothing was
    carried out, and the same request may be sent again after ``Retry-After`` seconds."""

    status = 503
    default_detail = "The database is unavailable at the moment. Try again in a few seconds."

    def __init__(self, detail: str | None = None, *, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class InternalError(ScimError):
    status = 500
    default_detail = "The server could not complete the request."
