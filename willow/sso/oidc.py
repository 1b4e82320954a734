"""The OpenID Connect relying party: discovery, the authorization request, and the checks
on the provider's answer.

Authlib does the protocol work (authorization code flow with PKCE S256, ``state`` and
``nonce`` kept in the session, the code exchange, and the ID token's signature checked
against the provider's JWKS, fetched again when a token names a key it has not seen, which
is how providers rotate keys). This module only adds Willow's rules around it: the issuer
must be https (http only on loopback, for tests), the ID token's ``iss`` and ``aud`` are
required and compared exactly, and the clock skew allowed on ``exp``/``iat`` is small.

Nothing here touches Willow's users: ``complete`` returns the verified claims, and
``willow.sso.matching`` decides who they belong to.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from authlib.common.security import is_secure_transport
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskIntegration
from authlib.integrations.flask_client import FlaskOAuth2App
from flask import session
from joserfc import errors as jose_errors

from .models import SsoConfig
from .secrets import decrypt_secret

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


def check_issuer_url(issuer: str) -> None:
    if not issuer.startswith(("https://", "http://")) or not is_secure_transport(issuer):
        raise ProviderError(
            "the issuer URL must start with https:// (http:// only for localhost)"
        )


def fetch_discovery(issuer: str) -> dict[str, Any]:
    """The provider's discovery document (OpenID Connect Discovery 1.0 §4), checked:
    its ``issuer`` must be the URL given (§4.3) and the endpoints Willow uses must be there."""
    issuer = normalise_issuer(issuer)
    check_issuer_url(issuer)
    url = issuer + "/.well-known/openid-configuration"
    try:
        rv = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise ProviderError(f"could not reach {url}: {type(exc).__name__}") from exc
    if rv.status_code != 200:
        raise ProviderError(f"{url} answered HTTP {rv.status_code}, not a discovery document")
    try:
        metadata = rv.json()
    except ValueError as exc:
        raise ProviderError(f"{url} did not answer JSON") from exc
    if not isinstance(metadata, dict):
        raise ProviderError(f"{url} did not answer a JSON object")
    stated = metadata.get("issuer")
    if not isinstance(stated, str) or normalise_issuer(stated) != issuer:
        raise ProviderError(
            f"the discovery document names the issuer {stated!r}, not {issuer!r}"
        )
    for key in _REQUIRED_ENDPOINTS:
        if not isinstance(metadata.get(key), str) or not metadata[key]:
            raise ProviderError(f"the discovery document has no {key}")
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
        detail = exc.error + (f": {exc.description}" if exc.description else "")
        raise SignInError("idp_error", detail[:500]) from exc
    except requests.RequestException as exc:
        raise ProviderError(f"token request failed: {type(exc).__name__}") from exc
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
        raise SignInError("invalid_token", f"unreadable answer: {exc}"[:500]) from exc
    claims = token.get("userinfo")
    if claims is None:
        raise SignInError("invalid_token", "the token response has no ID token")
    return dict(claims)
