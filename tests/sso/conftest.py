"""Fixtures for the SSO tests: the OpenID providers, and helpers that provision users
through SCIM and walk Willow's sign-in flow with the test client."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from willow.sso.domains import DnsUnavailable
from willow.sso.models import SsoSignInEvent
from willow.sso.settings import configure_sso
from willow.storage.extensions import db
from willow.storage.models import Organization

from .providers import CraftingProvider
from .providers import MockProvider
from .providers import query_of

CLIENT_ID = "willow-test"
CLIENT_SECRET = "s3cret-client-secret"


@pytest.fixture(scope="session")
def mock_provider():
    provider = MockProvider()
    yield provider
    provider.stop()


@pytest.fixture
def crafting_provider():
    provider = CraftingProvider(CLIENT_ID)
    yield provider
    provider.stop()


class SsoActions:
    def __init__(self, app, client, scim):
        self.app = app
        self.client = client
        self.scim = scim

    def configure(self, issuer: str, org_slug: str = "default", **options) -> None:
        with self.app.app_context():
            org = db.session.scalars(
                sa.select(Organization).where(Organization.slug == org_slug)
            ).one()
            configure_sso(org, issuer, CLIENT_ID, CLIENT_SECRET, **options)
            db.session.commit()

    def start(self, **data) -> str:
        """Press "Sign in with SSO"; returns the provider's authorization URL."""
        rv = self.client.post("/admin/sso/start", data=data)
        assert rv.status_code == 302, rv.get_data(as_text=True)
        return rv.headers["Location"]

    def callback(self, redirect_url: str, **kwargs):
        parts = urlsplit(redirect_url)
        assert parts.path == "/admin/sso/callback", redirect_url
        return self.client.get(f"{parts.path}?{parts.query}", **kwargs)

    def provision(
        self, user_name: str, external_id: str | None = None, emails=(), groups=()
    ) -> str:
        """A user created through SCIM, as an IdP does; returns its id."""
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": True,
            "emails": [
                {"value": e, "type": "work", "primary": i == 0} for i, e in enumerate(emails)
            ],
        }
        if external_id:
            body["externalId"] = external_id
        rv = self.scim.post("/Users", body)
        assert rv.status_code == 201, rv.get_data(as_text=True)
        user_id = rv.get_json()["id"]
        for group in groups:
            self.push_group(group, [user_id])
        return user_id

    def push_group(self, display_name: str, member_ids, role: str | None = None) -> str:
        rv = self.scim.post(
            "/Groups",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": display_name,
                "members": [{"value": m} for m in member_ids],
            },
        )
        assert rv.status_code == 201, rv.get_data(as_text=True)
        group_id = rv.get_json()["id"]
        if role:
            result = self.app.test_cli_runner().invoke(args=["group", "role", display_name, role])
            assert result.exit_code == 0, result.output
        return group_id

    def events(self) -> list[dict]:
        with self.app.app_context():
            rows = db.session.scalars(sa.select(SsoSignInEvent).order_by(SsoSignInEvent.id))
            return [
                {c: getattr(r, c) for c in ("organization_id", "outcome", "reason", "detail",
                                            "subject", "email", "scim_user_id", "role", "test")}
                for r in rows
            ]


class FakeDns:
    """DNS for the app under test (this machine's network is loopback only): the
    addresses of host names, and the TXT records of names; ``txt_down`` makes TXT
    lookups fail as a DNS outage does."""

    def __init__(self) -> None:
        self.addresses: dict[str, list[str]] = {"localhost": ["127.0.0.1"]}
        self.txt: dict[str, list[str]] = {}
        self.txt_down = False
        self.lookups: list[str] = []

    def resolve(self, host: str) -> list[str]:
        self.lookups.append(host)
        return list(self.addresses.get(host, []))

    def resolve_txt(self, name: str) -> list[str]:
        if self.txt_down:
            raise DnsUnavailable(f"DNS lookup of {name} failed: Timeout")
        return list(self.txt.get(name, []))


@pytest.fixture
def fake_dns(app) -> FakeDns:
    dns = FakeDns()
    app.config["WILLOW_SSO_ADDRESS_RESOLVER"] = dns.resolve
    app.config["WILLOW_SSO_TXT_RESOLVER"] = dns.resolve_txt
    return dns


@pytest.fixture
def sso(app, client, scim) -> SsoActions:
    return SsoActions(app, client, scim)


__all__ = ["query_of"]
