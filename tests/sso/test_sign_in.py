"""Signing in through a real OpenID provider (oidc-provider-mock) as a provisioned user."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import ConsoleUser

from .providers import query_of


def test_a_provisioned_admin_signs_in_through_the_provider_and_reaches_api_tokens(
    sso, client, mock_provider
):
    sso.configure(mock_provider.issuer)
    alice = sso.provision(
        "alice@example.com", external_id="alice-sub", emails=["alice@example.com"]
    )
    sso.push_group("Willow Admins", [alice], role="admin")

    authorization_url = sso.start()
    params = query_of(authorization_url)
    assert authorization_url.startswith(mock_provider.issuer)
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert params["state"] and params["nonce"]
    assert params["scope"] == "openid email profile"

    rv = sso.callback(mock_provider.authorize(authorization_url, "alice-sub"))
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/admin/"
    tokens = client.get("/admin/tokens")
    assert tokens.status_code == 200
    assert "alice@example.com" in tokens.get_data(as_text=True)
    [event] = sso.events()
    assert (event["outcome"], event["reason"], event["role"]) == ("success", "signed_in", "admin")
    assert event["scim_user_id"] == alice


def test_a_verified_email_matches_the_user_name_case_insensitively(sso, client, mock_provider, app):
    sso.configure(mock_provider.issuer)
    bob = sso.provision("Bob@Example.com")
    sso.push_group("Willow Viewers", [bob], role="viewer")
    mock_provider.set_user("bob-sub", email="bob@EXAMPLE.com", email_verified=True)

    rv = sso.callback(mock_provider.authorize(sso.start(), "bob-sub"))
    assert rv.status_code == 302
    assert client.get("/admin/directory/users").status_code == 200
    assert client.get("/admin/tokens").status_code == 403
    with app.app_context():
        account = db.session.scalars(sa.select(ConsoleUser)).one()
        assert (account.scim_user_id, account.role, account.password_hash) == (bob, "viewer", None)


def test_denying_at_the_provider_is_refused_as_an_identity_provider_error(
    sso, mock_provider, caplog
):
    """oidc-provider-mock sends the error without the state, so the refusal cannot be
    told from a forged one: it is logged, not filed under the organization."""
    caplog.set_level(logging.INFO, logger="willow.sso")
    sso.configure(mock_provider.issuer)
    rv = sso.callback(mock_provider.deny(sso.start()))
    assert rv.status_code == 403
    assert "did not sign you in" in rv.get_data(as_text=True)
    assert sso.events() == []
    assert any("access_denied" in r.getMessage() for r in caplog.records)


def test_an_account_the_provider_knows_but_willow_was_not_given_is_refused(sso, mock_provider):
    sso.configure(mock_provider.issuer)
    sso.provision("alice@example.com", external_id="alice-sub", groups=["Willow Admins"])
    rv = sso.callback(mock_provider.authorize(sso.start(), "mallory-sub"))
    assert rv.status_code == 403
    body = rv.get_data(as_text=True)
    assert "does not match any user provisioned" in body and "alice" not in body
    assert sso.events()[-1]["reason"] == "no_match"


def test_a_provisioned_user_in_no_role_group_is_refused_through_the_provider(sso, mock_provider):
    sso.configure(mock_provider.issuer)
    sso.provision("carol@example.com", external_id="carol-sub", groups=["Engineering"])
    rv = sso.callback(mock_provider.authorize(sso.start(), "carol-sub"))
    assert rv.status_code == 403
    assert "not in any group that grants a role" in rv.get_data(as_text=True)
    assert sso.events()[-1]["reason"] == "no_role"


def test_the_page_asked_for_before_sign_in_is_reached_after_it(sso, mock_provider):
    sso.configure(mock_provider.issuer)
    alice = sso.provision("alice@example.com", external_id="alice-sub")
    sso.push_group("Willow Admins", [alice], role="admin")
    url = sso.start(next="/admin/directory/groups")
    rv = sso.callback(mock_provider.authorize(url, "alice-sub"))
    assert rv.headers["Location"] == "/admin/directory/groups"
    # An absolute URL is never followed.
    sso.client.post("/admin/logout")
    rv = sso.callback(mock_provider.authorize(sso.start(next="https://evil.example/"), "alice-sub"))
    assert rv.headers["Location"] == "/admin/"
