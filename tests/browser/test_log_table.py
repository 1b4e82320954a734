"""The log table at a glance in a real browser at 1366x900: 50 requests on one line each,
long paths cut with the whole path on hover, a click anywhere on a row opens it,
previous/next on the entry's page, and the directory's links to a user's requests."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

LONG_NAME = "employee.number.{}.with.a.rather.long.name@engineering.example.com"


def scim(base_url: str, token: str, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        f"{base_url}/scim/v2{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as rv:
            return rv.status, json.loads(rv.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


@pytest.fixture
def busy_log(live_server, token):
    """60 requests: lookups with long filters, creates, reads of long paths, failures."""
    ids = []
    for i in range(15):
        name = LONG_NAME.format(i)
        query = urllib.parse.quote(f'userName eq "{name}"')
        scim(live_server, token, "GET", f"/Users?filter={query}")
        status, body = scim(live_server, token, "POST", "/Users", {"userName": name})
        assert status == 201
        ids.append(body["id"])
        scim(live_server, token, "GET", f"/Users/{body['id']}?attributes=userName,emails")
        scim(live_server, "wsk_not_a_token", "GET", "/Users")
    return ids


def sign_in(page, make_admin, next_path: str) -> None:
    email = make_admin("log-table@example.com")
    page.goto(next_path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def wide_page(chromium, live_server):
    context = chromium.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def test_fifty_requests_fit_in_about_two_screens_one_line_each(
    wide_page, make_admin, busy_log, artifacts
):
    page = wide_page
    sign_in(page, make_admin, "/monitor/scim-logs")
    page.goto("/monitor/scim-logs")  # the second visit: "What is logged" is folded
    rows = page.locator("table.log-table tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator("#what-is-logged")).not_to_have_attribute("open", "")
    heights = rows.evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 36, heights  # one line of text each, never wrapped
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 2 * 900 + 400, height  # about two screens
    # A long path is cut with an ellipsis, and the whole of it is on hover.
    path = page.locator("td.path[title*='filter=']").first
    assert path.evaluate("td => td.scrollWidth > td.clientWidth")
    newest = LONG_NAME.format(14)
    assert path.get_attribute("title") == f'/scim/v2/Users?filter=userName eq "{newest}"'
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.screenshot(path=str(artifacts / "log-table-1366.png"), full_page=True)


def test_a_row_click_opens_the_entry_and_previous_next_step_through_the_list(
    wide_page, make_admin, busy_log
):
    page = wide_page
    sign_in(page, make_admin, "/monitor/scim-logs?status=4xx")
    rows = page.locator("table.log-table tbody tr")
    expect(rows).to_have_count(15)
    second_id = rows.nth(1).get_attribute("data-log-id")
    third_id = rows.nth(2).get_attribute("data-log-id")
    rows.nth(1).locator("td.duration, td.num").click()  # not on the link: the row opens
    expect(page).to_have_url(re.compile(rf"/monitor/scim-logs/{second_id}\?status=4xx$"))
    expect(page.locator(".status").first).to_have_text("401")
    page.locator("#older-entry").click()
    expect(page).to_have_url(re.compile(rf"/monitor/scim-logs/{third_id}\?status=4xx$"))
    page.locator("#newer-entry").click()
    expect(page).to_have_url(re.compile(rf"/monitor/scim-logs/{second_id}\?status=4xx$"))
    page.locator("#back-to-list").click()
    expect(page).to_have_url(re.compile(r"/monitor/scim-logs\?status=4xx$"))


def test_the_directory_links_to_the_scim_requests_for_a_user(wide_page, make_admin, busy_log):
    page = wide_page
    sign_in(page, make_admin, f"/admin/directory/users/{busy_log[3]}")
    expect(page.get_by_role("heading", name=LONG_NAME.format(3))).to_be_visible()
    page.get_by_role("link", name="SCIM requests for this user").click()
    expect(page).to_have_url(re.compile(rf"/monitor/scim-logs\?q={busy_log[3]}$"))
    rows = page.locator("table.log-table tbody tr")
    # Its create and its read (and its lookup, found like the user it looked for).
    expect(rows.first).to_contain_text(LONG_NAME.format(3))
    assert rows.count() >= 2
