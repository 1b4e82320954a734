"""The SSO story in a real browser: an admin configures single sign-on, the IdP provisions
alice and pushes "Willow Admins" with her, the admin maps that group to admin, and alice
signs in through a real OpenID provider (oidc-provider-mock) and reaches API Tokens; a
viewer signs in too but cannot; an unknown account is told why it is refused."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_admin_console import scim
from tests.browser.test_admin_console import sign_in
from tests.sso.providers import MockProvider


@pytest.fixture(scope="module")
def provider():
    provider = MockProvider()
    yield provider
    provider.stop()


def sign_in_with_sso(page, provider: MockProvider, sub: str) -> None:
    page.goto("/admin/login")
    page.get_by_role("button", name="Sign in with SSO").click()
    expect(page).to_have_url(re.compile("^" + re.escape(provider.issuer) + "/oauth2/authorize"))
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login$"))


def test_a_provisioned_admin_signs_in_with_sso_and_a_viewer_cannot_manage_tokens(
    page, live_server, make_admin, make_token, provider, artifacts
):
    # Every SSO page runs under the console's Content-Security-Policy.
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))

    # A fresh install: the break-glass admin sets up single sign-on.
    sign_in(page, make_admin("admin@example.com"))
    expect(page.get_by_text("SSO not configured")).to_be_visible()
    page.get_by_role("link", name="Set up single sign-on").click()
    expect(page.get_by_role("heading", name="Single sign-on", exact=True)).to_be_visible()
    expect(page.locator("#sso-redirect-uri")).to_have_text(f"{live_server}/admin/sso/callback")
    page.get_by_label("Issuer URL").fill(provider.issuer)
    page.get_by_label("Client ID").fill("willow-browser-test")
    page.get_by_label("Client secret").fill("browser-test-secret")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Single sign-on is saved and on")
    assert "browser-test-secret" not in page.content()

    # The IdP provisions alice and victor, and pushes their groups.
    token = make_token(name="Okta SCIM Integration")
    ids = {}
    people = (("alice@example.com", "alice-sub"), ("victor@example.com", "victor-sub"))
    for user_name, external_id in people:
        status, body = scim(
            live_server, token, "POST", "/Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "externalId": external_id,
                "active": True,
                "emails": [{"value": user_name, "type": "work", "primary": True}],
            },
        )
        assert status == 201, body
        ids[external_id] = body["id"]
    for name, member in (("Willow Admins", "alice-sub"), ("Willow Viewers", "victor-sub")):
        status, body = scim(
            live_server, token, "POST", "/Groups",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name,
                "members": [{"value": ids[member]}],
            },
        )
        assert status == 201, body

    # The admin maps the pushed groups to console roles.
    for name, role in (("Willow Admins", "admin"), ("Willow Viewers", "viewer")):
        page.goto("/admin/directory/groups")
        page.get_by_role("link", name=name).click()
        page.get_by_label("Willow role for members").select_option(role)
        page.get_by_role("button", name="Save role").click()
        expect(page.get_by_role("status")).to_contain_text(f"now get the {role} role")
    page.goto("/admin/tokens")
    expect(page.get_by_text("SSO configured", exact=True)).to_be_visible()
    sign_out(page)

    # Alice signs in through the provider and reaches API Tokens.
    sign_in_with_sso(page, provider, "alice-sub")
    expect(page).to_have_url(re.compile(r"/admin/tokens$"))
    expect(page.get_by_role("heading", name="API Tokens")).to_be_visible()
    expect(page.locator(".identity-email")).to_have_text("alice@example.com")
    page.screenshot(path=str(artifacts / "sso-admin-signed-in.png"), full_page=True)
    sign_out(page)

    # Victor, a viewer, signs in but cannot manage tokens.
    sign_in_with_sso(page, provider, "victor-sub")
    expect(page).to_have_url(re.compile(r"/admin/directory/users$"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="API Tokens")).to_have_count(0)
    response = page.goto("/admin/tokens")
    assert response.status == 403
    sign_out(page)

    # An account the IdP knows but Willow was never given is told why.
    sign_in_with_sso(page, provider, "mallory-sub")
    expect(page.get_by_role("alert")).to_contain_text("does not match any user provisioned")
    page.screenshot(path=str(artifacts / "sso-refused.png"), full_page=True)

    # The admin sees every sign-in and refusal on the Single sign-on page.
    sign_in(page, "admin@example.com")
    page.goto("/admin/sso/")
    rows = page.locator("tr.sso-event")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("No matching user")
    expect(rows.nth(1)).to_contain_text("Signed in as viewer")
    expect(rows.nth(2)).to_contain_text("Signed in as admin")
    page.screenshot(path=str(artifacts / "sso-settings.png"), full_page=True)
    violations = [m for m in messages if "Content Security Policy" in m or "Content-Security" in m]
    assert violations == []
