"""Every request under /scim is logged: one row, whatever the outcome, redacted."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from willow.console.organizations import create_organization
from willow.console.tokens import find_token
from willow.console.tokens import revoke_token
from willow.monitor import capture
from willow.monitor.capture import classify
from willow.scim import audit
from willow.scim.http import request_object
from willow.scim.http import scim_response
from willow.scim.protocol.errors import Uniqueness
from willow.storage.extensions import db
from willow.storage.models import Group
from willow.storage.models import Organization
from willow.storage.models import ScimRequestLog

AUTH_FREE = {"Accept": "application/scim+json"}


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/scim/v2/Users", ("User", None, "query")),
        ("POST", "/scim/v2/Users", ("User", None, "create")),
        ("GET", "/scim/v2/Users/abc", ("User", "abc", "read")),
        ("PUT", "/scim/v2/Users/abc", ("User", "abc", "update")),
        ("PATCH", "/scim/v2/Groups/g1", ("Group", "g1", "update")),
        ("DELETE", "/scim/v2/Groups/g1", ("Group", "g1", "delete")),
        ("POST", "/scim/v2/Users/.search", ("User", None, "query")),
        ("POST", "/scim/v2/.search", (None, None, "query")),
        ("GET", "/scim/v2", (None, None, "query")),
        ("GET", "/scim/v2/ServiceProviderConfig", ("Config", "ServiceProviderConfig", "read")),
        ("GET", "/scim/v2/ResourceTypes", ("Config", None, "query")),
        ("GET", "/scim/v2/ResourceTypes/User", ("Config", "User", "read")),
        ("GET", "/scim/v2/Schemas", ("Schema", None, "query")),
        (
            "GET",
            "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            ("Schema", "urn:ietf:params:scim:schemas:core:2.0:User", "read"),
        ),
        ("GET", "/scim/v2/Nowhere", (None, None, None)),
        ("GET", "/scim/v2/Users/a/b", (None, None, None)),
        ("GET", "/scim/Users", (None, None, None)),
    ],
)
def test_requests_no_view_described_are_classified_by_method_and_path(method, path, expected):
    assert classify(method, path) == expected


def test_a_successful_request_is_logged_with_everything(client, token, logged):
    rv = client.get(
        "/scim/v2/ServiceProviderConfig?x=1",
        headers={
            "Authorization": f"Bearer {token}",
            "User-Agent": "Okta SCIM Client 1.0.0",
            "Cookie": "session=abc",
        },
    )
    assert rv.status_code == 200
    [row] = logged()
    assert row["request_id"] == rv.headers["X-Request-Id"]
    assert row["method"] == "GET"
    assert row["path"] == "/scim/v2/ServiceProviderConfig"
    assert row["query_string"] == "x=1"
    assert row["status_code"] == 200
    assert (row["resource_type"], row["operation"]) == ("Config", "read")
    assert row["token_id"] is not None and row["token_name"].startswith("token-")
    assert row["organization_id"] is not None
    assert row["client_ip"] == "127.0.0.1"
    assert row["user_agent"] == "Okta SCIM Client 1.0.0"
    assert row["duration_ms"] > 0
    assert json.loads(row["response_body"]) == rv.get_json()
    assert row["error_detail"] is None and row["fingerprint"] is None
    headers = {k.lower(): v for k, v in row["request_headers"].items()}
    assert "authorization" not in headers and "cookie" not in headers
    assert headers["user-agent"] == "Okta SCIM Client 1.0.0"
    assert token not in json.dumps(row, default=str)


def test_requests_without_a_token_are_logged_without_an_organization(app, client, logged):
    with app.app_context():
        create_organization("second", "Second")
        db.session.commit()
    rv = client.get("/scim/v2/Schemas", headers=AUTH_FREE)
    assert rv.status_code == 401
    [row] = logged()
    assert row["status_code"] == 401
    assert row["token_id"] is None and row["organization_id"] is None
    assert row["resource_type"] == "Schema" and row["operation"] == "query"
    assert row["error_detail"] == "No Authorization header: the IdP sent no API token."
    assert row["fingerprint"]


def test_on_a_single_organization_install_tokenless_requests_belong_to_it(client, logged, org):
    """On-prem admins must see an IdP's 401s (a mistyped token) in their own log."""
    rv = client.get("/scim/v2/Users", headers={"Authorization": "Bearer wsk_mistyped"})
    assert rv.status_code == 401
    [row] = logged()
    assert row["token_id"] is None and row["organization_id"] == org.id


def test_an_unknown_token_is_logged_as_401_and_never_stored(client, logged):
    rv = client.get("/scim/v2/Schemas", headers={"Authorization": "Bearer wsk_nope"})
    assert rv.status_code == 401
    [row] = logged()
    assert row["token_id"] is None
    assert row["error_detail"].startswith("Unknown token: 8 characters")
    assert "wsk_nope" not in json.dumps(row, default=str)


def test_a_revoked_token_is_logged_with_its_id_name_and_organization(
    app, client, make_token, logged
):
    plaintext = make_token(name="Old Okta token")
    with app.app_context():
        token = find_token(plaintext)
        token_id, org_id = token.id, token.organization_id
        revoke_token(token)
        db.session.commit()
    rv = client.get("/scim/v2/ResourceTypes", headers={"Authorization": f"Bearer {plaintext}"})
    assert rv.status_code == 401
    [row] = logged()
    assert (row["token_id"], row["token_name"], row["organization_id"]) == (
        token_id,
        "Old Okta token",
        org_id,
    )
    assert row["error_detail"].startswith(f"Revoked token: “Old Okta token” (id {token_id}), ")


@pytest.mark.parametrize(
    ("method", "path", "status", "resource_type"),
    [
        ("GET", "/scim/v2/Nowhere", 404, None),
        ("POST", "/scim/v2/ServiceProviderConfig", 405, "Config"),
        ("DELETE", "/scim/v2/Schemas", 405, "Schema"),
    ],
)
def test_unknown_routes_and_wrong_methods_are_logged(
    client, token, logged, method, path, status, resource_type
):
    rv = client.open(path, method=method, headers={"Authorization": f"Bearer {token}"})
    assert rv.status_code == status
    [row] = logged()
    assert (row["method"], row["path"], row["status_code"]) == (method, path, status)
    assert row["resource_type"] == resource_type
    assert row["organization_id"] is not None
    assert row["response_body"] and json.loads(row["response_body"])["status"] == str(status)
    assert row["error_detail"]


def test_a_body_over_the_request_limit_is_logged_as_413_without_storing_it(
    app, client, token, logged, scim_test_bp
):
    scim_test_bp.add_url_rule(
        "/echo", "echo", lambda: scim_response(request_object()), methods=["POST"]
    )
    app.register_blueprint(scim_test_bp)
    app.config["MAX_CONTENT_LENGTH"] = 100
    body = json.dumps({"userName": "x" * 200})
    rv = client.post(
        "/scim/v2/_test/echo",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )
    assert rv.status_code == 413
    [row] = logged()
    assert row["status_code"] == 413
    assert row["request_body"].startswith("[body not stored:")
    assert "x" * 50 not in row["request_body"]


def test_an_unsupported_media_type_is_logged_as_415_with_the_text_body(
    app, client, token, logged, scim_test_bp
):
    scim_test_bp.add_url_rule(
        "/echo", "echo", lambda: scim_response(request_object()), methods=["POST"]
    )
    app.register_blueprint(scim_test_bp)
    rv = client.post(
        "/scim/v2/_test/echo",
        data="userName=alice&password=hunter2",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    assert rv.status_code == 415
    [row] = logged()
    assert row["status_code"] == 415
    assert row["request_body"] == "userName=alice&password=[REDACTED]"


def test_an_unhandled_exception_is_logged_as_500_with_its_class_but_no_details(
    app, client, token, logged, scim_test_bp, caplog
):
    def explode():
        raise RuntimeError("secret internals: SELECT * FROM users")

    scim_test_bp.add_url_rule("/explode", "explode", explode)
    app.register_blueprint(scim_test_bp)
    with caplog.at_level(logging.CRITICAL, logger="willow.server.errors"):
        rv = client.get("/scim/v2/_test/explode", headers={"Authorization": f"Bearer {token}"})
    assert rv.status_code == 500
    [row] = logged()
    assert row["status_code"] == 500
    assert row["error_detail"] == "The server could not complete the request. (RuntimeError)"
    assert "SELECT" not in json.dumps(row, default=str)


def test_a_failed_write_is_rolled_back_but_still_logged_with_its_audit(
    app, client, token, logged, scim_test_bp
):
    def create_then_fail():
        body = request_object()
        group = Group(organization_id=1, display_name=body["displayName"], display_name_norm="eng")
        db.session.add(group)
        db.session.flush()
        audit.describe(resource_type="Group", label=body["displayName"], operation="create")
        audit.note('op "Add" read as "add"')
        audit.warn("1 unknown member id(s) skipped: nope")
        raise Uniqueness("displayName is taken")

    scim_test_bp.add_url_rule("/groups", "create_then_fail", create_then_fail, methods=["POST"])
    app.register_blueprint(scim_test_bp)
    rv = client.post(
        "/scim/v2/_test/groups",
        json={"displayName": "Engineering", "password": "p4ss"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert rv.status_code == 409
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Group)) == 0
    [row] = logged()
    assert row["status_code"] == 409
    assert (row["resource_type"], row["resource_label"], row["operation"]) == (
        "Group",
        "Engineering",
        "create",
    )
    assert row["notes"] == ['op "Add" read as "add"']
    assert row["warnings"] == ["1 unknown member id(s) skipped: nope"]
    assert row["error_detail"] == "uniqueness: displayName is taken"
    assert "p4ss" not in row["request_body"]
    assert json.loads(row["request_body"])["displayName"] == "Engineering"


def test_changes_recorded_by_the_view_are_stored(app, client, token, logged, scim_test_bp):
    def rename():
        audit.describe(resource_type="Group", resource_id="g1", label="Eng", operation="update")
        audit.change("displayName", "Engineering", "Eng")
        audit.members_changed([{"value": "u1", "display": "alice"}], [])
        return scim_response({"id": "g1"})

    scim_test_bp.add_url_rule("/rename", "rename", rename, methods=["PATCH"])
    app.register_blueprint(scim_test_bp)
    rv = client.patch(
        "/scim/v2/_test/rename", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert rv.status_code == 200
    [row] = logged()
    assert row["resource_id"] == "g1"
    assert row["changes"] == [
        {"attribute": "displayName", "before": "Engineering", "after": "Eng"},
        {"attribute": "members", "added": [{"value": "u1", "display": "alice"}], "removed": []},
    ]


def test_a_created_resource_id_is_taken_from_the_location_header(
    app, client, token, logged, scim_test_bp
):
    def create():
        rv = scim_response(
            {"id": "new-id", "userName": "bob"}, 201, location="http://x/Users/new-id"
        )
        return rv

    scim_test_bp.add_url_rule("/Users", "create", create, methods=["POST"])
    app.register_blueprint(scim_test_bp)
    client.post(
        "/scim/v2/_test/Users",
        json={"userName": "bob", "password": "pw"},
        headers={"Authorization": f"Bearer {token}"},
    )
    [row] = logged()
    assert (row["resource_id"], row["resource_label"]) == ("new-id", "bob")
    assert row["resource_label_key"] == "bob"


def test_passwords_in_request_bodies_are_never_stored(app, client, token, logged, scim_test_bp):
    scim_test_bp.add_url_rule(
        "/echo", "echo", lambda: scim_response({"ok": True}), methods=["POST"]
    )
    app.register_blueprint(scim_test_bp)
    body = {
        "userName": "alice",
        "password": "pw-top",
        "name": {"Password": "pw-nested"},
        "Operations": [{"op": "replace", "path": "password", "value": "pw-patch"}],
    }
    client.post("/scim/v2/_test/echo", json=body, headers={"Authorization": f"Bearer {token}"})
    [row] = logged()
    assert "pw-" not in json.dumps(row, default=str)


def test_large_response_bodies_are_truncated_with_a_marker(
    app, client, token, logged, scim_test_bp
):
    app.config["WILLOW_LOG_BODY_MAX_BYTES"] = 200
    scim_test_bp.add_url_rule("/big", "big", lambda: scim_response({"data": "y" * 5000}))
    app.register_blueprint(scim_test_bp)
    rv = client.get("/scim/v2/_test/big", headers={"Authorization": f"Bearer {token}"})
    assert len(rv.data) > 5000
    [row] = logged()
    assert "truncated by Willow" in row["response_body"]
    assert len(row["response_body"].encode()) < 300


def test_a_log_write_failure_never_changes_the_response(client, token, logged, monkeypatch, caplog):
    def fail(row):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(capture, "write_row", fail)
    with caplog.at_level(logging.ERROR):
        rv = client.get("/scim/v2/Schemas", headers={"Authorization": f"Bearer {token}"})
    assert rv.status_code == 200
    assert rv.get_json()["totalResults"] >= 1
    assert logged() == []
    assert any("could not write the SCIM request log" in r.message for r in caplog.records)


def test_console_requests_are_not_logged(client, logged):
    client.get("/admin/login")
    client.get("/nowhere")
    assert logged() == []


def test_each_organization_gets_its_own_rows(app, client, make_token, logged):
    with app.app_context():
        other = create_organization("acme", "Acme")
        db.session.commit()
        other_id = other.id
        default_id = db.session.scalar(
            sa.select(Organization.id).where(Organization.slug == "default")
        )
    mine, theirs = make_token(), make_token(org_id=other_id)
    client.get("/scim/v2/Schemas", headers={"Authorization": f"Bearer {mine}"})
    client.get("/scim/v2/Schemas", headers={"Authorization": f"Bearer {theirs}"})
    assert [r["organization_id"] for r in logged()] == [default_id, other_id]


def test_repeated_identical_failures_share_a_fingerprint(client, token, logged):
    headers = {"Authorization": f"Bearer {token}"}
    client.get("/scim/v2/Nowhere", headers=headers)
    client.get("/scim/v2/Nowhere", headers=headers)
    client.get("/scim/v2/Elsewhere", headers=headers)
    first, second, third = logged()
    assert first["fingerprint"] == second["fingerprint"] != third["fingerprint"]
    assert first["request_id"] != second["request_id"]


def test_values_longer_than_their_columns_are_cut_not_lost(
    app, client, token, logged, scim_test_bp
):
    def describe():
        audit.describe(resource_type="User", resource_id="i" * 100, label="n" * 300)
        return scim_response({})

    scim_test_bp.add_url_rule("/long", "describe", describe)
    app.register_blueprint(scim_test_bp)
    rv = client.get(
        "/scim/v2/_test/long",
        headers={"Authorization": f"Bearer {token}", "User-Agent": "ü" * 600},
    )
    assert rv.status_code == 200
    [row] = logged()
    assert row["user_agent"] == "ü" * 512
    assert (row["resource_id"], row["resource_label"]) == ("i" * 64, "n" * 256)
    assert row["resource_label_key"] == "n" * 256


def test_long_paths_are_cut_to_2048_bytes_so_that_their_index_entry_fits(client, token, logged):
    # 1,500 distinct CJK characters: 4,500 bytes that PostgreSQL cannot compress away.
    path = "/scim/v2/Users/" + "".join(chr(0x4E00 + i) for i in range(1500))
    rv = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert rv.status_code == 404
    [row] = logged()
    assert path.startswith(row["path"])
    assert 2046 <= len(row["path"].encode()) <= 2048


def _rows_without_flush(app, method: str) -> list[dict]:
    """Log rows as committed, without asking the batched writer for anything."""
    with app.app_context(), db.engine.connect() as conn:
        stmt = sa.select(ScimRequestLog.__table__).where(ScimRequestLog.method == method)
        return [dict(row._mapping) for row in conn.execute(stmt)]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/Users", {"userName": "durable@example.com"}),
        ("POST", "/Groups", {"displayName": "Durable"}),
    ],
)
def test_a_change_commits_with_its_log_row(app, scim, method, path, body):
    """The row of an acknowledged change is committed in the change's own transaction,
    before the response: a ``kill -9`` right after the response cannot lose it."""
    writer = app.extensions["willow_request_log"]
    writer.stop()
    rv = scim.post(path, body)
    assert rv.status_code == 201
    rows = _rows_without_flush(app, method)
    assert [(r["path"], r["status_code"], r["resource_id"]) for r in rows] == [
        (f"/scim/v2{path}", 201, rv.get_json()["id"])
    ]
    assert writer.flush()
    assert len(_rows_without_flush(app, method)) == 1, "written once, not twice"


def test_a_change_whose_log_row_cannot_be_written_is_not_applied(app, scim, monkeypatch):
    """No change without its row: when the row fails, the change rolls back with it."""

    def broken(response):
        raise RuntimeError("log row unavailable")

    monkeypatch.setattr(capture, "build_row", broken)
    rv = scim.post("/Users", {"userName": "nolog@example.com"})
    assert rv.status_code == 500
    monkeypatch.undo()
    assert scim.get('/Users?filter=userName eq "nolog@example.com"').get_json()["totalResults"] == 0


def test_time_a_request_waited_for_its_turn_counts_in_its_logged_duration(
    app, client, token, logged
):
    """/scim requests past the gate's limit wait for their turn (``willow.server.request_gate``;
    one at a time on SQLite, two on PostgreSQL by default): a request that waited shows
    the wait, as the IdP saw it."""
    import threading

    from willow.server.request_gate import ScimGate

    layer = app.wsgi_app
    while not isinstance(layer, ScimGate):
        layer = layer.wsgi_app
    slots = app.extensions["willow_scim_concurrency"]
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(slots):
        layer.gate.acquire()  # other requests' turns
    done = threading.Event()
    thread = threading.Thread(
        target=lambda: (client.get("/scim/v2/ServiceProviderConfig", headers=headers), done.set())
    )
    thread.start()
    assert not done.wait(0.3)
    for _ in range(slots):
        layer.gate.release()
    assert done.wait(10)
    [row] = logged()
    assert row["duration_ms"] >= 300
