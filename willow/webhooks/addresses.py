"""Where webhooks may be delivered: the guard against server-side request forgery
through an endpoint URL, sharing the SSO guard's rules and connection
(``willow.sso.network``).

- ``http://`` and ``https://`` only, without credentials in the URL;
- the host is resolved and every address checked, and the connection goes to the
  address that was checked (``GuardedAdapter``: no DNS rebinding between check and use);
- link-local addresses (169.254.0.0/16, fe80::/10: the cloud metadata services) and
  ``fd00:ec2::254`` are always refused;
- loopback, private and shared addresses are allowed by default (on-prem installs deliver
  to internal hosts) and refused with ``WILLOW_WEBHOOK_PUBLIC_ONLY=1`` (the SaaS);
- redirects are never followed and proxies from the environment never used.

The resolver is ``WILLOW_WEBHOOK_ADDRESS_RESOLVER`` when the app config sets one (the
tests pass a fake: this machine's network is loopback only), else ``getaddrinfo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from ..sso.network import AddressRefused
from ..sso.network import GuardedAdapter
from ..sso.network import HostUnresolved
from ..sso.network import Resolver
from ..sso.network import address_refusal
from ..sso.network import resolve_host
from ..sso.network import system_resolver

__all__ = ["AddressRefused", "HostUnresolved", "Policy", "url_problem", "guarded_session"]

MAX_URL_LENGTH = 2048


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint by its shape alone, or None."""
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return "this is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the URL must start with https:// or http:// and name a host"
    if parts.username or parts.password:
        return "the URL must not carry a user name or password"
    if any(ch.isspace() for ch in url):
        return "the URL must not contain spaces"
    return None


@dataclass(frozen=True)
class Policy:
    """The address rules in force (``WILLOW_WEBHOOK_PUBLIC_ONLY``) and the resolver."""

    public_only: bool = False
    resolver: Resolver = system_resolver

    def refusal(self, address: str) -> str | None:
        return address_refusal(
            address,
            allow_private=not self.public_only,
            allow_loopback=not self.public_only,
            setting="WILLOW_WEBHOOK_PUBLIC_ONLY",
        )

    def check_url(self, url: str) -> None:
        problem = url_problem(url)
        if problem:
            raise AddressRefused(problem)

    def checked_address(self, url: str) -> str:
        """The address to connect to: every address the host resolves to is checked and
        the first returned. Raises AddressRefused or HostUnresolved."""
        self.check_url(url)
        host = urlsplit(url).hostname or ""
        addresses = resolve_host(host, self.resolver)
        for address in addresses:
            problem = self.refusal(address)
            if problem:
                raise AddressRefused(f"{host} is {problem}")
        return addresses[0]


def policy_from_config(config) -> Policy:
    return Policy(
        public_only=bool(config.get("WILLOW_WEBHOOK_PUBLIC_ONLY")),
        resolver=config.get("WILLOW_WEBHOOK_ADDRESS_RESOLVER") or system_resolver,
    )


def guarded_session(policy: Policy) -> requests.Session:
    """A requests session that connects only to checked addresses, never through a
    proxy from the environment (a proxy would connect where Willow never checked)."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(policy)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def endpoint_url_problem(policy: Policy, url: str) -> str | None:
    """Why an endpoint may not be saved with ``url``, or None: its shape, and the
    addresses its host resolves to now (checked again at every delivery). A host that
    does not resolve yet is accepted: its deliveries fail and are retried."""
    try:
        policy.checked_address(url)
    except AddressRefused as exc:
        return str(exc)
    except HostUnresolved:
        return None
    return None
