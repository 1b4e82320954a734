"""PatchOp and SearchRequest envelopes (pure; no app needed)."""

from __future__ import annotations

import pytest

from willow.scim.protocol.errors import InvalidSyntax
from willow.scim.protocol.errors import InvalidValue
from willow.scim.protocol.messages import PatchOperation
from willow.scim.protocol.messages import SearchRequest
from willow.scim.protocol.messages import load_patch_request
from willow.scim.protocol.messages import load_search_request

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def _patch(*operations, schemas=(PATCH_OP,)):
    return {"schemas": list(schemas), "Operations": list(operations)}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            _patch({"op": "replace", "value": {"active": False}}),
            [PatchOperation("replace", None, {"active": False})],
            id="okta deactivate: no path",
        ),
        pytest.param(
            _patch(
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "x@y.z"},
                {"op": "Replace", "path": "name.familyName", "value": "F"},
            ),
            [
                PatchOperation("replace", 'emails[type eq "work"].value', "x@y.z"),
                PatchOperation("replace", "name.familyName", "F"),
            ],
            id="entra: capitalised ops, order kept",
        ),
        pytest.param(
            _patch({"op": "Replace", "path": "active", "value": "False"}),
            [PatchOperation("replace", "active", "False")],
            id="entra: string value left to the patch engine",
        ),
        pytest.param(
            _patch(
                {"op": "remove", "path": 'members[value eq "89bb"]'},
                {"op": "add", "path": "members", "value": [{"value": "23a3", "display": "t"}]},
            ),
            [
                PatchOperation("remove", 'members[value eq "89bb"]', None),
                PatchOperation("add", "members", [{"value": "23a3", "display": "t"}]),
            ],
            id="okta group push: remove without value",
        ),
        pytest.param(
            _patch({"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "f6"}]}),
            [PatchOperation("remove", "members", [{"$ref": None, "value": "f6"}])],
            id="entra: remove with a value list",
        ),
        pytest.param(
            _patch({"OP": "add", "Path": " displayName ", "VALUE": "G"}),
            [PatchOperation("add", "displayName", "G")],
            id="operation keys case-insensitive, path trimmed",
        ),
        pytest.param(
            {"schemas": [PATCH_OP], "operations": [{"op": "replace", "path": "x", "value": None}]},
            [PatchOperation("replace", "x", None)],
            id="lower-case Operations key; explicit null value",
        ),
        pytest.param(
            {"Operations": [{"op": "add", "path": "", "value": {"title": "T"}}]},
            [PatchOperation("add", None, {"title": "T"})],
            id="schemas missing; blank path read as none",
        ),
        pytest.param(
            _patch({"op": "add", "path": "title", "value": "T", "extra": 1}, schemas=()),
            [PatchOperation("add", "title", "T")],
            id="unknown operation key ignored",
        ),
        pytest.param(
            {"schemas": PATCH_OP, "Operations": [{"op": "remove", "path": "title"}]},
            [PatchOperation("remove", "title", None)],
            id="schemas as one string",
        ),
    ],
)
def test_patch_request_loads_into_operations(body, expected):
    operations, _ = load_patch_request(body)
    assert operations == expected


@pytest.mark.parametrize(
    ("body", "notes"),
    [
        (_patch({"op": "replace", "path": "a", "value": 1}), []),
        (
            _patch(
                {"op": "Replace", "path": "a", "value": 1}, {"op": "Add", "path": "b", "value": 2}
            ),
            ['op "Replace" read as "replace"', 'op "Add" read as "add"'],
        ),
        (
            _patch({"op": "Remove", "path": "a"}, {"op": "Remove", "path": "b"}),
            ['op "Remove" read as "remove"'],
        ),
        ({"Operations": [{"op": "remove", "path": "a"}]}, ["schemas missing: read as PatchOp"]),
        (
            _patch({"op": "remove", "path": "a"}, schemas=["urn:x"]),
            ["schemas does not name PatchOp: read as PatchOp"],
        ),
        (_patch({"op": "add", "path": " ", "value": {}}), ["empty path read as no path"]),
    ],
)
def test_patch_request_notes_how_it_was_read(body, notes):
    _, rv = load_patch_request(body)
    assert rv == notes


@pytest.mark.parametrize(
    ("body", "error", "named"),
    [
        ("not an object", InvalidSyntax, "object"),
        ([{"op": "add"}], InvalidSyntax, "object"),
        ({"schemas": [PATCH_OP]}, InvalidSyntax, "Operations"),
        (_patch(), InvalidSyntax, "Operations"),
        ({"schemas": [PATCH_OP], "Operations": {"op": "add"}}, InvalidSyntax, "Operations"),
        ({"schemas": 7, "Operations": [{"op": "remove", "path": "a"}]}, InvalidSyntax, "schemas"),
        ({"schemas": [1], "Operations": [{"op": "remove", "path": "a"}]}, InvalidSyntax, "schemas"),
        (_patch("add"), InvalidSyntax, "Operations.0"),
        (_patch({"path": "a", "value": 1}), InvalidSyntax, "Operations.0.op"),
        (_patch({"op": "merge", "path": "a", "value": 1}), InvalidSyntax, "merge"),
        (_patch({"op": 3, "path": "a", "value": 1}), InvalidSyntax, "op"),
        (_patch({"op": "add", "path": 3, "value": 1}), InvalidSyntax, "path"),
        (_patch({"op": "add", "path": "a"}), InvalidValue, "value"),
        (_patch({"op": "Replace", "path": "a"}), InvalidValue, "value"),
        (_patch({"op": "add", "Op": "remove", "path": "a"}), InvalidSyntax, "op"),
        (
            {"schemas": [PATCH_OP], "Operations": [], "operations": [{"op": "remove"}]},
            InvalidSyntax,
            "Operations",
        ),
    ],
)
def test_malformed_patch_requests_are_refused(body, error, named):
    with pytest.raises(error) as info:
        load_patch_request(body)
    assert named in info.value.detail


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"schemas": [SEARCH]}, SearchRequest(), id="empty"),
        pytest.param({}, SearchRequest(), id="schemas missing"),
        pytest.param(
            {
                "schemas": [SEARCH],
                "attributes": ["displayName", "userName"],
                "excludedAttributes": ["members"],
                "filter": 'userName eq "a"',
                "sortBy": "userName",
                "sortOrder": "descending",
                "startIndex": 1,
                "count": 10,
            },
            SearchRequest(
                attributes=("displayName", "userName"),
                excluded_attributes=("members",),
                filter='userName eq "a"',
                sort_by="userName",
                sort_order="descending",
                start_index=1,
                count=10,
            ),
            id="RFC 7644 §3.4.3 example shape",
        ),
        pytest.param(
            {"attributes": "userName, emails ,", "EXCLUDEDATTRIBUTES": "members"},
            SearchRequest(attributes=("userName", "emails"), excluded_attributes=("members",)),
            id="comma strings; keys case-insensitive",
        ),
        pytest.param(
            {"sortOrder": "Ascending", "startIndex": "5", "count": 0, "filter": "  "},
            SearchRequest(sort_order="ascending", start_index=5, count=0),
            id="numeric strings read as integers; blank filter is none",
        ),
        pytest.param(
            {"startIndex": -3, "count": -1, "attributes": None, "sortBy": None},
            SearchRequest(start_index=-3, count=-1),
            id="paging values passed as sent (the listing applies the rules)",
        ),
        pytest.param(
            {"count": 10.0, "unknown": [1, 2]},
            SearchRequest(count=10),
            id="whole float accepted; unknown keys ignored",
        ),
    ],
)
def test_search_request_loads(body, expected):
    assert load_search_request(body) == expected


@pytest.mark.parametrize(
    ("body", "error", "named"),
    [
        ("filter=x", InvalidSyntax, "object"),
        ({"schemas": {"a": 1}}, InvalidSyntax, "schemas"),
        ({"count": "ten"}, InvalidValue, "count"),
        ({"count": 10.5}, InvalidValue, "count"),
        ({"count": True}, InvalidValue, "count"),
        ({"startIndex": [1]}, InvalidValue, "startIndex"),
        ({"sortOrder": "up"}, InvalidValue, "sortOrder"),
        ({"sortOrder": 1}, InvalidValue, "sortOrder"),
        ({"filter": ["userName eq 1"]}, InvalidValue, "filter"),
        ({"attributes": [1, 2]}, InvalidValue, "attributes"),
        ({"excludedAttributes": {"members": True}}, InvalidValue, "excludedAttributes"),
        ({"sortBy": 5}, InvalidValue, "sortBy"),
    ],
)
def test_malformed_search_requests_are_refused(body, error, named):
    with pytest.raises(error) as info:
        load_search_request(body)
    assert named in info.value.detail


_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [_PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
        {"schemas": [_PATCH], "Operations": [{"op": "add", "path": "members", "value": []}]},
        {"schemas": [_PATCH], "Operations": [{"op": "remove", "path": 'members[value eq "x"]'}]},
        {"schemas": [_PATCH], "Operations": [{"op": "add", "path": "title", "value": None}]},
        {
            "schemas": [_PATCH],
            "Operations": [
                {"op": "replace", "path": "name.givenName", "value": "A"},
                {"op": "remove", "path": "title", "value": "ignored"},
            ],
        },
    ],
)
def test_a_canonical_patch_request_reads_as_the_schema_reads_it(body):
    from willow.scim.protocol import messages

    expected = messages._load(
        messages.patch_request_schema, body, [], "PatchOp request", InvalidSyntax
    )
    assert messages._canonical_patch(body) == expected
    assert load_patch_request(body) == (expected, [])


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [_PATCH], "Operations": [{"op": "Replace", "value": {"active": False}}]},
        {"schemas": [_PATCH], "operations": [{"op": "replace", "value": {}}]},
        {"Operations": [{"op": "replace", "value": {}}]},
        {"schemas": [_PATCH], "Operations": [{"op": "replace"}]},
        {"schemas": [_PATCH], "Operations": [{"op": "add", "path": " title ", "value": 1}]},
        {"schemas": [_PATCH], "Operations": [{"op": "add", "path": "", "value": 1}]},
        {"schemas": [_PATCH], "Operations": []},
        {"schemas": [_PATCH.upper()], "Operations": [{"op": "add", "value": {}}]},
        {"schemas": [_PATCH], "Operations": [{"op": "add", "value": {}, "extra": 1}]},
    ],
)
def test_anything_else_is_left_to_the_schema(body):
    from willow.scim.protocol import messages

    assert messages._canonical_patch(body) is None
