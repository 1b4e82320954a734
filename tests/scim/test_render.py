"""Pure tests of projection (RFC 7644 §3.4.2.5) and list parameters (§3.4.2.4)."""

from __future__ import annotations

import pytest

from willow.scim.protocol.errors import InvalidValue
from willow.scim.protocol.listing import build_query
from willow.scim.protocol.render import Projection

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#: RFC 7643 §3: "schemas" names the schemas of the attributes present, so a projection
#: without extension attributes drops the extension's URN.
CORE_ONLY = ["urn:ietf:params:scim:schemas:core:2.0:User"]
USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    "id": "u1",
    "userName": "a@b.c",
    "name": {"givenName": "A", "familyName": "B"},
    "emails": [{"value": "a@b.c", "type": "work", "primary": True}, {"value": "x@y.z"}],
    ENTERPRISE: {"department": "R&D", "manager": {"value": "m1", "displayName": "Boss"}},
    "meta": {"resourceType": "User"},
}


@pytest.mark.parametrize(
    ("attributes", "excluded", "expected"),
    [
        (None, None, USER),
        (["userName"], None, {"schemas": CORE_ONLY, "id": "u1", "userName": "a@b.c"}),
        (
            ["USERNAME", "name.givenName"],
            None,
            {
                "schemas": CORE_ONLY,
                "id": "u1",
                "userName": "a@b.c",
                "name": {"givenName": "A"},
            },
        ),
        (
            ["emails.value"],
            None,
            {
                "schemas": CORE_ONLY,
                "id": "u1",
                "emails": [{"value": "a@b.c"}, {"value": "x@y.z"}],
            },
        ),
        (
            [f"{ENTERPRISE}:department"],
            None,
            {"schemas": USER["schemas"], "id": "u1", ENTERPRISE: {"department": "R&D"}},
        ),
        (
            [f"{ENTERPRISE}:manager.displayName"],
            None,
            {
                "schemas": USER["schemas"],
                "id": "u1",
                ENTERPRISE: {"manager": {"displayName": "Boss"}},
            },
        ),
        (
            [ENTERPRISE],
            None,
            {"schemas": USER["schemas"], "id": "u1", ENTERPRISE: USER[ENTERPRISE]},
        ),
        (["nosuch"], None, {"schemas": CORE_ONLY, "id": "u1"}),
        (
            None,
            ["emails", "meta", "id"],
            {k: v for k, v in USER.items() if k not in ("emails", "meta")},
        ),
        (None, ["name.familyName"], {**USER, "name": {"givenName": "A"}}),
        (
            None,
            [ENTERPRISE],
            {
                "schemas": CORE_ONLY,
                **{k: v for k, v in USER.items() if k not in ("schemas", ENTERPRISE)},
            },
        ),
        (
            None,
            [f"{ENTERPRISE}:department", f"{ENTERPRISE}:manager"],
            {
                "schemas": CORE_ONLY,
                **{k: v for k, v in USER.items() if k not in ("schemas", ENTERPRISE)},
            },
        ),
    ],
)
def test_projection(attributes, excluded, expected):
    assert Projection("User", attributes, excluded).apply(dict(USER)) == expected


def test_projection_tells_whether_members_are_needed():
    assert Projection("Group").wants("members")
    assert not Projection("Group", excluded=["members"]).wants("members")
    assert not Projection("Group", attributes=["displayName"]).wants("members")
    assert Projection("Group", attributes=["members.value"]).wants("members")


@pytest.mark.parametrize(
    ("params", "start", "count"),
    [
        ({}, 1, 1000),
        ({"startIndex": "0", "count": "5"}, 1, 5),
        ({"STARTINDEX": "7", "Count": "-1"}, 7, 0),
        ({"count": "5000"}, 1, 1000),
        ({"startIndex": 3, "count": 2}, 3, 2),
    ],
)
def test_build_query_paging(params, start, count):
    query = build_query(params, 1000)
    assert (query.start_index, query.count) == (start, count)


@pytest.mark.parametrize(
    "params",
    [
        {"count": "ten"},
        {"startIndex": "1.5"},
        {"sortOrder": "up"},
        {"count": True},
        {"attributes": 5},
        {"filter": 3},
    ],
)
def test_build_query_rejects_bad_values(params):
    with pytest.raises(InvalidValue):
        build_query(params, 1000)


def test_build_query_reads_attribute_lists_from_strings_and_lists():
    assert build_query({"attributes": "userName, name.givenName"}, 10).attributes == (
        "userName",
        "name.givenName",
    )
    assert build_query({"excludedAttributes": ["members"]}, 10).excluded_attributes == ("members",)
    assert build_query({"sortOrder": "Descending", "sortBy": "userName"}, 10).descending
