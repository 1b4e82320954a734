"""The console: a log entry lists the events its request caused; an event's page shows
its envelope and links back to that entry (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.scim.test_groups import make_group
from tests.scim.test_users import create
from willow.console.organizations import create_organization
from willow.storage.extensions import db


def _entry_id(app, request_id: str) -> int:
    app.extensions["willow_request_log"].flush(timeout=5)
    with app.app_context():
        return db.session.scalar(
            sa.text("SELECT id FROM scim_request_logs WHERE request_id = :r"), {"r": request_id}
        )


def test_a_log_entry_lists_its_events_and_each_event_links_back(
    app, client, console, scim, stored_events
):
    alice = create(scim, "alice@example.com")
    make_group(scim, "Engineering", [alice["id"]])
    created, member = stored_events()[1:]
    console.login()
    entry = _entry_id(app, created["request_id"])
    page = client.get(f"/monitor/scim-logs/{entry}").get_data(as_text=True)
    assert "Events this request caused" in page
    assert page.count('class="event-row"') == 2
    assert created["id"] in page and member["id"] in page
    assert "group.member_added" in page
    link = re.search(r'href="(/monitor/events/[^"]+)"', page).group(1)
    event_page = client.get(link)
    assert event_page.status_code == 200
    text = event_page.get_data(as_text=True)
    assert f'href="/monitor/scim-logs/{entry}"' in text
    assert created["id"] in text and "&#34;sequence&#34;: 2" in text


def test_a_request_that_caused_nothing_says_so(app, client, console, scim):
    rv = scim.get("/Users")
    assert rv.status_code == 200
    create(scim, "alice@example.com")
    app.extensions["willow_request_log"].flush(timeout=5)
    console.login()
    with app.app_context():
        entry = db.session.scalar(
            sa.text("SELECT id FROM scim_request_logs WHERE method = 'GET'")
        )
    page = client.get(f"/monitor/scim-logs/{entry}").get_data(as_text=True)
    assert "Events this request caused" in page
    assert "None: the request changed nothing" in page


def test_a_console_mapping_event_says_it_has_no_scim_request(client, console, scim,
                                                              stored_events):
    alice = create(scim, "alice@example.com")
    group = make_group(scim, "Admins", [alice["id"]])
    console.login()
    client.post(f"/admin/directory/groups/{group['id']}/role", data={"role": "admin"})
    (event,) = stored_events(("access.changed",))
    page = client.get(f"/monitor/events/{event['id']}").get_data(as_text=True)
    assert "A change in the console" in page


def test_another_organizations_event_is_not_found(app, client, console, make_token,
                                                  stored_events):
    from tests.conftest import ScimActions

    with app.app_context():
        org = create_organization("acme", "Acme")
        db.session.commit()
        org_id = org.id
    create(ScimActions(client, make_token(org_id)), "a@example.com")
    (event,) = stored_events()
    console.login()
    rv = client.get(f"/monitor/events/{event['id']}")
    assert rv.status_code == 404
    assert "no event" in rv.get_data(as_text=True)


def test_the_event_page_needs_a_signed_in_console_user(client, scim, stored_events):
    create(scim, "alice@example.com")
    (event,) = stored_events()
    rv = client.get(f"/monitor/events/{event['id']}")
    assert rv.status_code in (302, 303)
