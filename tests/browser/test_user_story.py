"""A user's whole story in a real browser (issue #23): her page lists her group
membership changes linked to their log entries, the log search for her finds the group
PATCH that removed her, and the directory sorts by its columns, keeping the sort."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_admin_console import scim
from tests.browser.test_admin_console import sign_in

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user(base: str, token: str, user_name: str, external_id: str | None = None) -> str:
    body = {"userName": user_name, "emails": [{"value": f"work.{user_name}"}]}
    if external_id:
        body["externalId"] = external_id
    status, created = scim(base, token, "POST", "/Users", body)
    assert status == 201, created
    return created["id"]


@pytest.fixture
def story(live_server, make_token):
    """Jane joins Engineering at its creation and Sales by PATCH; a PATCH removes her
    from Sales."""
    token = make_token(name="Okta")
    jane = user(live_server, token, "jane@example.com", "E-2")
    user(live_server, token, "bob@example.com", "E-1")
    status, eng = scim(
        live_server,
        token,
        "POST",
        "/Groups",
        {"displayName": "Engineering", "members": [{"value": jane}]},
    )
    assert status == 201
    status, sales = scim(live_server, token, "POST", "/Groups", {"displayName": "Sales"})
    assert status == 201
    for op in (
        {"op": "add", "path": "members", "value": [{"value": jane}]},
        {"op": "remove", "path": f'members[value eq "{jane}"]'},
    ):
        status, _ = scim(
            live_server,
            token,
            "PATCH",
            f"/Groups/{sales['id']}",
            {"schemas": [PATCH], "Operations": [op]},
        )
        assert status == 204
    return {"jane": jane, "sales": sales["id"], "engineering": eng["id"]}


def test_her_page_lists_her_membership_history_linked_to_the_log(
    page, make_admin, story, artifacts
):
    sign_in(page, make_admin("admin@example.com"))
    page.goto(f"/admin/directory/users/{story['jane']}")
    history = page.get_by_role("region", name="Group membership history")
    rows = history.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Sales")
    expect(rows.nth(0)).to_contain_text("Removed")
    expect(rows.nth(1)).to_contain_text("Added")
    expect(rows.nth(2)).to_contain_text("Engineering")
    expect(rows.nth(0).locator("time")).to_contain_text("UTC")
    page.screenshot(path=str(artifacts / "admin-user-membership-history.png"), full_page=True)

    rows.nth(0).get_by_role("link", name="Log entry").click()
    expect(page).to_have_url(re.compile(r"/monitor/scim-logs/\d+$"))
    expect(page.locator("#request-body")).to_contain_text('"op": "remove"')
    expect(page.locator("main")).to_contain_text(f"/scim/v2/Groups/{story['sales']}")


def test_a_search_for_her_finds_the_group_patch_that_removed_her(
    page, make_admin, story, artifacts
):
    sign_in(page, make_admin("admin@example.com"))
    page.goto("/monitor/scim-logs")
    page.get_by_label("Search").fill("jane")
    page.get_by_label("Method").select_option("PATCH")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"\?method=PATCH&q=jane$"))
    rows = page.locator("table.log-table tbody tr")
    expect(rows).to_have_count(2)  # the PATCH that added her and the one that removed her
    expect(rows.first).to_contain_text(f"/scim/v2/Groups/{story['sales']}")
    page.screenshot(path=str(artifacts / "monitor-scim-logs-user-story.png"), full_page=True)
    rows.first.get_by_role("link").first.click()
    expect(page.locator("#request-body")).to_contain_text('"op": "remove"')


def test_the_directory_sorts_by_its_columns_and_keeps_the_sort(page, make_admin, story):
    sign_in(page, make_admin("admin@example.com"))
    page.goto("/admin/directory/users")
    table = page.get_by_role("table")
    search = page.get_by_label("Search")
    # The placeholder is shown whole, not cut by the field's width.
    assert page.evaluate(
        """(input) => {
            const style = getComputedStyle(input);
            const context = document.createElement("canvas").getContext("2d");
            context.font = style.font;
            const text = context.measureText(input.placeholder).width;
            const room = input.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
            return text <= room;
        }""",
        search.element_handle(),
    )
    expect(table.locator("th", has_text="externalId")).to_be_visible()
    expect(table.locator("th", has_text="Last modified")).to_be_visible()

    table.get_by_role("link", name="externalId").click()
    expect(page).to_have_url(re.compile(r"sort=externalId$"))
    expect(table.get_by_role("rowheader")).to_have_text(["bob@example.com", "jane@example.com"])
    table.get_by_role("link", name="externalId").click()
    expect(page).to_have_url(re.compile(r"sort=externalId&dir=desc$"))
    expect(table.get_by_role("rowheader")).to_have_text(["jane@example.com", "bob@example.com"])

    table.get_by_role("link", name="Last modified").click()
    expect(page).to_have_url(re.compile(r"sort=lastModified$"))
    expect(table.locator('th[aria-sort="ascending"]')).to_contain_text("Last modified")
    # A search keeps the sort.
    search.fill("example")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(
        re.compile(r"q=example.*sort=lastModified|sort=lastModified.*q=example")
    )
    expect(table.locator('th[aria-sort="ascending"]')).to_contain_text("Last modified")
