"""Browser security headers on every response.

The console is server-rendered HTML with its script and styles in static files, so the
Content-Security-Policy can forbid inline script, inline styles, event-handler attributes
and every other origin. ``form-action`` is left out on purpose: single sign-on starts with
a form whose answer redirects to the identity provider, which ``form-action 'self'``
would block in Chromium. The SCIM API's JSON gets the same headers; they cost nothing
there and ``nosniff`` matters for any response.
"""

from __future__ import annotations

from flask import Flask
from flask import Response

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


_LOWERED = [(name.lower(), name, value) for name, value in HEADERS.items()]


def add_security_headers(response: Response) -> Response:
    """Each header unless the response set its own; one pass over the response's headers
    (``Headers.setdefault`` scans them once per name)."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    for lowered, name, value in _LOWERED:
        if lowered not in present:
            headers.add(name, value)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
