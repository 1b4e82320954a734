"""HTTP plumbing for SCIM views: reading bodies, building responses, ETags, base URLs."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask import current_app
from flask import request

from ..server.json_limits import NumberTooLong
from ..server.json_limits import TooDeep
from ..server.json_limits import loads as load_json
from .protocol.errors import InvalidSyntax
from .protocol.errors import InvalidValue
from .protocol.errors import UnsupportedMediaType
from .protocol.preconditions import Preconditions
from .protocol.preconditions import entity_tags
from .protocol.text import UNSTORABLE_DETAIL
from .protocol.text import first_unstorable
from .protocol.text import may_hold_unstorable

SCIM_MEDIA_TYPE = "application/scim+json"


def request_json() -> Any:
    """The request body as JSON. Accepts application/scim+json and application/json
    (Okta's spec test posts the latter) and a missing Content-Type; anything else is 415.
    A body nested deeper than ``willow.server.json_limits.MAX_DEPTH`` is refused before it is
    parsed, and one holding a string no column can store (``willow.scim.protocol.text``)
    is 400."""
    mimetype = request.mimetype or ""
    if mimetype and not (mimetype == "application/json" or mimetype.endswith("+json")):
        raise UnsupportedMediaType()
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidSyntax("The request body is empty; a JSON object is required.")
    try:
        body = load_json(raw)
    except TooDeep as exc:
        raise InvalidSyntax(
            f"The request body nests arrays and objects deeper than {exc.limit} levels."
        ) from None
    except NumberTooLong as exc:
        raise InvalidValue(
            f"The request body holds a number of more than {exc.limit} digits."
        ) from None
    except (UnicodeDecodeError, ValueError):
        raise InvalidSyntax("The request body is not valid JSON.") from None
    if may_hold_unstorable(raw) and first_unstorable(body) is not None:
        raise InvalidValue(f"The request body contains {UNSTORABLE_DETAIL}.")
    return body


def request_object() -> dict:
    body = request_json()
    if not isinstance(body, dict):
        raise InvalidSyntax("The request body must be a JSON object.")
    return body


def scim_response(
    payload: Any,
    status: int = 200,
    *,
    version: int | None = None,
    location: str | None = None,
) -> Response:
    if payload is None:
        body = ""
    elif isinstance(payload, str):
        body = payload  # already JSON text (a cached document)
    else:
        body = to_json(payload)
    rv = Response(body, status=status, mimetype=SCIM_MEDIA_TYPE)
    if payload is None:
        rv.headers.remove("Content-Type")
    if version is not None:
        rv.headers["ETag"] = etag(version)
    if location:
        rv.headers["Location"] = location
    return rv


def to_json(payload: Any) -> str:
    """Compact JSON, non-ASCII characters as they are."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def etag(version: int) -> str:
    return f'W/"{version}"'


def preconditions() -> Preconditions:
    """The request's If-Match / If-None-Match, checked by the store under its lock."""
    headers = request.headers
    return Preconditions(
        entity_tags(headers.get("If-Match")), entity_tags(headers.get("If-None-Match"))
    )


#: Base URLs by the parts of the WSGI environ they are made of: Werkzeug builds the URL
#: root anew for each request (host validation, IRI conversion), and it is the same for
#: nearly every request. Bounded: the Host header is the client's to choose.
_BASE_URLS: dict[tuple, str] = {}
_BASE_URLS_MAX = 64


def base_url() -> str:
    """The SCIM base URL the client sees: WILLOW_PUBLIC_URL behind a proxy, else the request's."""
    public = current_app.config.get("WILLOW_PUBLIC_URL")
    if public:
        return public.rstrip("/") + "/scim/v2"
    environ = request.environ
    key = (
        environ.get("wsgi.url_scheme"),
        environ.get("HTTP_HOST"),
        environ.get("SERVER_NAME"),
        environ.get("SERVER_PORT"),
        environ.get("SCRIPT_NAME"),
    )
    url = _BASE_URLS.get(key)
    if url is None:
        url = request.url_root.rstrip("/") + "/scim/v2"
        if len(_BASE_URLS) < _BASE_URLS_MAX:
            _BASE_URLS[key] = url
    return url


def collection_url(resource_type: str) -> str:
    """``…/scim/v2/Users`` or ``…/Groups``; compute it once when building many $refs."""
    return f"{base_url()}/{'Users' if resource_type == 'User' else 'Groups'}"


def resource_location(resource_type: str, resource_id: str) -> str:
    return f"{collection_url(resource_type)}/{resource_id}"
