"""Admin → Provisioning guard through the test client: the banner, the held changes, the
decisions (recorded with who and when), the threshold form, the directory."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import GuardDecision
from willow.storage.models import GuardHeldChange
from willow.storage.models import ScimRequestLog

from .conftest import DEACTIVATE

BANNER = re.compile(
    r"Provisioning guard</a>: 2 deprovisionings held since \d\d:\d\d UTC "
    r"\(threshold: more than 10 in 60 minutes\)"
)


@pytest.fixture
def two_held(company, scim, guard_state):
    """20 users, 12 deactivated: the last two are held."""
    ids = company(20)
    for user_id in ids[:12]:
        assert scim.patch(f"/Users/{user_id}", DEACTIVATE).status_code == 200
    assert guard_state()[0] == ids[10:12]
    return ids


def held_ids(app) -> list[int]:
    with app.app_context():
        rv = list(db.session.scalars(sa.select(GuardHeldChange.id).order_by(GuardHeldChange.id)))
        db.session.remove()
        return rv


def test_every_admin_page_shows_the_banner_while_changes_are_held(client, console, two_held):
    console.login()
    for path in ("/admin/tokens", "/admin/directory/users", "/monitor/scim-logs"):
        page = client.get(path).get_data(as_text=True)
        assert BANNER.search(page), path


def test_no_banner_when_nothing_is_held(client, console, company):
    company(3)
    console.login()
    assert "deprovisionings held" not in client.get("/admin/tokens").get_data(as_text=True)


def test_members_neither_see_the_banner_nor_reach_the_guard_page(
    client, console, make_admin, two_held
):
    console.login(make_admin("member@example.com", role="member"))
    assert "deprovisionings held" not in client.get("/admin/directory/users").get_data(
        as_text=True
    )
    assert client.get("/admin/guard/").status_code == 403
    assert client.post("/admin/guard/decide", data={"action": "allow_all"}).status_code == 403


def test_the_guard_page_lists_each_held_change_with_its_log_entry(app, client, console, two_held):
    app.extensions["willow_request_log"].flush(timeout=5)
    console.login()
    page = client.get("/admin/guard/").get_data(as_text=True)
    assert "u010@example.com" in page and "u011@example.com" in page
    assert "deactivate the user (active: false)" in page
    entry = re.search(r'href="(/monitor/scim-logs/\d+)">request</a>', page).group(1)
    log = client.get(entry).get_data(as_text=True)
    assert "The effects of this deactivation are held" in log


def test_allow_selected_releases_only_the_ticked_change_and_records_the_decision(
    app, client, console, two_held, guard_state
):
    app.extensions["willow_request_log"].flush(timeout=5)
    console.login()
    first, second = held_ids(app)
    rv = client.post("/admin/guard/decide", data={"action": "allow_selected", "change": [first]})
    assert rv.status_code == 303
    held, sessions = guard_state()
    assert held == [two_held[11]]
    assert two_held[10] not in sessions
    page = client.get("/admin/guard/").get_data(as_text=True)
    assert "Allow selected" in page and "admin@example.com" in page
    with app.app_context():
        (decision,) = db.session.scalars(sa.select(GuardDecision)).all()
        assert (decision.decision, decision.actor, decision.user_id) == (
            "allow_selected", "admin@example.com", two_held[10],
        )
        entry_id = db.session.scalars(
            sa.select(ScimRequestLog.id).where(ScimRequestLog.request_id == decision.request_id)
        ).one()
        db.session.remove()
    log = client.get(f"/monitor/scim-logs/{entry_id}").get_data(as_text=True)
    assert "Allowed (Allow selected) by admin@example.com" in log


def test_keep_holding_is_recorded_and_holds(app, client, console, two_held, guard_state):
    console.login()
    assert client.post("/admin/guard/decide", data={"action": "keep_holding"}).status_code == 303
    assert guard_state()[0] == two_held[10:12]
    with app.app_context():
        rows = db.session.scalars(sa.select(GuardDecision.decision)).all()
        db.session.remove()
    assert rows == ["keep_holding", "keep_holding"]
    assert "Keep holding" in client.get("/admin/guard/").get_data(as_text=True)


@pytest.mark.parametrize(
    "data",
    [
        {"action": "allow_selected"},
        {"action": "allow_selected", "change": ["abc"]},
        {"action": "allow_selected", "change": ["9" * 40]},
        {"action": "nonsense"},
        {},
    ],
)
def test_a_bad_decision_gets_an_explanation_and_changes_nothing(
    client, console, two_held, guard_state, data
):
    console.login()
    rv = client.post("/admin/guard/decide", data=data)
    assert rv.status_code == 303
    page = client.get(rv.headers["Location"]).get_data(as_text=True)
    assert "nothing was decided" in page or "Choose Allow all" in page
    assert guard_state()[0] == two_held[10:12]


def test_the_threshold_form_saves_and_refuses_out_of_range_values(client, console, runner):
    console.login()
    bad = client.post(
        "/admin/guard/settings",
        data={"enabled": "y", "count": "0", "percent": "500", "window_minutes": "x"},
    )
    assert bad.status_code == 400
    assert "field-error" in bad.get_data(as_text=True)
    good = client.post(
        "/admin/guard/settings",
        data={"enabled": "y", "count": "25", "percent": "5", "window_minutes": "30"},
    )
    assert good.status_code == 303
    status = runner.invoke(args=["guard", "status"]).output
    assert "max(25, 5 % of active users) deprovisionings in 30 minutes" in status


def test_the_directory_shows_the_held_state_beside_the_requested_one(
    client, console, two_held
):
    console.login()
    page = client.get(f"/admin/directory/users/{two_held[10]}").get_data(as_text=True)
    assert "deactivated" in page and "Deactivation held by the guard" in page
    assert "member" in page
    applied = client.get(f"/admin/directory/users/{two_held[0]}").get_data(as_text=True)
    assert "held by the guard" not in applied
