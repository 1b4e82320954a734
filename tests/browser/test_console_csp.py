"""The console works under its Content-Security-Policy: the main pages load, their script
runs and their styles apply, and Chromium reports no CSP violation on any of them."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from playwright.sync_api import expect

SCIM_TYPE = "application/scim+json"
CSP_WORDS = ("Content Security Policy", "Content-Security-Policy")


def scim(base_url: str, token: str, method: str, path: str, body: dict | None = None) -> int:
    request = urllib.request.Request(
        f"{base_url}/scim/v2{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_TYPE},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as rv:
            return rv.status
    except urllib.error.HTTPError as exc:
        return exc.code


def sign_in(page, email: str) -> None:
    page.goto("/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/tokens$"))


def test_main_console_pages_run_under_the_csp_without_violations(
    page, live_server, make_admin, make_token
):
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    token = make_token(name="Okta SCIM Integration")
    status = scim(
        live_server,
        token,
        "POST",
        "/Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@example.com"},
    )
    assert status == 201
    scim(live_server, token, "GET", "/Users/no-such-user")

    response = page.goto("/admin/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    sign_in(page, make_admin("admin@example.com"))

    # Token created: the copy button is shown by willow.js, so the script ran.
    page.get_by_text("Generate Token", exact=True).click()
    page.get_by_label("Token Name").fill("Entra ID")
    page.get_by_label("SCIM user and group provisioning").check()
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/tokens/\d+/created$"))
    expect(page.get_by_role("button", name="Copy token")).to_be_visible()
    expect(page.get_by_role("button", name="Copy base URL")).to_be_visible()

    page.goto("/admin/directory/users")
    expect(page.get_by_text("ann@example.com")).to_be_visible()
    page.goto("/admin/sessions")
    expect(page.get_by_text("(this session)")).to_be_visible()

    page.goto("/monitor/scim-logs")
    detail = page.evaluate(
        "[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))"
        ".find(href => /^\\/monitor\\/scim-logs\\/\\d+$/.test(href))"
    )
    page.goto(detail)
    expect(page).to_have_url(re.compile(r"/monitor/scim-logs/\d+$"))

    # willow.css applied (a stylesheet the CSP allows): the body is not the UA's serif.
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert font and font.lower() not in ("serif", '"times new roman"')

    violations = [m for m in messages if any(word in m for word in CSP_WORDS)]
    assert violations == []
    assert errors == []

    # The listener does see a violation: an inline script is refused and reported.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__inline_ran = true'; document.head.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.__inline_ran === undefined")
    assert any(any(word in m for word in CSP_WORDS) for m in messages)
