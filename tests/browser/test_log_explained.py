"""The log list explains every row, in a real browser: the Operation column, failures'
reasons on the row itself, the warning marker, and "Copy as curl" under the CSP."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.test_monitor_scim_logs import log_rows
from tests.browser.test_monitor_scim_logs import sign_in_to_logs

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def send(base_url: str, token: str, method: str, path: str, body: dict | None = None):
    """A SCIM request over HTTP (``path`` from the server root); returns (status, JSON)."""
    request = urllib.request.Request(
        base_url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/scim+json",
            "User-Agent": "Okta SCIM Client 1.0.0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as rv:
            raw = rv.read()
            return rv.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


@pytest.fixture
def mixed_traffic(live_server, token):
    """Several kinds of request, oldest first; the list shows them newest first."""
    status, user = send(live_server, token, "POST", "/scim/v2/Users", {"userName": "jane@x.io"})
    assert status == 201
    uid = user["id"]
    assert send(live_server, token, "POST", "/scim/v2/Users", {"userName": "jane@x.io"})[0] == 409
    rename = {"op": "replace", "path": "name.familyName", "value": "Doe"}
    assert (
        send(
            live_server,
            token,
            "PATCH",
            f"/scim/v2/Users/{uid}",
            {"schemas": [PATCH_OP], "Operations": [rename]},
        )[0]
        == 200
    )
    deactivate = {"op": "replace", "value": {"active": False}}
    assert (
        send(
            live_server,
            token,
            "PATCH",
            f"/scim/v2/Users/{uid}",
            {"schemas": [PATCH_OP], "Operations": [deactivate]},
        )[0]
        == 200
    )
    status, group = send(
        live_server,
        token,
        "POST",
        "/scim/v2/Groups",
        {"displayName": "Engineering", "members": [{"value": uid}]},
    )
    assert status == 201
    unknown = {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}
    assert send(
        live_server,
        token,
        "PATCH",
        f"/scim/v2/Groups/{group['id']}",
        {"schemas": [PATCH_OP], "Operations": [unknown]},
    )[0] in (200, 204)
    assert send(live_server, token, "GET", "/scim/v2/users")[0] == 404
    assert send(live_server, token, "GET", "/scim/v2/ServiceProviderConfig")[0] == 200
    return uid


def test_each_row_says_what_it_did_and_a_failure_says_why_without_hovering(
    page, make_admin, mixed_traffic, artifacts
):
    sign_in_to_logs(page, make_admin)
    rows = log_rows(page)
    expect(rows).to_have_count(8)
    labels = rows.locator("td.operation .op-label")
    expect(labels).to_have_text(
        [
            "Discovery (ServiceProviderConfig)",
            "Wrong URL",
            "No change",
            "Created group Engineering with 1 member",
            "Deactivated jane@x.io",
            "Updated name of jane@x.io",
            "Create user",
            "Created user jane@x.io",
        ]
    )
    # The reasons of the 404 and the 409 are on their rows, visible, not only on hover.
    wrong_path = rows.nth(1).locator(".reason")
    expect(wrong_path).to_be_visible()
    expect(wrong_path).to_contain_text("did you mean /scim/v2/Users?")
    expect(rows.nth(6).locator(".reason")).to_contain_text("uniqueness")
    expect(page.locator("td.operation .reason")).to_have_count(2)
    # The group PATCH that skipped an unknown member: a success, marked.
    marker = rows.nth(2).locator(".warning-marker")
    expect(marker).to_be_visible()
    expect(marker).to_have_text("⚠ 1 warning")
    expect(page.locator(".warning-marker")).to_have_count(1)
    page.screenshot(path=str(artifacts / "log-operations.png"), full_page=True)

    # Its entry says "No change" and shows the warning.
    rows.nth(2).locator("td.time a").click()
    expect(page.locator("#operation")).to_have_text("No change")
    expect(page.locator("#no-change")).to_contain_text("No change")
    expect(page.locator("#warnings")).to_contain_text("unknown member")


def test_copy_as_curl_copies_the_request_without_the_secret(
    page, make_admin, mixed_traffic, token, artifacts
):
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    sign_in_to_logs(page, make_admin)
    log_rows(page).last.locator("td.time a").click()  # the first request: POST /Users
    expect(page.locator("h1")).to_contain_text("POST /scim/v2/Users")
    expect(page.locator("#response-headers")).to_contain_text("Location")
    button = page.get_by_role("button", name="Copy as curl")
    expect(button).to_be_visible()  # shown by the static script: it ran under the CSP
    button.click()
    expect(page.locator("#curl-copy-status")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("curl -X POST '")
    assert "/scim/v2/Users'" in copied
    assert '"Authorization: Bearer $TOKEN"' in copied
    assert "--data-raw '" in copied and "jane@x.io" in copied
    assert token not in copied
    assert not [m for m in messages if "Content Security Policy" in m]
    page.screenshot(path=str(artifacts / "log-copy-as-curl.png"), full_page=True)


def test_the_token_and_client_filters_are_in_the_filter_form(page, make_admin, mixed_traffic):
    sign_in_to_logs(page, make_admin)
    page.get_by_label("Client").select_option("jumpcloud")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"client=jumpcloud"))
    expect(log_rows(page)).to_have_count(0)
    page.get_by_label("Client").select_option("okta")
    page.get_by_label("Token").select_option(index=1)  # the one token
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"token=\d+"))
    expect(log_rows(page)).to_have_count(8)
