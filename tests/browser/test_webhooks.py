"""The webhooks story in a real browser: add an endpoint, see its secret once, provision a
user by SCIM, and find the delivery on the request's log entry page."""

from __future__ import annotations

import re
import time

import sqlalchemy as sa
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from tests.browser.test_admin_console import scim
from tests.browser.test_admin_console import sign_in
from tests.webhooks.conftest import Receiver
from willow.storage.extensions import db
from willow.storage.models import Event
from willow.storage.models import ScimRequestLog
from willow.webhooks.worker import Worker


def test_admin_adds_an_endpoint_and_sees_a_scim_change_delivered(
    app, page, live_server, make_admin, make_token, org, artifacts
):
    receiver = Receiver()
    worker = Worker(app, threads=1, poll_interval=0.1)
    worker.start()
    try:
        sign_in(page, make_admin("admin@example.com"))
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_text("Add endpoint", exact=True).click()
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("Description").fill("Access service")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.get_by_text("It will not be shown again")).to_be_visible()
        secret = page.get_by_label("Signing secret").input_value()
        assert secret.startswith("whsec_")
        page.screenshot(path=str(artifacts / "webhook-secret.png"), full_page=True)
        page.reload()
        expect(page.get_by_text("already shown once")).to_be_visible()
        assert secret not in page.content()

        status, body = scim(
            live_server,
            make_token(),
            "POST",
            "/Users",
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice"},
        )
        assert status == 201, body
        with app.app_context():
            entry_id, request_id = db.session.execute(
                sa.select(ScimRequestLog.id, ScimRequestLog.request_id).where(
                    ScimRequestLog.method == "POST"
                )
            ).one()
            emitted = db.session.scalar(
                sa.select(sa.func.count()).where(Event.request_id == request_id)
            )
        assert emitted == 1  # user.created, written in the POST's own transaction
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        headers, delivered = receiver.received[0]
        Webhook(secret).verify(delivered, headers)

        page.goto(f"/monitor/scim-logs/{entry_id}")
        section = page.locator(
            "section", has=page.get_by_role("heading", name="Events this request caused")
        )
        expect(section).to_contain_text("user.created")
        expect(section).to_contain_text("200 delivered")
        expect(section).to_contain_text(receiver.url)
        page.screenshot(path=str(artifacts / "webhook-log-entry.png"), full_page=True)
        section.locator("a.event-link").first.click()
        expect(page.locator("#deliveries-heading")).to_be_visible()
        expect(
            page.get_by_role("link", name=re.compile(f"SCIM request {request_id}"))
        ).to_be_visible()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
        page.get_by_role("link", name=receiver.url).click()
        expect(page.locator("#endpoint-status")).to_contain_text("enabled")
        page.get_by_role("button", name="Send test event").click()
        expect(page.get_by_text("Test event delivered: 200")).to_be_visible()
        page.screenshot(path=str(artifacts / "webhook-endpoint.png"), full_page=True)
    finally:
        worker.stop(timeout=5)
        receiver.close()
