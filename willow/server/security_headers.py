"""Browser security headers on every response.

The console is server-rendered HTML with its script and styles in static files, so the
Content-Security-Policy can forbid inline script, inline styles, event-handler attributes
and every other origin. ``form-action`` is left out on purpose: single sign-on starts with
a form whose answer redirects to the identity provider, which ``form-action 'self'``
would block in Chromium. The SCIM API's JSON gets the same headers; they cost nothing
there and ``nosniff`` matters for any response.

Over https (as the trusted proxy reports it, see ``willow.server.middleware``) every response
also says ``Strict-Transport-Security``, without ``includeSubDomains``: that would bind
every other site under the same domain to https, which is not Willow's to decide.
Console pages carry payloads and personal data, so no browser or proxy may keep them
(``Cache-Control: no-store``); static files keep Flask's revalidated caching, and /scim
answers are left to their views (a bearer-authenticated API response is not cached by
shared caches anyway, RFC 9111 §3.5).
"""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # frame-ancestors for browsers that predate CSP 2.
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


#: A year, the usual choice: a browser that saw it uses https only for that long.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"
#: Endpoints whose answers may be cached: static files are the same for everyone.
CACHEABLE_ENDPOINTS = frozenset({"static", "favicon"})

_LOWERED = [(name.lower(), name, value) for name, value in HEADERS.items()]


def add_security_headers(response: Response) -> Response:
    """Each header unless the response set its own; one pass over the response's headers
    (``Headers.setdefault`` scans them once per name)."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    for lowered, name, value in _LOWERED:
        if lowered not in present:
            headers.add(name, value)
    if request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if "cache-control" not in present and is_console_page(request.path, request.endpoint):
        headers.add("Cache-Control", "no-store")
    return response


def is_console_page(path: str, endpoint: str | None) -> bool:
    """Whether a response is a console page (anything but /scim and static files,
    error pages included), which no cache may keep."""
    if path == "/scim" or path.startswith("/scim/"):
        return False
    return endpoint not in CACHEABLE_ENDPOINTS


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
