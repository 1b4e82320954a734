"""The pure rules of /Bulk (willow/scim/protocol/bulk.py): reading a BulkRequest, bulkId
references, the order operations run in; and a fuzz of malformed requests over HTTP."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from willow.scim.protocol import bulk
from willow.scim.protocol.errors import InvalidSyntax
from willow.scim.protocol.errors import InvalidValue
from willow.scim.protocol.errors import ScimError

BULK = bulk.BULK_REQUEST_SCHEMA


def request(*operations, **extra) -> bulk.BulkRequest:
    return bulk.load_bulk_request({"schemas": [BULK], "Operations": list(operations), **extra})


def post(bulk_id: str, collection: str = "Groups", **data) -> dict:
    return {"method": "POST", "path": f"/{collection}", "bulkId": bulk_id, "data": data}


def members(*bulk_ids: str) -> list[dict]:
    return [{"value": f"bulkId:{b}"} for b in bulk_ids]


def kinds(steps) -> list[tuple[str, str | None]]:
    return [(s.kind, s.op.bulk_id or s.op.path) for s in steps]


def test_keys_are_case_insensitive_and_methods_are_upper_cased():
    message = bulk.load_bulk_request(
        {
            "SCHEMAS": [BULK.upper()],
            "operations": [{"Method": "delete", "PATH": "/users/abc"}],
            "FailOnErrors": 2,
        }
    )
    (op,) = message.operations
    assert (op.method, op.collection, op.target, op.path) == (
        "DELETE",
        "Users",
        "abc",
        "/Users/abc",
    )
    assert message.fail_on_errors == 2


def test_the_operation_count_is_checked_before_anything_else_is_read():
    with pytest.raises(bulk.BulkTooLarge) as caught:
        bulk.load_bulk_request({"Operations": [None] * 3}, max_operations=2)
    assert caught.value.detail == "The number of operations exceeds the maxOperations (2)."
    assert caught.value.status == 413 and caught.value.scim_type is None


def test_references_are_read_from_the_path_and_every_value_attribute():
    op = request(
        {
            "method": "PATCH",
            "path": "/Groups/bulkId:g",
            "data": {
                "Operations": [
                    {"op": "add", "path": "members", "value": members("a", "b")},
                    {"op": "replace", "path": "x", "value": "bulkId:c"},
                ],
                "displayName": "bulkId:not-a-reference",
            },
        },
        post("g"),
        post("a"),
        post("b"),
        post("c"),
    ).operations[0]
    assert bulk.references(op) == {"g", "a", "b", "c"}
    path, data = bulk.resolve(op, {"g": "G1", "a": "A1", "b": "B1", "c": "C1"})
    assert path == "/Groups/G1"
    assert data["Operations"][0]["value"] == [{"value": "A1"}, {"value": "B1"}]
    assert data["Operations"][1]["value"] == "C1"
    assert data["displayName"] == "bulkId:not-a-reference"


def test_an_operation_runs_after_the_posts_it_refers_to_and_otherwise_in_request_order():
    message = request(
        post("group", members=members("user")),
        {"method": "DELETE", "path": "/Users/old"},
        post("user", "Users", userName="u"),
    )
    assert kinds(bulk.plan(message)) == [
        ("run", "/Users/old"),
        ("run", "user"),
        ("run", "group"),
    ]


def test_a_cycle_of_group_members_is_broken_at_its_first_group_and_completed_last():
    message = request(
        post("a", members=members("b")),
        post("b", members=members("c")),
        post("c", members=members("a")),
    )
    steps = bulk.plan(message)
    assert kinds(steps) == [("run", "a"), ("run", "c"), ("run", "b"), ("complete", "a")]
    assert steps[0].defer == {"b"} and steps[-1].defer == {"b"}
    data, deferred = bulk.without_members(steps[0].op.data, steps[0].defer)
    assert data["members"] == [] and deferred == members("b")


def test_a_cycle_outside_group_members_is_refused_and_so_is_what_waits_for_it():
    manager = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    message = request(
        post("x", "Users", **{manager: {"manager": {"value": "bulkId:y"}}}),
        post("y", "Users", **{manager: {"manager": {"value": "bulkId:x"}}}),
        post("g", members=members("x")),
    )
    assert kinds(bulk.plan(message)) == [("circular", "x"), ("circular", "y"), ("circular", "g")]


def test_an_undefined_or_self_reference_is_refused_and_what_refers_to_it_still_gets_a_turn():
    message = request(
        post("a", members=members("ghost")),
        post("self", members=members("self")),
        post("b", members=members("a")),
    )
    assert kinds(bulk.plan(message)) == [("unknown", "a"), ("unknown", "self"), ("run", "b")]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"schemas": [BULK], "Operations": [{"method": "POST", "path": "/Users"}]}, InvalidValue),
        ({"schemas": [BULK], "Operations": [post("a", data=None) | {"data": 1}]}, InvalidSyntax),
        (
            {"schemas": [BULK], "Operations": [{"method": "PUT", "path": "/Users/bulkId:"}]},
            InvalidValue,
        ),
        ({"schemas": [BULK], "Operations": [post("a" * 201)]}, InvalidValue),
        ({"schemas": [BULK], "Operations": [post("a"), post("a")]}, InvalidValue),
        ({"schemas": [], "Operations": []}, InvalidSyntax),
    ],
)
def test_a_malformed_request_is_refused_whole_with_its_scim_type(body, error):
    with pytest.raises(error):
        bulk.load_bulk_request(body)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
OPERATION = st.fixed_dictionaries(
    {},
    optional={
        "method": st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET", "post", ""]) | JSON,
        "path": st.sampled_from(
            ["/Users", "/Groups", "/Users/x", "/Groups/bulkId:a", "/Users/bulkId:", "/Bulk", ""]
        )
        | JSON,
        "bulkId": st.sampled_from(["a", "b", ""]) | JSON,
        "version": st.just('W/"1"') | JSON,
        "data": st.fixed_dictionaries(
            {},
            optional={
                "userName": st.text(max_size=5),
                "displayName": st.text(max_size=5),
                "members": st.lists(
                    st.fixed_dictionaries(
                        {"value": st.sampled_from(["bulkId:a", "bulkId:b", "x"])}
                    ),
                    max_size=2,
                ),
            },
        )
        | JSON,
    },
)
BULK_BODY = st.fixed_dictionaries(
    {"schemas": st.just([BULK]) | JSON, "Operations": st.lists(OPERATION, max_size=4) | JSON},
    optional={"failOnErrors": st.integers(-1, 3) | JSON},
)


@given(BULK_BODY | JSON)
def test_reading_and_planning_any_body_raises_nothing_but_a_scim_error(body):
    try:
        message = bulk.load_bulk_request(body)
    except ScimError as exc:
        assert 400 <= exc.status < 500
        return
    steps = bulk.plan(message)
    first = [s.op.index for s in steps if s.kind != "complete"]
    assert sorted(first) == list(range(len(message.operations)))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BULK_BODY)
def test_no_bulk_request_is_answered_500(scim, body):
    rv = scim.post("/Bulk", body)
    assert rv.status_code in (200, 400), rv.get_json()
    answer = rv.get_json()
    if rv.status_code == 200:
        for result in answer["Operations"]:
            assert int(result["status"]) < 500, result
