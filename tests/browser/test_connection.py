"""API Tokens in a real browser: the SCIM base URL is copied with its button, the SSO box
says whether provisioned users can sign in, and each token's connection health shows the
day's requests and errors with its last error linked to its log entry."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_admin_console import scim
from tests.browser.test_admin_console import sign_in


def test_the_base_url_copy_button_puts_the_browsers_url_on_the_clipboard(
    page, live_server, make_admin, artifacts
):
    sign_in(page, make_admin("admin@example.com"))
    field = page.get_by_label("SCIM base URL")
    expect(field).to_have_value(f"{live_server}/scim/v2")
    expect(page.locator(".base-url-source")).to_have_text(
        "from this browser's address; set WILLOW_PUBLIC_URL to fix it"
    )
    page.get_by_role("button", name="Copy base URL").click()
    expect(page.locator("#base-url-copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == f"{live_server}/scim/v2"
    page.screenshot(path=str(artifacts / "admin-tokens-connect.png"), full_page=True)


def test_the_token_page_copies_the_public_base_url_beside_the_token(
    app, page, make_admin, artifacts
):
    app.config["WILLOW_PUBLIC_URL"] = "https://willow.example.com/"
    sign_in(page, make_admin("admin@example.com"))
    page.get_by_text("Generate Token", exact=True).click()
    page.get_by_label("Token Name").fill("Okta SCIM Integration")
    page.get_by_label("SCIM user and group provisioning").check()
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/tokens/\d+/created$"))
    expect(page.get_by_label("SCIM base URL")).to_have_value("https://willow.example.com/scim/v2")
    expect(page.locator(".base-url-source")).to_have_count(0)

    page.get_by_role("button", name="Copy base URL").click()
    expect(page.locator("#base-url-copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == "https://willow.example.com/scim/v2"
    token = page.get_by_label("API token").input_value()
    page.get_by_role("button", name="Copy token").click()
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == token
    page.screenshot(path=str(artifacts / "admin-token-created-base-url.png"), full_page=True)


def test_the_sso_box_says_provisioned_users_cannot_sign_in_yet(page, make_admin):
    sign_in(page, make_admin("admin@example.com"))
    box = page.locator(".sso-prerequisite")
    expect(box.locator(".sso-status")).to_have_attribute("data-configured", "no")
    expect(box).to_contain_text("SSO not configured")
    expect(box).to_contain_text("provisioned users cannot sign in until SSO is configured")
    expect(box).to_contain_text("SCIM provisioning works with or without SSO")
    box.get_by_role("link", name="Set up single sign-on").click()
    expect(page).to_have_url(re.compile(r"/admin/sso/$"))
    expect(page.locator(".sso-status")).to_contain_text(
        "provisioned users cannot sign in until SSO is configured"
    )


def test_token_health_shows_the_days_figures_and_links_the_last_error(
    app, page, live_server, make_admin, make_token, artifacts
):
    token = make_token(name="Okta")
    make_token(name="Idle")
    assert scim(live_server, token, "GET", "/Users")[0] == 200
    assert scim(live_server, token, "GET", "/Users/no-such-user")[0] == 404
    app.extensions["willow_request_log"].flush()

    sign_in(page, make_admin("admin@example.com"))
    okta = page.get_by_role("row", name=re.compile("^Okta"))
    health = okta.locator(".token-health")
    expect(health).to_have_attribute("data-requests", "2")
    expect(health).to_have_attribute("data-errors", "1")
    expect(health).to_contain_text("2 requests, 1 error")
    expect(health.locator(".health-last-success")).to_contain_text("UTC")
    idle = page.get_by_role("row", name=re.compile("^Idle"))
    expect(idle.locator(".token-health")).to_contain_text("Last success: never")
    expect(idle.locator(".token-health")).to_contain_text("0 requests, 0 errors")
    page.screenshot(path=str(artifacts / "admin-tokens-health.png"), full_page=True)

    health.locator(".health-last-error a").click()
    expect(page).to_have_url(re.compile(r"/monitor/scim-logs/\d+"))
    expect(page.get_by_text("/scim/v2/Users/no-such-user").first).to_be_visible()
    expect(page.locator("body")).to_contain_text("404")
