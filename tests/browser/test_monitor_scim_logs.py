"""The SCIM log in a real browser: filter, open an entry, export CSV, payloads as text."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

XSS_NAME = "<script>window.__xss = 1</script>@example.com"
IMG_NAME = '<img src=x onerror="window.__xss = 2">'


def scim(base_url: str, token: str, method: str, path: str, body: dict | None = None) -> int:
    """A SCIM request over HTTP, as an IdP sends it; returns the status."""
    request = urllib.request.Request(
        f"{base_url}/scim/v2{path}",
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
            return rv.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def traffic(live_server, token):
    """An IdP's morning: a connection test, two creates (one with markup in its
    userName), a duplicate (409), a retried unknown route (404 twice), a bad token."""
    assert scim(live_server, token, "GET", "/Users?startIndex=1&count=2") == 200
    user = {"userName": XSS_NAME, "password": "hunter2", "active": True}
    assert scim(live_server, token, "POST", "/Users", user) == 201
    assert scim(live_server, token, "POST", "/Users", {"userName": "alice@example.com"}) == 201
    assert scim(live_server, token, "POST", "/Users", {"userName": "alice@example.com"}) == 409
    assert scim(live_server, token, "POST", "/Groups", {"displayName": IMG_NAME}) == 201
    assert scim(live_server, token, "GET", "/Nowhere") == 404
    assert scim(live_server, token, "GET", "/Nowhere") == 404
    assert scim(live_server, "wsk_wrong", "GET", "/Users") == 401


def sign_in_to_logs(page, make_admin) -> None:
    email = make_admin("monitor@example.com")
    page.goto("/monitor/scim-logs")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=/monitor/scim-logs$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/monitor/scim-logs$"))


def log_rows(page):
    return page.locator("table.log-table tbody tr")


def test_admin_filters_the_log_and_opens_an_entry(page, make_admin, traffic, artifacts):
    sign_in_to_logs(page, make_admin)
    expect(page.get_by_role("heading", name="SCIM Logs")).to_be_visible()
    # A single-organization install: the unknown token's 401 is shown too (8 rows).
    expect(log_rows(page)).to_have_count(8)
    expect(page.locator("#match-count")).to_have_text("8 matching requests")
    expect(page.locator("figure.chart svg rect").first).to_be_visible()

    page.get_by_label("Status").select_option("4xx")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"status=4xx"))
    expect(log_rows(page)).to_have_count(4)
    expect(page.locator("#match-count")).to_have_text("4 matching requests")
    expect(page.locator(".retrying")).to_have_count(1)  # the second 404 is a retry

    page.get_by_label("Method").select_option("POST")
    page.get_by_role("button", name="Apply filters").click()
    expect(log_rows(page)).to_have_count(1)
    expect(log_rows(page).first).to_contain_text("409")
    page.screenshot(path=str(artifacts / "monitor-scim-logs-filtered.png"), full_page=True)

    log_rows(page).first.get_by_role("link").click()
    # The entry keeps the list's filter, for its previous/next links.
    expect(page).to_have_url(re.compile(r"/monitor/scim-logs/\d+\?method=POST&status=4xx$"))
    expect(page.locator("#error-detail")).to_contain_text("uniqueness")
    expect(page.locator("#request-body")).to_contain_text('"userName": "alice@example.com"')
    expect(page.locator("#request-headers")).to_contain_text("Okta SCIM Client 1.0.0")
    expect(page.locator("#request-headers")).not_to_contain_text("Bearer")
    # The other request for alice (her create) is listed as touching the same resource.
    page.screenshot(path=str(artifacts / "monitor-scim-log-detail.png"), full_page=True)


def test_a_preset_range_keeps_the_other_filters(page, make_admin, traffic):
    sign_in_to_logs(page, make_admin)
    page.goto("/monitor/scim-logs?method=GET")
    page.get_by_role("link", name="Last hour").click()
    expect(page).to_have_url(re.compile(r"from=1h"))
    expect(page).to_have_url(re.compile(r"method=GET"))
    expect(page.get_by_label("From")).to_have_value("1h")
    expect(log_rows(page)).to_have_count(4)


def test_a_bad_filter_value_is_shown_as_a_form_error(page, make_admin, traffic):
    sign_in_to_logs(page, make_admin)
    # The date fields are pickers; a bad value can still come from a hand-edited URL.
    page.goto("/monitor/scim-logs?from=last+tuesday")
    expect(page.locator(".field-error")).to_contain_text("is not a date")
    expect(log_rows(page)).to_have_count(0)


def test_markup_in_payloads_is_shown_as_text(page, make_admin, traffic, artifacts):
    sign_in_to_logs(page, make_admin)
    page.get_by_label("Search").fill("<SCRIPT>")  # a userName prefix, in any case
    page.get_by_role("button", name="Apply filters").click()
    expect(log_rows(page)).to_have_count(1)
    expect(log_rows(page).first).to_contain_text(XSS_NAME)
    log_rows(page).first.get_by_role("link").click()
    expect(page.locator("#response-body")).to_contain_text(XSS_NAME)
    expect(page.locator("#request-body")).to_contain_text('"password": "[REDACTED]"')
    expect(page.locator("#request-body")).not_to_contain_text("hunter2")
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=str(artifacts / "monitor-scim-log-xss.png"), full_page=True)

    page.goto("/monitor/scim-logs?resource_type=Group")
    expect(log_rows(page).first).to_contain_text(IMG_NAME)
    assert page.locator("table.log-table img").count() == 0
    assert page.evaluate("window.__xss") is None


def test_export_csv_downloads_the_filtered_rows(page, make_admin, traffic):
    sign_in_to_logs(page, make_admin)
    page.goto("/monitor/scim-logs?status=4xx&from=24h")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert re.fullmatch(
        r"scim-logs_\d{4}-\d\d-\d\d_to_\d{4}-\d\d-\d\d\.csv", download.suggested_filename
    )
    raw = download.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert sorted(r["status"] for r in rows) == ["401", "404", "404", "409"]
    assert all("hunter2" not in json.dumps(r) for r in rows)


def test_the_filter_form_puts_only_the_filled_fields_in_the_url(page, make_admin, traffic):
    sign_in_to_logs(page, make_admin)
    page.get_by_label("Status").select_option("4xx")
    page.get_by_label("Search").fill("alice")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"/monitor/scim-logs\?status=4xx&q=alice$"))
    expect(log_rows(page)).to_have_count(1)  # alice's duplicate (409)


def test_the_date_fields_take_utc_as_the_table_shows_it(page, make_admin, traffic):
    sign_in_to_logs(page, make_admin)
    expect(page.get_by_label("From (UTC)")).to_have_attribute("placeholder", "YYYY-MM-DD HH:MM")
    oldest = page.locator("table.log-table tbody tr time").last.inner_text()  # UTC, as the page
    page.get_by_label("From (UTC)").fill(f"{oldest} UTC")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"\?from=\d{4}-\d\d-\d\d\+[\d%A]+\+UTC$"))
    expect(page.locator(".field-error")).to_have_count(0)
    expect(log_rows(page)).to_have_count(8)
