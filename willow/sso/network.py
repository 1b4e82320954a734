"""Where Willow may connect for single sign-on: the guard against server-side request
forgery through the issuer URL and the discovery document.

An organization's admin chooses the issuer, and the discovery document it serves names
the token endpoint and the JWKS, so without a guard Willow would send requests (with the
client credentials) wherever an admin points it. The rules:

- every URL is ``https://`` (``http://`` only to a loopback address, and only with
  ``WILLOW_SSO_ALLOW_HTTP_LOOPBACK``, for development and tests);
- the host name is resolved and *every* address it resolves to is checked: link-local
  addresses (``169.254.0.0/16``, ``fe80::/10``, which hold the cloud metadata services)
  and ``fd00:ec2::254`` are always refused, as are unspecified and multicast ones;
  loopback, private (RFC 1918, ``fc00::/7``), shared (``100.64.0.0/10``) and reserved
  addresses are refused unless private addresses are allowed (``WILLOW_SSO_ALLOW_PRIVATE``;
  unset, they are allowed while the install has one organization, the on-prem case);
- the connection goes to the address that was checked (``GuardedAdapter``), so a DNS
  answer that changes between the check and the connection (DNS rebinding) cannot move
  it, and redirects are never followed;
- proxies from the environment are not used: a proxy would connect to an address Willow
  never checked.

The resolver is ``WILLOW_SSO_ADDRESS_RESOLVER`` in the app config when set (the tests use a
fake one; this machine's network is loopback only), else the system's ``getaddrinfo``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app
from requests.adapters import HTTPAdapter
from sqlalchemy import func
from sqlalchemy import select

#: ``(host) -> addresses``: the resolver's shape, so tests can pass a fake one.
Resolver = Callable[[str], list[str]]

#: Always refused, whatever the settings: the AWS metadata service's IPv6 address (its
#: IPv4 one, 169.254.169.254, is link-local and refused with that whole range).
_METADATA = (ipaddress.ip_network("fd00:ec2::254/128"),)
#: Shared address space (RFC 6598); Python counts it as neither private nor global.
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class AddressRefused(requests.exceptions.InvalidURL):
    """A URL or address Willow will not connect to; the message says which rule."""


class HostUnresolved(requests.exceptions.ConnectionError):
    """The host name has no address."""


def address_refusal(
    address: str,
    *,
    allow_private: bool,
    allow_loopback: bool,
    setting: str = "WILLOW_SSO_ALLOW_PRIVATE",
) -> str | None:
    """Why Willow must not connect to ``address`` (an IP address), or None. The reason
    does not repeat the address: shown to an admin, it would read back internal DNS.
    ``setting`` is the one named in the reason (webhooks share these rules)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or any(ip in net for net in _METADATA):
        return "a link-local or cloud metadata address, which is always refused"
    if ip.is_unspecified or ip.is_multicast:
        return "an address that is not a single host"
    if ip.is_loopback:
        if allow_private or allow_loopback:
            return None
        return f"a loopback address (see {setting})"
    if ip.is_private or ip.is_reserved or ip in _SHARED or not ip.is_global:
        if allow_private:
            return None
        return f"a private address (see {setting})"
    return None


def url_refusal(url: str, *, allow_http_loopback: bool) -> str | None:
    """Why ``url`` is not a URL Willow may use for the identity provider (scheme and
    shape only; addresses are checked after resolution), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return f"{url} is not a URL"
    if not parts.hostname:
        return f"{url} is not a URL"
    if parts.username or parts.password:
        return f"{url} carries credentials"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_http_loopback and _loopback_name(parts.hostname):
        return None
    if parts.scheme == "http" and allow_http_loopback:
        return f"{url} must start with https:// (http:// only to loopback)"
    if parts.scheme == "http":
        return f"{url} must start with https:// (see WILLOW_SSO_ALLOW_HTTP_LOOPBACK)"
    return f"{url} must start with https://"


def _loopback_name(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


@dataclass(frozen=True)
class Policy:
    """The rules in force for one request of the app (``policy()`` builds it)."""

    allow_private: bool
    allow_http_loopback: bool
    resolver: Resolver = system_resolver

    def check_url(self, url: str) -> None:
        """Refuse a URL by its shape (AddressRefused); checked when settings are saved."""
        problem = url_refusal(url, allow_http_loopback=self.allow_http_loopback)
        if problem:
            raise AddressRefused(problem)

    def checked_address(self, url: str) -> str:
        """The address to connect to for ``url``: every address its host resolves to is
        checked, and the first is returned. Raises AddressRefused or HostUnresolved."""
        self.check_url(url)
        parts = urlsplit(url)
        host = parts.hostname or ""
        addresses = resolve_host(host, self.resolver)
        for address in addresses:
            problem = address_refusal(
                address,
                allow_private=self.allow_private,
                allow_loopback=self.allow_http_loopback,
            )
            if problem:
                raise AddressRefused(f"{host} resolves to {problem}")
            if parts.scheme == "http" and not ipaddress.ip_address(address).is_loopback:
                raise AddressRefused(f"{url} must start with https:// (http:// only to loopback)")
        return addresses[0]


def resolve_host(host: str, resolver: Resolver) -> list[str]:
    """The addresses to check for ``host``: itself when it is an IP address, else what
    ``resolver`` answers. Raises HostUnresolved when there is none."""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = resolver(host)
    if not addresses:
        raise HostUnresolved(f"{host} has no address")
    return addresses


def policy() -> Policy:
    """The policy from the app's settings. ``WILLOW_SSO_ALLOW_PRIVATE`` unset: private
    addresses are allowed while there is one organization (an on-prem IdP on the internal
    network), and refused once there are several (one tenant's admin must not reach the
    operator's network)."""
    from ..storage.extensions import db
    from ..storage.models import Organization

    config = current_app.config
    allow_private = config.get("WILLOW_SSO_ALLOW_PRIVATE")
    if allow_private is None:
        allow_private = db.session.scalar(select(func.count(Organization.id))) <= 1
    return Policy(
        allow_private=bool(allow_private),
        allow_http_loopback=bool(config.get("WILLOW_SSO_ALLOW_HTTP_LOOPBACK")),
        resolver=config.get("WILLOW_SSO_ADDRESS_RESOLVER") or system_resolver,
    )


class GuardedAdapter(HTTPAdapter):
    """Connects to the address ``Policy.checked_address`` returned, checked right before
    each connection; TLS still verifies the certificate against the host name."""

    def __init__(self, rules: Policy) -> None:
        self.rules = rules
        super().__init__(max_retries=0)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.headers.setdefault("Host", parts.netloc.rpartition("@")[2])
        return super().send(request, **kwargs)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        address = self.rules.checked_address(request.url)
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(
            request, verify, cert
        )
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = host_params["host"]
            pool_kwargs["assert_hostname"] = host_params["host"]
        return self.poolmanager.connection_from_host(
            host=address,
            port=host_params["port"],
            scheme=host_params["scheme"],
            pool_kwargs=pool_kwargs,
        )


class GuardedSession(OAuth2Session):
    """Authlib's requests session, through ``GuardedAdapter``, never redirected and
    never proxied. ``rules`` is set on the subclass ``guarded_session`` makes."""

    rules: Policy

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.trust_env = False
        adapter = GuardedAdapter(self.rules)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method, url, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def guarded_session(rules: Policy) -> type[GuardedSession]:
    """A session class bound to ``rules`` (Authlib builds its sessions from a class)."""
    return type("BoundGuardedSession", (GuardedSession,), {"rules": rules})
