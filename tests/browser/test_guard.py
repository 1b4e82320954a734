"""The provisioning guard in a real browser: the banner on an admin page, the guard page,
Allow selected, and the decision shown."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_admin_console import sign_in
from tests.guard.conftest import DEACTIVATE
from tests.guard.conftest import SCHEMA_USER


def test_admin_sees_the_banner_and_allows_one_held_change(
    page, scim, make_admin, artifacts
):
    ids = []
    for i in range(20):
        rv = scim.post("/Users", {"schemas": [SCHEMA_USER], "userName": f"u{i:03}@example.com"})
        ids.append(rv.get_json()["id"])
    for user_id in ids[:12]:
        assert scim.patch(f"/Users/{user_id}", DEACTIVATE).status_code == 200

    sign_in(page, make_admin("admin@example.com"))
    banner = page.locator("#guard-banner")
    expect(banner).to_contain_text(
        re.compile(r"2 deprovisionings held since \d\d:\d\d UTC \(threshold: more than 10 in 60")
    )
    banner.get_by_role("link", name="Provisioning guard").click()
    expect(page).to_have_url(re.compile(r"/admin/guard/$"))
    held = page.locator("#held-changes tbody tr")
    expect(held).to_have_count(2)
    page.screenshot(path=str(artifacts / "guard-page.png"), full_page=True)

    page.get_by_label("Select u010@example.com").check()
    page.get_by_role("button", name="Allow selected").click()
    expect(page.get_by_text("Allowed 1 held changes")).to_be_visible()
    expect(held).to_have_count(1)
    expect(held.first).to_contain_text("u011@example.com")
    decisions = page.locator("#guard-decisions tbody tr")
    expect(decisions.first).to_contain_text("Allow selected")
    expect(decisions.first).to_contain_text("admin@example.com")
    expect(page.locator("#guard-banner")).to_contain_text("1 deprovisioning held")

    page.get_by_role("button", name="Allow all").click()
    expect(page.locator("#guard-banner")).to_have_count(0)
    expect(page.get_by_role("cell", name="Nothing is held.")).to_be_visible()
