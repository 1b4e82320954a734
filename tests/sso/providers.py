"""OpenID providers for the SSO tests, both on loopback ports of their own.

- ``MockProvider``: the real ``oidc-provider-mock`` server (PyPI), run as a subprocess so
  its own Authlib deprecation warnings stay out of this warnings-are-errors test process.
  It issues RS256 ID tokens and has a login form where the subject is typed; claims such
  as ``email``/``email_verified`` are set with ``PUT /users/<sub>``.
- ``CraftingProvider``: a small provider whose token endpoint answers ID tokens the test
  builds and signs with keys it controls (wrong audience, expired, another key, ...).

Both are reached as ``http://localhost:PORT`` while Willow's test server is 127.0.0.1, so
the two sites never share cookies.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import requests
from flask import Flask
from flask import jsonify
from flask import redirect
from flask import request
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class MockProvider:
    """``python -m oidc_provider_mock`` on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://localhost:{self.port}"
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1",
             "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.discovery_url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._log.seek(0)
                raise RuntimeError(f"oidc-provider-mock did not start: {self._log.read()!r}")
            time.sleep(0.1)

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def set_user(self, sub: str, **claims: Any) -> None:
        """The claims the provider states for ``sub`` (e.g. email, email_verified)."""
        rv = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5)
        assert rv.status_code == 204, rv.text

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Type ``sub`` in the login form; returns the redirect back to Willow."""
        form = requests.get(authorization_url, timeout=5)
        assert form.status_code == 200, form.text
        rv = requests.post(authorization_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert rv.status_code == 302, rv.text
        return rv.headers["Location"]

    def deny(self, authorization_url: str) -> str:
        rv = requests.post(
            authorization_url, data={"action": "deny"}, allow_redirects=False, timeout=5
        )
        assert rv.status_code == 302, rv.text
        return rv.headers["Location"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})


class CraftingProvider:
    """A provider whose ID tokens the test writes: ``next_claims`` (merged over valid
    defaults) signed with ``signing_key``; ``published`` is the JWKS it serves."""

    def __init__(self, client_id: str = "willow-test") -> None:
        self.client_id = client_id
        self.signing_key = new_key("k1")
        self.published: list[RSAKey] = [self.signing_key]
        self.next_claims: dict[str, Any] = {}
        #: Keys of the discovery document to change (e.g. a token_endpoint elsewhere).
        self.discovery_overrides: dict[str, Any] = {}
        #: Answer the discovery request with a redirect to this URL instead.
        self.discovery_redirect: str | None = None
        self.token_error: str | None = None
        self.jwks_requests = 0
        self.token_requests: list[dict[str, str]] = []
        app = Flask("crafting-provider")
        app.add_url_rule("/.well-known/openid-configuration", view_func=self._discovery)
        app.add_url_rule("/jwks", view_func=self._jwks)
        app.add_url_rule("/token", view_func=self._token, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.issuer = f"http://localhost:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _discovery(self):
        if self.discovery_redirect:
            return redirect(self.discovery_redirect)
        return jsonify(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                **self.discovery_overrides,
            }
        )

    def _jwks(self):
        self.jwks_requests += 1
        return jsonify(KeySet(self.published).as_dict(private=False))

    def _token(self):
        self.token_requests.append(request.form.to_dict())
        if self.token_error:
            return jsonify({"error": self.token_error}), 400
        return jsonify(
            {
                "access_token": "opaque-access-token",
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self._id_token,
            }
        )

    def id_token(self, nonce: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": "alice-okta-id",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        header = {"alg": "RS256", "kid": self.signing_key.kid}
        return jwt.encode(header, claims, self.signing_key)

    def answer(self, nonce: str, **overrides: Any) -> None:
        """The ID token the token endpoint answers next."""
        self._id_token = self.id_token(nonce, **overrides)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)
