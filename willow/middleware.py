"""WSGI middleware: trusted reverse-proxy headers and lenient /scim paths."""

from __future__ import annotations

import re

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

_SLASHES = re.compile(r"/{2,}")
#: WSGI environ key holding the path as the client sent it, before any rewriting: the
#: request log keeps it beside the normalised one ("was the base URL entered with a
#: trailing slash?"), and the access log prints it.
PATH_AS_SENT = "willow.path_as_sent"


class ScimPathNormalizer:
    """Collapse doubled slashes and drop a trailing slash under /scim.

    IdPs build URLs as ``base + "/Users"``; with a base that ends in "/" (Okta's on-prem
    agent requires one) that gives ``/scim/v2//Users``. Werkzeug would answer such paths
    with a redirect, which SCIM clients do not follow, so they are rewritten before routing.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        environ.setdefault(PATH_AS_SENT, path)
        if path.startswith("/scim") or path.startswith("//"):
            normalised = _SLASHES.sub("/", path)
            if len(normalised) > 1 and normalised.endswith("/"):
                normalised = normalised.rstrip("/") or "/"
            environ["PATH_INFO"] = normalised
        return self.wsgi_app(environ, start_response)


class TrustedProxy:
    """Apply X-Forwarded-* only to requests that come from the configured proxy address
    (``*`` trusts any peer, for proxies whose address is not fixed)."""

    def __init__(self, wsgi_app, proxy_address: str):
        self.direct = wsgi_app
        self.proxied = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)
        self.addresses = {a.strip() for a in proxy_address.split(",") if a.strip()}

    def __call__(self, environ, start_response):
        peer = environ.get("REMOTE_ADDR", "")
        if "*" in self.addresses or peer in self.addresses:
            return self.proxied(environ, start_response)
        return self.direct(environ, start_response)


def init_app(app: Flask) -> None:
    app.wsgi_app = ScimPathNormalizer(app.wsgi_app)
    proxy = app.config.get("WILLOW_TRUSTED_PROXY")
    if proxy:
        app.wsgi_app = TrustedProxy(app.wsgi_app, proxy)
