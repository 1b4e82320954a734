"""The admin's setup story in a real browser: sign in, generate a token and copy it once,
provision with it, revoke it, browse the directory, map a group to a role, find the logs."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from playwright.sync_api import expect

SCIM_TYPE = "application/scim+json"


def scim(base_url: str, token: str, method: str, path: str, body: dict | None = None):
    """A SCIM request from outside the browser, as an IdP sends it; returns (status, body)."""
    request = urllib.request.Request(
        f"{base_url}/scim/v2{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": SCIM_TYPE,
            "Content-Type": SCIM_TYPE,
            "User-Agent": "Okta SCIM Client 1.0.0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as rv:
            payload = rv.read()
            return rv.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def sign_in(page, email: str, password: str = "correct horse battery staple") -> None:
    page.goto("/admin/tokens")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=/admin/tokens$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/tokens$"))


def test_admin_generates_uses_and_revokes_a_token(page, live_server, make_admin, artifacts):
    email = make_admin("admin@example.com")
    sign_in(page, email)
    expect(page.get_by_text(email)).to_be_visible()

    # The steps of the customer docs, word for word.
    page.get_by_text("Generate Token", exact=True).click()
    page.get_by_label("Token Name").fill("Okta SCIM Integration")
    page.get_by_label("SCIM user and group provisioning").check()
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/tokens/\d+/created$"))
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    token = page.get_by_label("API token").input_value()
    assert token.startswith("wsk_")

    page.get_by_role("button", name="Copy token").click()
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == token
    page.screenshot(path=str(artifacts / "admin-token-created.png"), full_page=True)

    # Shown once: neither a reload nor going back and forth brings it back.
    page.reload()
    expect(page.get_by_text("already shown once")).to_be_visible()
    assert token not in page.content()
    page.go_back()
    page.go_forward()
    assert token not in page.content()

    status, body = scim(live_server, token, "GET", "/Users")
    assert status == 200, body
    assert body["totalResults"] == 0

    page.goto("/admin/tokens")
    row = page.get_by_role("row", name=re.compile("Okta SCIM Integration"))
    expect(row).to_contain_text("SCIM user and group provisioning")
    expect(row).to_contain_text(token[:10] + "…")
    expect(row).to_contain_text("by admin@example.com")
    expect(row).to_contain_text("Okta SCIM Client 1.0.0")
    expect(row).to_contain_text("active")
    page.screenshot(path=str(artifacts / "admin-tokens.png"), full_page=True)

    row.get_by_role("link", name="Revoke Okta SCIM Integration").click()
    expect(page.get_by_role("heading", name=re.compile("Revoke token"))).to_be_visible()
    assert scim(live_server, token, "GET", "/Users")[0] == 200  # not until confirmed
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(row).to_contain_text("revoked")

    status, body = scim(live_server, token, "GET", "/Users")
    assert status == 401, body


def test_admin_browses_the_directory_and_maps_a_group_to_a_role(
    page, live_server, make_admin, make_token, artifacts
):
    token = make_token(name="Okta")
    ids = {}
    for user_name, given, family, active in [
        ("ann@example.com", "Ann", "Lee", True),
        ("bob@example.com", "Bob", "Stone", True),
        ("cy@example.com", "Cy", "Young", False),
    ]:
        status, body = scim(
            live_server,
            token,
            "POST",
            "/Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "name": {"givenName": given, "familyName": family},
                "displayName": f"{given} {family}",
                "emails": [{"value": user_name, "type": "work", "primary": True}],
                "active": active,
            },
        )
        assert status == 201, body
        ids[given] = body["id"]
    status, body = scim(
        live_server,
        token,
        "POST",
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": [{"value": ids["Ann"]}, {"value": ids["Cy"]}],
        },
    )
    assert status == 201, body

    sign_in(page, make_admin("admin@example.com"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Directory").click()
    expect(page).to_have_url(re.compile(r"/admin/directory/users$"))
    table = page.get_by_role("table")
    expect(table.get_by_role("rowheader")).to_have_text(
        ["ann@example.com", "bob@example.com", "cy@example.com"]
    )
    page.screenshot(path=str(artifacts / "admin-directory-users.png"), full_page=True)
    page.get_by_label("Search").fill("stone")
    page.get_by_role("button", name="Search").click()
    expect(table.get_by_role("rowheader")).to_have_text(["bob@example.com"])
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Status").select_option("deactivated")
    page.get_by_role("button", name="Search").click()
    expect(table.get_by_role("rowheader")).to_have_text(["cy@example.com"])

    page.get_by_role("link", name="Groups").click()
    group_row = page.get_by_role("row", name=re.compile("Engineering"))
    expect(group_row).to_contain_text("2")
    group_row.get_by_role("link", name="Engineering").click()
    expect(page.get_by_role("heading", name="Members (2)")).to_be_visible()

    page.get_by_label("Willow role for members").select_option("admin")
    page.get_by_role("button", name="Save role").click()
    expect(page.get_by_role("status")).to_contain_text("now get the admin role")
    expect(page.get_by_label("Willow role for members")).to_have_value("admin")
    page.screenshot(path=str(artifacts / "admin-group.png"), full_page=True)

    page.get_by_role("link", name="ann@example.com").click()
    roles = page.get_by_role("region", name="Effective roles")
    expect(roles).to_contain_text("admin")
    page.screenshot(path=str(artifacts / "admin-user.png"), full_page=True)
    page.go_back()
    page.get_by_role("link", name="cy@example.com").click()
    expect(page.get_by_role("region", name="Effective roles")).to_contain_text(
        "deactivated users have no roles"
    )


def test_logs_options_menu_works_with_the_keyboard(page, make_admin, artifacts):
    sign_in(page, make_admin("admin@example.com"))
    page.get_by_role("link", name="Logs").click()
    button = page.get_by_role("button", name="More options")
    expect(button).to_have_attribute("aria-expanded", "false")
    item = page.get_by_role("menuitem", name="SCIM Logs")
    expect(item).to_be_hidden()

    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(item).to_be_focused()
    page.screenshot(path=str(artifacts / "admin-logs-menu.png"))
    page.keyboard.press("Escape")
    expect(item).to_be_hidden()
    expect(button).to_be_focused()

    page.keyboard.press("ArrowDown")
    expect(item).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/monitor/scim-logs$"))


def test_sign_out_returns_to_the_sign_in_page(page, make_admin, artifacts):
    sign_in(page, make_admin("admin@example.com"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "admin-tokens-narrow.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    page.goto("/admin/tokens")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=/admin/tokens$"))
