"""GET /api/v1/events: paging by cursor, limits, the types filter, scopes and errors, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.events.conftest import read_api
from tests.scim.test_groups import make_group
from tests.scim.test_users import create
from willow.events.envelope import encode_cursor
from willow.events.store import prune_events
from willow.storage.extensions import db
from willow.storage.models import utcnow


def assert_json_error(rv, status: int, code: str | None = None) -> dict:
    assert rv.status_code == status, rv.get_data(as_text=True)
    assert rv.mimetype == "application/json"
    body = rv.get_json()
    assert body["message"]
    if code:
        assert body["error"] == code
    return body


def test_a_reader_pages_by_cursor_and_continues_later_from_the_last_cursor(
    client, scim, events_token
):
    for i in range(5):
        create(scim, f"user{i}@example.com")
    first = read_api(client, events_token, limit=2).get_json()
    second = read_api(client, events_token, limit=2, after=first["next_cursor"]).get_json()
    third = read_api(client, events_token, limit=2, after=second["next_cursor"]).get_json()
    seen = [e["sequence"] for page in (first, second, third) for e in page["data"]]
    assert seen == [1, 2, 3, 4, 5]
    assert third["next_cursor"]
    empty = read_api(client, events_token, after=third["next_cursor"]).get_json()
    assert empty == {"data": [], "next_cursor": third["next_cursor"]}
    create(scim, "later@example.com")
    later = read_api(client, events_token, after=third["next_cursor"]).get_json()
    assert [e["data"]["user"]["userName"] for e in later["data"]] == ["later@example.com"]


def test_the_api_serves_the_envelopes_exactly_as_stored(client, scim, events_token,
                                                         stored_events):
    create(scim, "alice@example.com")
    rv = read_api(client, events_token)
    assert rv.status_code == 200 and rv.mimetype == "application/json"
    assert rv.headers["Cache-Control"] == "no-store"
    assert rv.get_json()["data"] == stored_events()


def test_the_types_filter_takes_names_and_prefixes(client, scim, events_token):
    user = create(scim, "alice@example.com")
    make_group(scim, "Engineering", [user["id"]])
    def read(types):
        return [e["type"] for e in read_api(client, events_token, types=types).get_json()["data"]]
    assert read("user.*") == ["user.created"]
    assert read("group.member_*,user.created") == ["user.created", "group.member_added"]
    assert read("*") == ["user.created", "group.created", "group.member_added"]


def test_a_filtered_page_that_is_not_full_moves_the_cursor_past_what_it_skipped(
    client, scim, events_token
):
    for i in range(3):
        create(scim, f"user{i}@example.com")
    page = read_api(client, events_token, types="group.*").get_json()
    assert page["data"] == []
    make_group(scim, "Engineering")
    rv = read_api(client, events_token, types="group.*", after=page["next_cursor"]).get_json()
    assert [e["sequence"] for e in rv["data"]] == [4]


@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten", "1.5"])
def test_a_limit_out_of_bounds_is_400(client, events_token, limit):
    assert_json_error(read_api(client, events_token, limit=limit), 400, "invalid_limit")


@pytest.mark.parametrize("limit", ["1", "500"])
def test_the_limit_bounds_are_accepted(client, events_token, limit):
    assert read_api(client, events_token, limit=limit).status_code == 200


def test_an_unknown_type_is_400_naming_the_known_ones(client, events_token):
    body = assert_json_error(read_api(client, events_token, types="users.*"), 400, "invalid_types")
    assert "user.created" in body["message"]


@pytest.mark.parametrize("cursor", ["garbage", "djI6MQ", "%%%"])
def test_a_cursor_not_handed_out_is_400(client, events_token, cursor):
    assert_json_error(read_api(client, events_token, after=cursor), 400, "invalid_cursor")


def test_a_cursor_older_than_retention_is_410_with_a_clear_message(
    app, client, scim, events_token
):
    for i in range(3):
        create(scim, f"user{i}@example.com")
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE events SET occurred_at = :old WHERE sequence <= 2"),
            {"old": utcnow() - timedelta(days=100)},
        )
        db.session.commit()
        assert prune_events(db.engine, 90) == 2
        pruned = db.session.scalar(sa.text("SELECT events_pruned_through FROM organizations"))
    assert pruned == 2
    body = assert_json_error(
        read_api(client, events_token, after=encode_cursor(1)), 410, "cursor_expired"
    )
    assert "90 days" in body["message"]
    kept = read_api(client, events_token, after=encode_cursor(2)).get_json()["data"]
    assert [e["sequence"] for e in kept] == [3]
    assert [e["sequence"] for e in read_api(client, events_token).get_json()["data"]] == [3]


def test_a_scim_only_token_is_403_on_events_and_an_events_token_403_on_scim(
    client, token, events_token
):
    assert_json_error(read_api(client, token), 403, "forbidden")
    rv = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {events_token}"})
    assert rv.status_code == 403
    assert rv.mimetype == "application/scim+json"


def test_a_token_with_both_scopes_reads_events_and_provisions(client, make_token):
    both = make_token(scopes=["scim", "events"])
    headers = {"Authorization": f"Bearer {both}"}
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    assert read_api(client, both).status_code == 200


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer wsk_unknown"])
def test_no_or_an_unknown_token_is_401_in_json(client, header):
    headers = {"Authorization": header} if header else {}
    rv = client.get("/api/v1/events", headers=headers)
    assert_json_error(rv, 401, "unauthorized")
    assert rv.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_401(app, client, events_token):
    with app.app_context():
        db.session.execute(sa.text("UPDATE api_tokens SET revoked_at = :now"), {"now": utcnow()})
        db.session.commit()
    assert "revoked" in assert_json_error(read_api(client, events_token), 401)["message"]


def test_errors_under_the_api_are_json_never_html(client, events_token):
    headers = {"Authorization": f"Bearer {events_token}"}
    assert_json_error(client.post("/api/v1/events", headers=headers), 405)
    assert_json_error(client.get("/api/v1/nothing-here", headers=headers), 404)


def test_the_openapi_document_describes_the_events_api(client, events_token):
    rv = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {events_token}"})
    assert rv.status_code == 200
    doc = rv.get_json()
    assert doc["openapi"].startswith("3.1")
    params = {p["name"] for p in doc["paths"]["/events"]["get"]["parameters"]}
    assert params == {"after", "limit", "types"}


def test_the_token_form_offers_the_events_scope(client, console):
    console.login()
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "Read provisioning events" in page
    rv = client.post("/admin/tokens", data={"name": "Access service", "scopes": ["events"]})
    assert rv.status_code == 302


def test_the_cli_creates_an_events_token(runner, client):
    result = runner.invoke(args=["token", "create", "--name", "reader", "--scope", "events"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    assert read_api(client, plaintext).status_code == 200


def test_the_openapi_document_names_every_api_route(app):
    import json
    from pathlib import Path

    import willow.events

    path = Path(willow.events.__file__).with_name("openapi.json")
    described = {
        (p, m.upper()) for p, item in json.loads(path.read_text())["paths"].items() for m in item
    }
    served = {
        (rule.rule.removeprefix("/api/v1"), m)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for m in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert described == served


def test_a_reader_sees_only_its_own_organizations_events(app, client, scim, make_token):
    from willow.console.organizations import create_organization

    with app.app_context():
        org = create_organization("acme", "Acme")
        db.session.commit()
        acme = org.id
    create(scim, "alice@example.com")
    reader = make_token(acme, scopes=["events"])
    assert read_api(client, reader).get_json()["data"] == []


def test_the_pruner_keeps_events_for_the_configured_days_and_0_keeps_them_all(
    app, scim
):
    from willow.events.retention import EventPruner

    create(scim, "alice@example.com")
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE events SET occurred_at = :old"),
            {"old": utcnow() - timedelta(days=40)},
        )
        db.session.commit()
    pruner = EventPruner(app, interval=3600)
    app.config["WILLOW_EVENT_RETENTION_DAYS"] = 0
    assert pruner.prune_once() == 0
    app.config["WILLOW_EVENT_RETENTION_DAYS"] = 60
    assert pruner.prune_once() == 0
    app.config["WILLOW_EVENT_RETENTION_DAYS"] = 30
    assert pruner.prune_once() == 1
