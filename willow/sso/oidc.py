"""The OpenID Connect relying party: discovery, the authorization request, and the checks
on the provider's answer.

Authlib does the protocol work (authorization code flow with PKCE S256, ``state`` and
``nonce`` kept in the session, the code exchange, and the ID token's signature checked
against the provider's JWKS, fetched again when a token names a key it has not seen, which
is how providers rotate keys). This module only adds Willow's rules around it: the issuer
and every endpoint of the discovery document pass ``willow.sso.network``'s checks (https,
no internal addresses) when saved, and every request goes through its guarded session;
the ID token's ``iss`` and ``aud`` are required and compared exactly, and the clock skew
allowed on ``exp``/``iat`` is small.

What the provider answers in an error (a token endpoint's error text, a connection
error) goes to the server log under a short reference, never to a page: shown to the
admin who chose the URL, it would read back whatever answers at that address.

Nothing here touches Willow's users: ``complete`` returns the verified claims, and
``willow.sso.matching`` decides who they belong to.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

import requests
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskIntegration
from authlib.integrations.flask_client import FlaskOAuth2App
from flask import session
from joserfc import errors as jose_errors

from . import network
from .models import SsoConfig
from .secrets import decrypt_secret

log = logging.getLogger("willow.sso")

SCOPE = "openid email profile"
#: Seconds of clock difference tolerated on ``exp`` and ``iat`` (OpenID Connect Core §3.1.3.7).
CLOCK_SKEW = 60
#: Seconds to wait for the provider (discovery, token exchange, JWKS).
HTTP_TIMEOUT = 10
#: Discovery documents are read again after this many seconds.
METADATA_MAX_AGE = 3600
#: Prefix of the session keys in which Authlib keeps state, nonce and PKCE verifier.
STATE_NAME = "willow_sso"

_REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
#: Every URL of the discovery document Willow may use, checked like the issuer.
_ENDPOINTS = (*_REQUIRED_ENDPOINTS, "userinfo_endpoint")


class ProviderError(Exception):
    """The provider could not be reached, or answered with something that is not OpenID."""


class SignInError(Exception):
    """The provider's answer was refused. ``reason`` is a code of ``outcomes.REASONS``;
    ``detail`` is for the admins' record only."""

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def normalise_issuer(issuer: str) -> str:
    return issuer.strip().rstrip("/")


def log_upstream(what: str, text: str) -> str:
    """Keep an upstream error in the server log; returns the reference a page may show."""
    reference = secrets.token_hex(4)
    log.warning("SSO %s (reference %s): %s", what, reference, text[:2000])
    return reference


def _unreachable(what: str, exc: requests.RequestException) -> ProviderError:
    if isinstance(exc, network.AddressRefused):
        return ProviderError(f"{what}: {exc}")
    reference = log_upstream(f"could not reach {what}", f"{type(exc).__name__}: {exc}")
    return ProviderError(f"could not reach {what}; see the server log, reference {reference}")


def check_endpoints(rules: network.Policy, issuer: str, metadata: dict[str, Any]) -> None:
    """Every URL the discovery document names passes the same rules as the issuer, and
    resolves to allowed addresses now (checked again at each connection)."""
    for key in ("issuer", *_ENDPOINTS):
        url = issuer if key == "issuer" else metadata.get(key)
        if url is None and key == "userinfo_endpoint":
            continue
        try:
            rules.checked_address(url)
        except requests.RequestException as exc:
            raise _unreachable(f"the {key.replace('_', ' ')}", exc) from exc


def fetch_discovery(issuer: str) -> dict[str, Any]:
    """The provider's discovery document (OpenID Connect Discovery 1.0 §4), checked:
    its ``issuer`` must be the URL given (§4.3), the endpoints Willow uses must be there,
    and each must be a URL Willow may connect to (``willow.sso.network``)."""
    issuer = normalise_issuer(issuer)
    rules = network.policy()
    try:
        rules.check_url(issuer)
    except network.AddressRefused as exc:
        raise ProviderError(f"the issuer URL {exc}") from exc
    url = issuer + "/.well-known/openid-configuration"
    try:
        with network.guarded_session(rules)() as session:
            rv = session.request(
                "GET",
                url,
                withhold_token=True,
                timeout=HTTP_TIMEOUT,
                headers={"Accept": "application/json"},
            )
    except requests.RequestException as exc:
        raise _unreachable("the discovery document", exc) from exc
    try:
        metadata = rv.json() if rv.status_code == 200 else None
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict):
        reference = log_upstream(
            "discovery document unusable", f"{url} answered HTTP {rv.status_code}: {rv.text}"
        )
        raise ProviderError(
            f"{url} did not answer a discovery document; see the server log, "
            f"reference {reference}"
        )
    stated = metadata.get("issuer")
    if not isinstance(stated, str) or normalise_issuer(stated) != issuer:
        raise ProviderError(f"the discovery document names another issuer than {issuer}")
    for key in _REQUIRED_ENDPOINTS:
        if not isinstance(metadata.get(key), str) or not metadata[key]:
            raise ProviderError(f"the discovery document has no {key}")
    if not isinstance(metadata.get("userinfo_endpoint", ""), str):
        raise ProviderError("the discovery document's userinfo_endpoint is not a URL")
    check_endpoints(rules, issuer, metadata)
    keep = (
        "issuer",
        *_REQUIRED_ENDPOINTS,
        "id_token_signing_alg_values_supported",
        "token_endpoint_auth_methods_supported",
        "userinfo_endpoint",
    )
    return {key: metadata[key] for key in keep if key in metadata}


class _MetadataCache:
    """Discovery documents (and the JWKS Authlib adds to them) per issuer, shared by the
    process's threads so that a sign-in does not fetch them every time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}

    def get(self, config: SsoConfig) -> dict[str, Any]:
        with self._lock:
            entry = self._entries.get(config.issuer)
            if entry is None or time.time() - entry["_loaded_at"] > METADATA_MAX_AGE:
                return {}
            return entry

    def forget(self, issuer: str) -> None:
        with self._lock:
            self._entries.pop(issuer, None)

    def put(self, issuer: str, metadata: dict[str, Any]) -> dict[str, Any]:
        entry = dict(metadata, _loaded_at=time.time())
        with self._lock:
            self._entries[issuer] = entry
        return entry


metadata_cache = _MetadataCache()


def provider_metadata(config: SsoConfig) -> dict[str, Any]:
    """Fresh metadata for the provider: the cached copy, else the discovery document read
    again (the provider may have moved its endpoints). Raises ProviderError."""
    cached = metadata_cache.get(config)
    if cached:
        return cached
    return metadata_cache.put(config.issuer, fetch_discovery(config.issuer))


def _client(config: SsoConfig, metadata: dict[str, Any]) -> FlaskOAuth2App:
    rules = network.policy()
    # The metadata may come from the cache, stored under other settings: check it again.
    check_endpoints(rules, config.issuer, metadata)
    client = FlaskOAuth2App(
        FlaskIntegration(STATE_NAME),
        name=STATE_NAME,
        client_id=config.client_id,
        client_secret=decrypt_secret(config.client_secret_encrypted),
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "default_timeout": HTTP_TIMEOUT,
        },
    )
    # The shared cache entry: a JWKS fetched during this sign-in stays for the next one.
    client.server_metadata = metadata
    # Token and JWKS requests through the guarded session (checked address, no redirect).
    client.client_cls = network.guarded_session(rules)
    return client


def begin(config: SsoConfig, redirect_uri: str, extra: dict[str, Any], login_hint=None) -> str:
    """The provider's authorization URL for a new sign-in. State, nonce and the PKCE
    verifier are kept in the session with ``extra`` (organization, purpose, next page)."""
    metadata = provider_metadata(config)
    client = _client(config, metadata)
    params = {"login_hint": login_hint} if login_hint else {}
    rv = client.create_authorization_url(redirect_uri, **params)
    client.framework.set_state_data(
        session,
        rv["state"],
        {
            "redirect_uri": redirect_uri,
            "code_verifier": rv["code_verifier"],
            "nonce": rv["nonce"],
            **extra,
        },
    )
    return rv["url"]


def pending_sign_in(state: str | None) -> dict[str, Any] | None:
    """What ``begin`` kept for this ``state``, or None (unknown, expired, another browser)."""
    if not state:
        return None
    return FlaskIntegration(STATE_NAME).get_state_data(session, state)


def forget_sign_in(state: str | None) -> None:
    if state:
        FlaskIntegration(STATE_NAME).clear_state_data(session, state)


def complete(config: SsoConfig) -> dict[str, Any]:
    """Exchange the callback's code and return the ID token's verified claims.

    Raises SignInError (the answer was refused) or ProviderError (unreachable).
    """
    metadata = provider_metadata(config)
    client = _client(config, metadata)
    claims_options = {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": config.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    try:
        token = client.authorize_access_token(claims_options=claims_options, leeway=CLOCK_SKEW)
    except MismatchingStateError as exc:
        raise SignInError("state_mismatch", "no sign-in was started with this state") from exc
    except OAuthError as exc:
        reference = log_upstream(
            "token endpoint refused the code exchange",
            exc.error + (f": {exc.description}" if exc.description else ""),
        )
        raise SignInError(
            "idp_error",
            "the identity provider refused the code exchange; see the server log, "
            f"reference {reference}",
        ) from exc
    except requests.RequestException as exc:
        raise _unreachable("the token endpoint or the JWKS", exc) from exc
    except jose_errors.ExpiredTokenError as exc:
        raise SignInError("invalid_token", "ID token expired") from exc
    except jose_errors.InvalidKeyIdError as exc:
        raise SignInError("invalid_token", "ID token signed by a key not in the JWKS") from exc
    except jose_errors.BadSignatureError as exc:
        raise SignInError("invalid_token", "ID token signature does not verify") from exc
    except jose_errors.ClaimError as exc:
        raise SignInError(
            "invalid_token", f"ID token claim {exc.claim}: {exc.description}"[:500]
        ) from exc
    except jose_errors.JoseError as exc:
        raise SignInError("invalid_token", f"ID token rejected: {exc.error}"[:500]) from exc
    except ValueError as exc:
        # A token response that is not JSON, or a JWKS that is not a key set.
        reference = log_upstream("unreadable answer", str(exc))
        raise SignInError(
            "invalid_token",
            f"unreadable answer from the provider; see the server log, reference {reference}",
        ) from exc
    claims = token.get("userinfo")
    if claims is None:
        raise SignInError("invalid_token", "the token response has no ID token")
    return dict(claims)
