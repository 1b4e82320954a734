"""A /Bulk request on a real server (waitress, the request gate, the access log around
it), and its entry in the console: its operations listed, each linking back to it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_log_table import scim
from tests.browser.test_log_table import sign_in

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def test_a_bulk_request_page_lists_its_operations_and_an_operation_links_back(
    page, live_server, token, make_admin
):
    status, body = scim(
        live_server,
        token,
        "POST",
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g",
                    "data": {"displayName": "Rangers", "members": [{"value": "bulkId:u"}]},
                },
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "u",
                    "data": {"userName": "ranger@example.com", "password": "never-shown-1"},
                },
            ],
        },
    )
    assert status == 200
    assert [r["status"] for r in body["Operations"]] == ["201", "201"]
    sign_in(page, make_admin, "/monitor/scim-logs?resource_type=Bulk")
    page.goto("/monitor/scim-logs?resource_type=Bulk")
    rows = page.locator("table.log-table tbody tr")
    expect(rows).to_have_count(1)
    rows.first.click()
    operations = page.locator("#bulk-operations li a")
    expect(operations).to_have_count(2)
    # In the order they ran: the user first, since the group names it.
    expect(operations.nth(0)).to_contain_text("POST /scim/v2/Users")
    expect(operations.nth(1)).to_contain_text("POST /scim/v2/Groups")
    expect(page.locator("#request-body")).not_to_contain_text("never-shown-1")
    bulk_url = page.url
    operations.nth(0).click()
    expect(page.locator("h1")).to_contain_text("POST /scim/v2/Users")
    expect(page.locator("#request-body")).not_to_contain_text("never-shown-1")
    page.locator("#bulk-parent-link").click()
    assert page.url.split("?")[0] == bulk_url.split("?")[0]
