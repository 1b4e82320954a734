"""Refused requests cannot grow the log without limit: a 401 or 429 keeps at most a short,
redacted excerpt of its body, and past a limit the refusals of one address (or token) and
minute are counted in one entry instead of stored one by one."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from willow.console.organizations import create_organization
from willow.monitor.capture import REFUSED_EXCERPT_BYTES
from willow.storage import models
from willow.storage.extensions import db

ADDRESS = "203.0.113.9"
BIG_BODY = json.dumps(
    {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "mallory",
        "password": "hunter2-secret",
        "pad": "a" * 200_000,
    }
)


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        now = models.utcnow().replace(second=0, microsecond=0)

        def advance(self, **kwargs) -> None:
            self.now += timedelta(**kwargs)

    c = Clock()
    monkeypatch.setattr(models, "utcnow", lambda: c.now)
    return c


def post(client, token: str | None, address: str = ADDRESS, body: str = BIG_BODY):
    headers = {"Content-Type": "application/scim+json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(
        "/scim/v2/Users", data=body, headers=headers, environ_base={"REMOTE_ADDR": address}
    )


def assert_excerpt_only(row: dict) -> None:
    stored = row["request_body"]
    # The excerpt and the marker that says how much was received.
    assert len(stored.encode()) < REFUSED_EXCERPT_BYTES + 100
    assert "bytes received" in stored
    assert "hunter2" not in json.dumps(row, default=str)


def test_an_anonymous_401_keeps_only_a_short_redacted_excerpt_of_its_body(client, logged):
    assert post(client, "wsk_wrong").status_code == 401
    [row] = logged()
    assert row["status_code"] == 401
    assert row["request_body"].startswith('{"schemas":["urn:ietf:params:scim:schemas:core:2.0')
    assert '"password":"[REDACTED]"' in row["request_body"]
    assert_excerpt_only(row)
    assert row["count_key"] is None and row["repeat_count"] is None


def test_a_refused_request_keeps_only_an_excerpt_of_its_query_string(client, logged):
    rv = client.get(
        "/scim/v2/Users?filter=" + "x" * 5000, headers={"Authorization": "Bearer wsk_wrong"}
    )
    assert rv.status_code == 401
    [row] = logged()
    assert len(row["query_string"].encode()) < REFUSED_EXCERPT_BYTES + 100


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_an_anonymous_request_to_an_unknown_route_keeps_only_an_excerpt(client, logged, method):
    """Werkzeug answers 404/405 before the bearer check: without a known token such a
    request is as anonymous as a 401."""
    rv = client.open(
        "/scim/v2/Nope" if method == "POST" else "/scim/v2/Users",
        method=method,
        data=BIG_BODY,
        headers={"Content-Type": "application/scim+json"},
    )
    assert rv.status_code in (404, 405)
    [row] = logged()
    assert_excerpt_only(row)


def test_a_known_token_on_an_unknown_route_keeps_the_body(client, logged, token):
    """The IdP's own mistake (a wrong URL): the body helps to see what it meant to do."""
    body = json.dumps({"userName": "alice", "pad": "p" * 1000})
    rv = client.post(
        "/scim/v2/Nope",
        data=body,
        headers={"Content-Type": "application/scim+json", "Authorization": f"Bearer {token}"},
    )
    assert rv.status_code == 404
    [row] = logged()
    assert json.loads(row["request_body"]) == json.loads(body)


def test_a_refused_request_keeps_only_an_excerpt_of_its_headers(client, logged):
    headers = {"Authorization": "Bearer wsk_wrong", "X-Big": "b" * 100_000}
    headers.update({f"X-Many-{i}": "m" for i in range(100)})
    assert client.get("/scim/v2/Users", headers=headers).status_code == 401
    [row] = logged()
    stored = row["request_headers"]
    assert len(json.dumps(stored)) < 40 * (REFUSED_EXCERPT_BYTES + 100)
    assert stored["X-Big"].startswith("b" * REFUSED_EXCERPT_BYTES)
    assert stored["…"].endswith("more headers not stored")


def test_an_accepted_request_keeps_its_body(client, logged, token):
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "alice",
        "title": "t" * 200,
        "displayName": "d" * 200,
    }
    assert post(client, token, body=json.dumps(user)).status_code == 201
    [row] = logged()
    assert json.loads(row["request_body"]) == user


def test_past_the_failed_authentication_limit_refusals_are_counted_per_address_and_minute(
    app, client, logged, clock
):
    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 3
    codes = [post(client, "wsk_wrong").status_code for _ in range(9)]
    assert codes == [401] * 3 + [429] * 6
    assert post(client, "wsk_wrong", "198.51.100.7").status_code == 401
    rows = logged()
    assert [r["status_code"] for r in rows] == [401, 401, 401, 429, 401]
    counted = rows[3]
    assert counted["repeat_count"] == 6
    assert counted["client_ip"] == ADDRESS
    assert counted["request_body"] is None
    assert counted["error_detail"].startswith(
        "Past the limit of 3 failed authentications a minute (WILLOW_AUTH_FAILURE_LIMIT): "
        f"the requests refused from {ADDRESS} in the minute from "
    )
    assert counted["error_detail"].endswith("are counted in this entry, not stored one by one.")
    for row in rows[:3]:
        assert_excerpt_only(row)
    # The next minute is a new window: its refusals get an entry of their own.
    clock.advance(minutes=1)
    codes = [post(client, "wsk_wrong").status_code for _ in range(5)]
    assert codes == [401] * 3 + [429] * 2
    later = logged()[5:]
    assert [r["status_code"] for r in later] == [401, 401, 401, 429]
    assert later[-1]["repeat_count"] == 2
    assert later[-1]["count_key"] != counted["count_key"]


def test_a_token_past_its_rate_limit_is_counted_too(app, client, logged, token, clock):
    app.config["WILLOW_TOKEN_RATE_LIMIT"] = 2
    headers = {"Authorization": f"Bearer {token}"}
    codes = [client.get("/scim/v2/Users", headers=headers).status_code for _ in range(6)]
    assert codes == [200, 200, 429, 429, 429, 429]
    rows = logged()
    assert [r["status_code"] for r in rows] == [200, 200, 429]
    assert rows[2]["repeat_count"] == 4
    assert rows[2]["token_name"] == rows[0]["token_name"]
    assert "(WILLOW_TOKEN_RATE_LIMIT)" in rows[2]["error_detail"]


def test_the_console_shows_how_many_requests_a_counted_entry_stands_for(
    app, client, logged, console, clock
):
    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 1
    for _ in range(38):
        post(client, None)
    [_, counted] = logged()
    console.login()
    page = client.get("/monitor/scim-logs").get_data(as_text=True)
    assert "37 refused requests" in page
    assert f"refused from {ADDRESS}" in page
    assert "not stored one by one" in page
    detail = client.get(f"/monitor/scim-logs/{counted['id']}").get_data(as_text=True)
    assert "37 in this entry" in detail
    export = client.get("/monitor/scim-logs/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(export.lstrip("\ufeff"))))
    # In either order: the counted entry is dated at its window's start (this test's frozen
    # clock puts that before the 401's real time).
    assert sorted((r["status"], r["refused_count"]) for r in rows) == [("401", ""), ("429", "37")]


def test_a_token_whose_prefix_matches_is_filed_under_its_organization_without_the_body(
    app, client, logged, make_token
):
    """The admin still sees that someone uses a wrong token with their token's prefix
    (the docs' first troubleshooting step), but a sender who knows only the public prefix
    cannot store bodies in that organization's log, and past the failed-authentication
    limit its refusals are counted under no organization."""
    with app.app_context():
        second_id = create_organization("second", "Second").id
        db.session.commit()
    plaintext = make_token(org_id=second_id, name="JumpCloud")
    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 2
    wrong = plaintext[:10] + "x" * 37
    assert [post(client, wrong).status_code for _ in range(4)] == [401, 401, 429, 429]
    first, second, counted = logged()
    for row in (first, second):
        assert row["organization_id"] == second_id
        assert "matches the active token “JumpCloud”" in row["error_detail"]
        assert_excerpt_only(row)
    assert counted["organization_id"] is None
    assert counted["repeat_count"] == 2
