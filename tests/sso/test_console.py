"""The Single sign-on page, the sign-in page's SSO button, Require SSO, and the API Tokens
page's SSO prerequisite."""

from __future__ import annotations

import sqlalchemy as sa

from willow.sso.models import SsoConfig
from willow.storage.extensions import db
from willow.storage.models import ApiToken

from .conftest import CLIENT_SECRET
from .providers import query_of
from .test_refusals import SUB
from .test_refusals import begin
from .test_refusals import finish


def test_only_admins_see_the_single_sign_on_page(client, console, make_admin):
    assert client.get("/admin/sso/").status_code == 302
    viewer = make_admin("viewer@example.com", role="viewer")
    console.login(viewer)
    assert client.get("/admin/sso/").status_code == 403
    assert client.post("/admin/sso/", data={"issuer": "x"}).status_code == 403
    console.logout()
    console.login()
    page = client.get("/admin/sso/")
    assert page.status_code == 200
    assert "http://localhost/admin/sso/callback" in page.get_data(as_text=True)


def test_saving_the_settings_page_keeps_the_secret_write_only(
    app, client, console, mock_provider
):
    console.login()
    rv = client.post(
        "/admin/sso/",
        data={
            "issuer": mock_provider.issuer,
            "client_id": "willow",
            "client_secret": CLIENT_SECRET,
            "allowed_domains": "example.com",
        },
    )
    assert rv.status_code == 302
    page = client.get("/admin/sso/").get_data(as_text=True)
    assert CLIENT_SECRET not in page
    assert mock_provider.issuer in page
    with app.app_context():
        stored = db.session.scalars(sa.select(SsoConfig)).one().client_secret_encrypted
    # Saving again without a secret keeps the stored one.
    rv = client.post(
        "/admin/sso/", data={"issuer": mock_provider.issuer, "client_id": "willow-2"}
    )
    assert rv.status_code == 302
    with app.app_context():
        config = db.session.scalars(sa.select(SsoConfig)).one()
        assert (config.client_id, config.client_secret_encrypted) == ("willow-2", stored)


def test_an_unreachable_issuer_is_a_form_error_not_a_500(client, console):
    console.login()
    rv = client.post(
        "/admin/sso/",
        data={"issuer": "http://localhost:9", "client_id": "w", "client_secret": "s"},
    )
    assert rv.status_code == 400
    assert "could not reach" in rv.get_data(as_text=True)


def test_the_sign_in_page_offers_sso_only_when_configured(client, sso, mock_provider):
    assert "Sign in with SSO" not in client.get("/admin/login").get_data(as_text=True)
    sso.configure(mock_provider.issuer)
    page = client.get("/admin/login").get_data(as_text=True)
    assert "Sign in with SSO" in page
    # One SSO organization: no need to ask for a work email.
    assert "Work email" not in page


def test_require_sso_refuses_password_sign_in_to_all_but_admins(
    client, console, make_admin, sso, mock_provider
):
    sso.configure(mock_provider.issuer, require_sso=True)
    member = make_admin("member@example.com", role="member")
    rv = console.login(member)
    assert rv.status_code == 401
    assert "requires single sign-on" in rv.get_data(as_text=True)
    assert client.get("/admin/directory/users").status_code == 302
    # The break-glass admin still signs in with a password.
    assert console.login().status_code == 302
    assert client.get("/admin/tokens").status_code == 200


def test_an_sso_account_cannot_sign_in_with_a_password(client, sso, crafting_provider, console):
    sso.configure(crafting_provider.issuer)
    alice = sso.provision("alice@example.com", external_id=SUB)
    sso.push_group("Willow Admins", [alice], role="admin")
    state, nonce = begin(sso)
    crafting_provider.answer(nonce)
    assert finish(sso, state).status_code == 302
    client.post("/admin/logout")
    assert console.login("alice@example.com", "anything-at-all").status_code == 401
    assert client.get("/admin/directory/users").status_code == 302


def test_api_tokens_shows_the_sso_prerequisite_and_the_sso_creator(
    app, client, sso, crafting_provider
):
    sso.configure(crafting_provider.issuer)
    alice = sso.provision("alice@example.com", external_id=SUB, emails=["alice@example.com"])
    sso.push_group("Willow Admins", [alice], role="admin")
    state, nonce = begin(sso)
    crafting_provider.answer(nonce)
    finish(sso, state)
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert 'data-configured="yes"' in page
    assert "SSO is configured: provisioned users sign in with SSO" in page
    assert "SSO configured" in page and 'href="/admin/sso/"' in page

    rv = client.post("/admin/tokens", data={"name": "Okta SCIM Integration", "scopes": ["scim"]})
    assert rv.status_code == 302
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "by alice@example.com (SSO)" in page
    with app.app_context():
        token = db.session.scalars(
            sa.select(ApiToken).where(ApiToken.name == "Okta SCIM Integration")
        ).one()
        assert token.created_by_label == "alice@example.com"


def test_api_tokens_links_to_sso_set_up_when_it_is_not_configured(client, console):
    console.login()
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "SSO not configured" in page and "Set up single sign-on" in page
    assert "provisioned users cannot sign in until SSO is configured" in page
    assert "SCIM provisioning works with or without SSO" in page


def test_test_sign_in_reports_the_result_and_keeps_the_admins_session(
    client, console, sso, crafting_provider
):
    sso.configure(crafting_provider.issuer)
    bob = sso.provision("bob@example.com", external_id="bob-id")
    sso.push_group("Willow Members", [bob], role="member")
    console.login()
    rv = client.post("/admin/sso/test")
    assert rv.status_code == 302
    params = query_of(rv.headers["Location"])
    crafting_provider.answer(params["nonce"], sub="bob-id")
    rv = finish(sso, params["state"])
    assert rv.status_code == 302 and rv.headers["Location"].endswith("/admin/sso/")
    page = client.get("/admin/sso/").get_data(as_text=True)
    assert "Test sign-in succeeded: bob@example.com would sign in as member" in page
    # Still the password admin, still allowed on admin pages.
    assert client.get("/admin/tokens").status_code == 200
    assert sso.events()[-1]["test"] is True


def test_with_several_sso_organizations_the_email_domain_picks_one(
    app, client, sso, crafting_provider, mock_provider, runner
):
    assert runner.invoke(args=["org", "create", "acme", "--name", "Acme"]).exit_code == 0
    sso.configure(mock_provider.issuer, allowed_domains="default.example")
    sso.configure(crafting_provider.issuer, org_slug="acme", allowed_domains="acme.example")
    result = runner.invoke(args=["sso", "domain", "grant", "acme.example", "--org", "acme"])
    assert result.exit_code == 0, result.output
    page = client.get("/admin/login").get_data(as_text=True)
    assert "Work email" in page
    rv = client.post("/admin/sso/start", data={"email": "someone@acme.example"})
    assert rv.status_code == 302 and rv.headers["Location"].startswith(crafting_provider.issuer)
    assert "login_hint=someone%40acme.example" in rv.headers["Location"]
    rv = client.post("/admin/sso/start", data={"email": "someone@elsewhere.example"})
    assert rv.status_code == 302 and rv.headers["Location"].startswith("/admin/login")
    page = client.get(rv.headers["Location"]).get_data(as_text=True)
    assert "No organization signs in with SSO for that email address." in page
