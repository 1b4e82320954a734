"""/Bulk (RFC 7644 §3.7) over HTTP, on SQLite and PostgreSQL: the RFC's examples, the
limits, and each operation behaving (and being logged) as the request it stands for."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import Event
from willow.storage.models import ScimRequestLog

from .test_users import create

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def bulk(scim, *operations, **extra):
    return scim.post("/Bulk", {"schemas": [BULK], "Operations": list(operations), **extra})


def post_user(bulk_id: str, user_name: str, **data) -> dict:
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"schemas": [USER], "userName": user_name, **data},
    }


def post_group(bulk_id: str, name: str, members=()) -> dict:
    return {
        "method": "POST",
        "path": "/Groups",
        "bulkId": bulk_id,
        "data": {"schemas": [GROUP], "displayName": name, "members": list(members)},
    }


def results(rv) -> list[dict]:
    assert rv.status_code == 200, rv.get_json()
    body = rv.get_json()
    assert body["schemas"] == [BULK_RESPONSE]
    return body["Operations"]


def local(location: str) -> str:
    return location.split("/scim/v2", 1)[1]


@pytest.fixture
def logged(app):
    def read() -> list[ScimRequestLog]:
        assert app.extensions["willow_request_log"].flush()
        with app.app_context():
            rows = db.session.scalars(sa.select(ScimRequestLog).order_by(ScimRequestLog.id)).all()
            db.session.expunge_all()
            return rows

    return read


def test_a_group_refers_to_a_user_created_later_in_the_request_by_bulk_id(scim):
    """RFC 7644 §3.7.2: the group comes first but runs after the user it names."""
    rv = bulk(
        scim,
        post_group("ytrewq", "Tour Guides", [{"type": "User", "value": "bulkId:qwerty"}]),
        post_user("qwerty", "alice@example.com"),
    )
    group, user = results(rv)
    assert (group["status"], user["status"]) == ("201", "201")
    assert group["bulkId"] == "ytrewq" and user["bulkId"] == "qwerty"
    user_id = local(user["location"]).rsplit("/", 1)[1]
    stored = scim.get(local(group["location"]))
    assert [m["value"] for m in stored.get_json()["members"]] == [user_id]
    # version is the resource's ETag, as a GET of it answers.
    assert group["version"] == stored.headers["ETag"]
    assert user["version"] == scim.get(local(user["location"])).headers["ETag"]


def test_a_path_names_a_resource_created_in_the_same_request_by_bulk_id(scim):
    rv = bulk(
        scim,
        post_user("u", "bob@example.com"),
        post_group("g", "Staff"),
        {
            "method": "PATCH",
            "path": "/Groups/bulkId:g",
            "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u"}]}],
            },
        },
    )
    user, group, patch = results(rv)
    assert patch["status"] == "204"
    assert patch["location"] == group["location"]
    members = scim.get(local(group["location"])).get_json()["members"]
    assert [m["value"] for m in members] == [local(user["location"]).rsplit("/", 1)[1]]


def test_circular_group_references_are_resolved_by_adding_the_deferred_members_after(scim, logged):
    """RFC 7644 §3.7.1: two groups naming each other are both created; the first is
    created without the other and completed by a PATCH of its own (logged, linked)."""
    rv = bulk(
        scim,
        post_group("a", "Group A", [{"type": "Group", "value": "bulkId:b"}]),
        post_group("b", "Group B", [{"type": "Group", "value": "bulkId:a"}]),
    )
    a, b = results(rv)
    assert (a["status"], b["status"]) == ("201", "201")
    rows = logged()
    completion = [r for r in rows if r.method == "PATCH"]
    assert len(completion) == 1
    assert completion[0].path == "/scim/v2" + local(a["location"])
    assert completion[0].bulk_request_id is not None
    # The version reported is the one after the completion.
    assert a["version"] == scim.get(local(a["location"])).headers["ETag"]


def test_a_cycle_that_cannot_be_broken_is_409_and_creates_nothing(scim):
    """Two users each naming the other as manager: no group members to defer."""
    rv = bulk(
        scim,
        post_user("x", "x@example.com", **{ENTERPRISE: {"manager": {"value": "bulkId:y"}}}),
        post_user("y", "y@example.com", **{ENTERPRISE: {"manager": {"value": "bulkId:x"}}}),
    )
    x, y = results(rv)
    assert (x["status"], y["status"]) == ("409", "409")
    assert "circular" in x["response"]["detail"]
    assert "location" not in x
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_fail_on_errors_stops_after_that_many_errors(scim):
    """RFC 7644 §3.7.3's example: the first error ends the run; later operations are
    neither run nor reported."""
    create(scim, "alice@example.com")
    rv = bulk(
        scim,
        post_user("qwerty", "alice@example.com"),
        post_user("ytrewq", "carol@example.com"),
        failOnErrors=1,
    )
    (only,) = results(rv)
    assert only["status"] == "409" and only["bulkId"] == "qwerty"
    assert only["response"]["scimType"] == "uniqueness"
    assert only["response"]["schemas"] == [ERROR]
    assert "location" not in only
    found = scim.get("/Users", query_string={"filter": 'userName eq "carol@example.com"'})
    assert found.get_json()["totalResults"] == 0


def test_without_fail_on_errors_every_operation_runs_and_a_failure_undoes_nothing(scim):
    create(scim, "alice@example.com")
    rv = bulk(
        scim,
        post_user("one", "dave@example.com"),
        post_user("two", "alice@example.com"),
        post_user("three", "erin@example.com"),
    )
    assert [r["status"] for r in results(rv)] == ["201", "409", "201"]
    assert scim.get("/Users").get_json()["totalResults"] == 3


def test_fail_on_errors_of_two_runs_until_the_second_error(scim):
    create(scim, "alice@example.com")
    rv = bulk(
        scim,
        post_user("a", "alice@example.com"),
        post_user("b", "frank@example.com"),
        post_user("c", "alice@example.com"),
        post_user("d", "grace@example.com"),
        failOnErrors=2,
    )
    assert [r["status"] for r in results(rv)] == ["409", "201", "409"]


def test_a_reference_to_a_failed_operation_is_409_and_is_not_run(scim):
    create(scim, "alice@example.com")
    rv = bulk(
        scim,
        post_user("dup", "alice@example.com"),
        post_group("g", "Needs dup", [{"value": "bulkId:dup"}]),
    )
    dup, group = results(rv)
    assert dup["status"] == "409"
    assert group["status"] == "409"
    assert "bulkId:dup" in group["response"]["detail"]
    assert scim.get("/Groups").get_json()["totalResults"] == 0


def test_a_reference_to_an_undefined_bulk_id_is_400_invalid_value(scim):
    rv = bulk(
        scim,
        post_group("g", "Ghosts", [{"value": "bulkId:nobody"}]),
        {"method": "DELETE", "path": "/Users/bulkId:nobody"},
    )
    group, delete = results(rv)
    for result in (group, delete):
        assert result["status"] == "400"
        assert result["response"]["scimType"] == "invalidValue"
        assert "bulkId:nobody" in result["response"]["detail"]
    assert scim.get("/Groups").get_json()["totalResults"] == 0


def test_put_patch_and_delete_answer_as_alone_with_version_as_if_match(scim):
    user = create(scim, "henry@example.com")
    path = f"/Users/{user['id']}"
    rv = bulk(
        scim,
        {
            "method": "PUT",
            "path": path,
            "version": user["meta"]["version"],
            "data": {"schemas": [USER], "userName": "henry@example.com", "displayName": "H"},
        },
        {
            "method": "PATCH",
            "path": path,
            "version": user["meta"]["version"],  # stale after the PUT
            "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
        },
        {"method": "DELETE", "path": "/Users/no-such-id"},
    )
    put, patch, delete = results(rv)
    assert put["status"] == "200" and put["location"].endswith(path)
    assert put["version"] == scim.get(path).headers["ETag"] != user["meta"]["version"]
    assert patch["status"] == "412" and patch["location"].endswith(path)
    assert delete["status"] == "404" and delete["response"]["status"] == "404"
    rv = bulk(scim, {"method": "DELETE", "path": path})
    assert results(rv)[0]["status"] == "204"
    assert scim.get(path).status_code == 404


def test_an_invalid_operation_body_fails_alone_with_the_error_a_single_request_gets(scim):
    alone = scim.post("/Users", {"schemas": [USER], "userName": 12}).get_json()
    rv = bulk(scim, post_user("bad", 12), post_user("good", "ivy@example.com"))
    bad, good = results(rv)
    assert bad["status"] == str(alone["status"])
    assert bad["response"]["scimType"] == alone["scimType"]
    assert good["status"] == "201"


def test_more_operations_than_max_operations_is_413_and_runs_none(scim):
    operations = [post_user(f"u{i}", f"u{i}@example.com") for i in range(1001)]
    rv = bulk(scim, *operations)
    assert rv.status_code == 413
    assert rv.get_json() == {
        "schemas": [ERROR],
        "status": "413",
        "detail": "The number of operations exceeds the maxOperations (1000).",
    }
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_a_body_over_max_payload_size_is_413_with_the_rfc_detail(app, scim):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    operations = [post_user(f"u{i}", f"u{i}@example.com") for i in range(30)]
    rv = bulk(scim, *operations)
    assert rv.status_code == 413
    assert rv.get_json() == {
        "schemas": [ERROR],
        "status": "413",
        "detail": "The size of the bulk operation exceeds the maxPayloadSize (2000).",
    }
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_service_provider_config_advertises_bulk_and_its_limits(app, scim):
    body = scim.get("/ServiceProviderConfig").get_json()
    assert body["bulk"] == {
        "supported": True,
        "maxOperations": 1000,
        "maxPayloadSize": app.config["MAX_CONTENT_LENGTH"],
    }


def test_each_operation_has_its_own_log_row_linked_to_the_bulk_row_and_passwords_are_redacted(
    scim, logged
):
    secret = "S3cret-Passw0rd!"
    rv = bulk(
        scim,
        post_user("u", "jack@example.com", password=secret),
        post_group("g", "Crew", [{"value": "bulkId:u"}]),
    )
    assert [r["status"] for r in results(rv)] == ["201", "201"]
    rows = logged()
    (parent,) = [r for r in rows if r.path == "/scim/v2/Bulk"]
    assert (parent.resource_type, parent.operation) == ("Bulk", "bulk")
    assert parent.bulk_request_id == parent.request_id
    children = [r for r in rows if r.bulk_request_id == parent.request_id and r is not parent]
    children = [r for r in children if r.id != parent.id]
    assert [(r.method, r.path, r.status_code) for r in children] == [
        ("POST", "/scim/v2/Users", 201),
        ("POST", "/scim/v2/Groups", 201),
    ]
    assert len({r.request_id for r in children} | {parent.request_id}) == 3
    for row in rows:
        assert secret not in json.dumps(
            [row.request_body, row.response_body, row.request_headers, row.query_string]
        )
    assert "password" in children[0].request_body  # the key is kept, its value is not


def test_each_operation_emits_its_events_under_its_own_request_id(app, scim, logged):
    rv = bulk(
        scim,
        post_user("u", "kate@example.com"),
        post_group("g", "Pilots", [{"value": "bulkId:u"}]),
    )
    assert [r["status"] for r in results(rv)] == ["201", "201"]
    rows = [r for r in logged() if r.method == "POST" and r.path != "/scim/v2/Bulk"]
    with app.app_context():
        events = db.session.execute(sa.select(Event.request_id, Event.type)).all()
    by_request: dict[str, set[str]] = {}
    for request_id, kind in events:
        by_request.setdefault(request_id, set()).add(kind)
    assert set(by_request) == {r.request_id for r in rows}
    assert "user.created" in by_request[rows[0].request_id]
    assert "group.created" in by_request[rows[1].request_id]


def test_the_log_page_of_a_bulk_request_lists_its_operations_and_each_links_back(
    client, console, scim, logged
):
    rv = bulk(scim, post_user("u", "liam@example.com"), post_group("g", "Divers"))
    assert [r["status"] for r in results(rv)] == ["201", "201"]
    rows = logged()
    (parent,) = [r for r in rows if r.path == "/scim/v2/Bulk"]
    children = [r for r in rows if r.bulk_request_id and r.id != parent.id]
    console.login()
    page = client.get(f"/monitor/scim-logs/{parent.id}").get_data(as_text=True)
    assert 'id="bulk-operations"' in page
    for child in children:
        assert f'href="/monitor/scim-logs/{child.id}"' in page
        child_page = client.get(f"/monitor/scim-logs/{child.id}").get_data(as_text=True)
        assert f'id="bulk-parent-link" href="/monitor/scim-logs/{parent.id}"' in child_page
    listed = client.get("/monitor/scim-logs", query_string={"resource_type": "Bulk"})
    assert listed.status_code == 200
    assert f"/monitor/scim-logs/{parent.id}" in listed.get_data(as_text=True)


MALFORMED = [
    [],
    "text",
    {},
    {"schemas": [BULK]},
    {"schemas": "x", "Operations": []},
    {"schemas": [BULK], "Operations": {}},
    {"schemas": [BULK], "Operations": [None]},
    {"schemas": [BULK], "Operations": [1]},
    {"schemas": [BULK], "Operations": [{}]},
    {"schemas": [BULK], "Operations": [{"method": "GET", "path": "/Users"}]},
    {"schemas": [BULK], "Operations": [{"method": 1, "path": "/Users"}]},
    {"schemas": [BULK], "Operations": [{"method": "POST", "path": "/Users", "data": {}}]},
    {"schemas": [BULK], "Operations": [{"method": "POST", "path": "/Users/1", "bulkId": "a"}]},
    {"schemas": [BULK], "Operations": [{"method": "POST", "path": "/Other", "bulkId": "a"}]},
    {"schemas": [BULK], "Operations": [{"method": "POST", "path": None, "bulkId": "a"}]},
    {"schemas": [BULK], "Operations": [{"method": "DELETE", "path": "/Users"}]},
    {"schemas": [BULK], "Operations": [{"method": "PUT", "path": "/Users/x", "data": []}]},
    {"schemas": [BULK], "Operations": [{"method": "POST", "path": "/Users", "bulkId": ""}]},
    {"schemas": [BULK], "Operations": [{"method": "POST", "path": "/Users", "bulkId": 7}]},
    {"schemas": [BULK], "Operations": [], "failOnErrors": 0},
    {"schemas": [BULK], "Operations": [], "failOnErrors": "1"},
    {"schemas": [BULK], "Operations": [], "failOnErrors": True},
    {
        "schemas": [BULK],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a"}},
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "b"}},
        ],
    },
    {"schemas": [BULK], "Operations": [{"method": "DELETE", "path": "/Users/x", "version": 1}]},
]


@pytest.mark.parametrize("body", MALFORMED)
def test_a_malformed_bulk_request_is_400_and_runs_nothing(scim, body):
    rv = scim.post("/Bulk", body)
    assert rv.status_code == 400, rv.get_json()
    error = rv.get_json()
    assert error["schemas"] == [ERROR]
    assert error["scimType"] in ("invalidSyntax", "invalidValue")
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_a_body_that_is_not_json_is_400(scim):
    rv = scim.client.post(
        "/scim/v2/Bulk", data=b"{not json", headers=scim.headers({"Content-Type": SCIM_TYPE})
    )
    assert rv.status_code == 400
    assert rv.get_json()["scimType"] == "invalidSyntax"


SCIM_TYPE = "application/scim+json"
