"""WSGI middleware: trusted reverse-proxy headers and lenient /scim paths."""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

_SLASHES = re.compile(r"/{2,}")
#: WSGI environ key holding the path as the client sent it, before any rewriting: the
#: request log keeps it beside the normalised one ("was the base URL entered with a
#: trailing slash?"), and the access log prints it.
PATH_AS_SENT = "willow.path_as_sent"

#: The proxy headers, as WSGI environ keys: honoured from the trusted proxy only, and
#: removed from every other request so that nothing further in can be fooled by them.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_FORWARDED_BY",
    "HTTP_FORWARDED",
)


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


@dataclass(frozen=True)
class TrustedProxies:
    """Which peers' ``X-Forwarded-*`` headers are believed: addresses and networks
    (``10.0.0.5``, ``10.0.0.0/24``, ``::1``), or any peer (``*``)."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    any_peer: bool = False

    def trusts(self, peer: str | None) -> bool:
        if self.any_peer:
            return True
        if not peer or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(peer.strip("[]"))
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def parse_trusted_proxies(value: str | None) -> TrustedProxies:
    """``WILLOW_TRUSTED_PROXY`` (a comma list) as ``TrustedProxies``; raises ValueError
    naming an entry that is neither an IP address, a network nor ``*``."""
    entries = [entry.strip() for entry in (value or "").split(",") if entry.strip()]
    if "*" in entries:
        return TrustedProxies(any_peer=True)
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an IP address or network (such as 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return TrustedProxies(tuple(networks))


class ForwardedHeaders:
    """``X-Forwarded-For/Proto/Host/Port`` from the trusted proxy become the request's
    client address, scheme, host and port (one proxy hop: the last value of each, which
    the proxy itself wrote); from anyone else they are removed.

    The app does this itself, rather than waitress, so that one setting works under
    ``python app.py`` and ``waitress-serve`` alike and accepts networks: waitress trusts
    a single address only, and removes every proxy header unless it is told not to
    (``willow.server.http_server.create`` does; ``waitress-serve`` needs
    ``--no-clear-untrusted-proxy-headers``, see docs/operations.md).
    """

    def __init__(self, wsgi_app, trusted: TrustedProxies):
        self.wsgi_app = wsgi_app
        self.proxied = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)
        self.trusted = trusted
        #: Proxy misconfigurations already logged: each once, not once per request.
        self._warned: set[str] = set()

    def __call__(self, environ, start_response):
        peer = environ.get("REMOTE_ADDR")
        if self.trusted.trusts(peer):
            if "HTTP_X_FORWARDED_FOR" not in environ:
                # Usually a server that removed the headers before the app saw them, which
                # nothing else would tell: every client then looks like the proxy.
                self._warn_once(
                    "missing",
                    "a request from the trusted proxy %s carried no X-Forwarded-For: have the "
                    "proxy send X-Forwarded-For/Proto/Host; under waitress-serve, start it "
                    "with --no-clear-untrusted-proxy-headers, or waitress removes them",
                    peer,
                )
            for name in normalise_forwarded(environ):
                self._warn_once(
                    name,
                    "ignored %s from the trusted proxy %s: its last value is not an address "
                    "or scheme (does the proxy pass on the client's own header?)",
                    name,
                    peer,
                )
            return self.proxied(environ, start_response)
        for key in FORWARDED_HEADERS:
            environ.pop(key, None)
        return self.wsgi_app(environ, start_response)

    def _warn_once(self, what: str, message: str, *args: object) -> None:
        if what not in self._warned:
            self._warned.add(what)
            log.warning(message, *args)


def normalise_forwarded(environ: dict) -> list[str]:
    """Reduce ``X-Forwarded-For`` and ``X-Forwarded-Proto`` to the last value (the one a
    single proxy hop wrote, and the only one used) in canonical form — an IP address
    without brackets, ``http`` or ``https`` in lower case — or remove them when that value
    is not one; return the names removed. A proxy that appends the client's address never
    sends such values; one that passes the client's own header on would otherwise put
    any text where addresses are stored (64-character columns) and any scheme into URLs."""
    dropped = []
    value = environ.get("HTTP_X_FORWARDED_FOR")
    if value is not None:
        try:
            address = ipaddress.ip_address(value.rsplit(",", 1)[-1].strip().strip("[]"))
            environ["HTTP_X_FORWARDED_FOR"] = str(address)
        except ValueError:
            del environ["HTTP_X_FORWARDED_FOR"]
            dropped.append("X-Forwarded-For")
    value = environ.get("HTTP_X_FORWARDED_PROTO")
    if value is not None:
        scheme = value.rsplit(",", 1)[-1].strip().lower()
        if scheme in ("http", "https"):
            environ["HTTP_X_FORWARDED_PROTO"] = scheme
        else:
            del environ["HTTP_X_FORWARDED_PROTO"]
            dropped.append("X-Forwarded-Proto")
    return dropped


def init_app(app: Flask) -> None:
    app.wsgi_app = ScimPathNormalizer(app.wsgi_app)
    setting = app.config.get("WILLOW_TRUSTED_PROXY")
    try:
        trusted = parse_trusted_proxies(setting)
    except ValueError as exc:
        raise SystemExit(f"WILLOW_TRUSTED_PROXY: {exc}") from None
    app.wsgi_app = ForwardedHeaders(app.wsgi_app, trusted)
