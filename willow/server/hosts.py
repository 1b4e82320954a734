"""Which ``Host`` names the server answers to.

Absolute URLs — ``Location``, ``meta.location``, the SSO redirect URI — are built from
``WILLOW_PUBLIC_URL`` when it is set, else from the request's host (after the trusted
proxy's ``X-Forwarded-Host``). A host name the client chose must not end up in them: a
forged ``Host`` would otherwise send an IdP, or a cached page, to someone else's server.
So a request for a host name not allowed here gets a 400 before anything else runs:

- ``WILLOW_ALLOWED_HOSTS`` set: exactly those names (``.example.com`` also allows its
  subdomains, ``*`` any name);
- else ``WILLOW_PUBLIC_URL`` set: any name, because no URL is built from it;
- else the local names ``localhost``, ``127.0.0.1`` and ``::1`` (and ``WILLOW_HOST``
  when it is one address), so ``python app.py`` works at http://127.0.0.1:8000 with no
  setup, and a server reached by any other name says which setting it needs.

Willow has no development mode to relax this in: ``config.Config`` is what production
runs, so the safe answer is the default one.
"""

from __future__ import annotations

import ipaddress
import re

from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import request

from ..scim.paths import is_scim_path

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
_WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")
#: A DNS name or IPv4 address, as Werkzeug also accepts it for building URLs.
_NAME = re.compile(r"[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*\.?")
_PORT = re.compile(r"[1-9][0-9]{0,4}")
_SHOWN_MAX = 100


def host_name(host: str) -> str | None:
    """The name in a ``Host`` value (``Example.com:8000`` → ``example.com``,
    ``[::1]:8000`` → ``::1``), or None when it is not a valid one."""
    host = host.strip().lower()
    if host.startswith("["):
        name, bracket, port = host[1:].partition("]")
        if not bracket:
            return None
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            return None
    else:
        name, colon, port = host.partition(":")
        port = colon + port
        if len(name) > 253 or not _NAME.fullmatch(name):
            return None
        name = name.rstrip(".")  # "example.com." is example.com
    if port and not (
        port.startswith(":") and _PORT.fullmatch(port[1:]) and int(port[1:]) <= 65535
    ):
        return None
    return name


def allowed_hosts(
    setting: str | None, public_url: str | None, listen_host: str | None
) -> tuple[str, ...] | None:
    """The names a request may be addressed to (see the module's docstring); None: any."""
    if setting:
        names = tuple(host_name(entry) or entry.strip().lower() for entry in setting.split(","))
        names = tuple(name for name in names if name)
        return None if "*" in names else names
    if public_url:
        return None
    listen = (listen_host or "").strip().lower().strip("[]")
    if listen in _WILDCARD_ADDRESSES or listen in LOCAL_NAMES:
        return LOCAL_NAMES
    return (*LOCAL_NAMES, listen)


def host_allowed(host: str, allowed: tuple[str, ...] | None) -> bool:
    """Whether a request whose ``Host`` is ``host`` may be served: a valid name (even when
    any is allowed: Werkzeug cannot build the console's URLs for another), and allowed."""
    name = host_name(host)
    if name is None:
        return False
    if allowed is None:
        return True
    for entry in allowed:
        if entry.startswith("."):
            if name == entry[1:] or name.endswith(entry):
                return True
        elif name == entry:
            return True
    return False


def check_host() -> Response | None:
    # HTTP/1.0 requests may come without a Host: URLs then use the server's own name.
    host = request.environ.get("HTTP_HOST")
    if host is None or host_allowed(host, current_app.extensions["willow_allowed_hosts"]):
        return None
    shown = host if len(host) <= _SHOWN_MAX else host[:_SHOWN_MAX] + "…"
    detail = (
        f"This server does not answer to the host name {shown!r}. Its administrator "
        "lists the names it answers to in WILLOW_ALLOWED_HOSTS, or sets its address in "
        "WILLOW_PUBLIC_URL."
    )
    if is_scim_path(request.path):
        abort(400, description=detail)
    # Plain text, not the console's error page: that page's links are built for the
    # request's host, which may be one Werkzeug cannot build URLs for.
    return Response(detail + "\n", 400, mimetype="text/plain")


def init_app(app: Flask) -> None:
    app.extensions["willow_allowed_hosts"] = allowed_hosts(
        app.config.get("WILLOW_ALLOWED_HOSTS"),
        app.config.get("WILLOW_PUBLIC_URL"),
        app.config.get("WILLOW_HOST"),
    )
    # First of all hooks: none of the others (session loading, rate limits) needs to run
    # for a request that is refused anyway.
    app.before_request_funcs.setdefault(None, []).insert(0, check_host)
