"""Group PATCH planner: operations → membership deltas (pure; no app needed)."""

from __future__ import annotations

import pytest

from willow.scim.protocol.errors import InvalidPath
from willow.scim.protocol.errors import InvalidValue
from willow.scim.protocol.errors import Mutability
from willow.scim.protocol.errors import NoTarget
from willow.scim.protocol.group_patch import AddMembers
from willow.scim.protocol.group_patch import ClearMembers
from willow.scim.protocol.group_patch import RemoveMembers
from willow.scim.protocol.group_patch import ReplaceMembers
from willow.scim.protocol.group_patch import SetAttribute
from willow.scim.protocol.group_patch import plan_group_patch
from willow.scim.protocol.messages import PatchOperation as Op
from willow.scim.protocol.messages import load_patch_request

GROUP_ID = "abf4dd94-a4c0-4f67-89c9-76b03340cb9b"
U1 = "23a35c27-23d3-4c03-b4c5-6443c09e7173"
U2 = "89bb1940-b905-4575-9e7f-6f887cfb368e"
U3 = "f648f8d5ea4e4cd38e9c"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"


@pytest.mark.parametrize(
    ("operations", "steps"),
    [
        pytest.param(
            [Op("add", "members", [{"value": U1, "display": "test.user@okta.local"}])],
            [AddMembers([U1])],
            id="okta: add one member with display, no type",
        ),
        pytest.param(
            [
                Op("remove", f'members[value eq "{U2}"]'),
                Op("add", "members", [{"value": U1, "display": "t"}]),
            ],
            [RemoveMembers([U2]), AddMembers([U1])],
            id="okta group push: filter remove then add, in order",
        ),
        pytest.param(
            [Op("add", "members", [{"$ref": None, "value": U3}, {"$ref": None, "value": U1}])],
            [AddMembers([U3, U1])],
            id="entra: add several with $ref null",
        ),
        pytest.param(
            [Op("add", "members", [{"value": U1}])],
            [AddMembers([U1])],
            id="jumpcloud: minimal member object",
        ),
        pytest.param(
            [Op("add", "members", {"value": U1, "type": "User"})],
            [AddMembers([U1])],
            id="a single member object instead of a list",
        ),
        pytest.param(
            [Op("add", "members", [{"value": U1}, {"value": U2}, {"value": U1}])],
            [AddMembers([U1, U2])],
            id="repeated ids in one add are deduplicated",
        ),
        pytest.param(
            [Op("remove", "members", [{"$ref": None, "value": U3}])],
            [RemoveMembers([U3])],
            id="entra default: remove with a value list removes only those",
        ),
        pytest.param(
            [Op("remove", "members", [{"value": U1}, {"value": U2}])],
            [RemoveMembers([U1, U2])],
            id="jumpcloud: remove several with a value list",
        ),
        pytest.param(
            [Op("remove", "members", [])],
            [],
            id="remove with an empty list removes nothing (never clears)",
        ),
        pytest.param(
            [Op("remove", "members")],
            [ClearMembers()],
            id="remove members without value clears the group (RFC)",
        ),
        pytest.param(
            [Op("remove", f'members[value eq "{U1}" or value eq "{U2}"]')],
            [RemoveMembers([U1, U2])],
            id="or of several value eq",
        ),
        pytest.param(
            [Op("remove", f"members[VALUE EQ {U3}]")],
            [RemoveMembers([U3])],
            id="filter keywords in any case, unquoted id",
        ),
        pytest.param(
            [Op("replace", "members", [{"value": U1}, {"value": U2}])],
            [ReplaceMembers([U1, U2])],
            id="okta full push: replace the list",
        ),
        pytest.param(
            [Op("replace", "members", [])],
            [ReplaceMembers([])],
            id="okta push of an empty group: replace with []",
        ),
        pytest.param(
            [Op("replace", "members", None)],
            [ReplaceMembers([])],
            id="replace with null empties the group",
        ),
        pytest.param(
            [Op("add", "members", [])],
            [],
            id="add of no members changes nothing",
        ),
        pytest.param(
            [Op("replace", None, {"id": GROUP_ID, "displayName": "Test SCIMv2"})],
            [SetAttribute("displayName", "Test SCIMv2")],
            id="okta rename: no-path value with the group's own id",
        ),
        pytest.param(
            [Op("replace", "displayName", "Renamed")],
            [SetAttribute("displayName", "Renamed")],
            id="entra rename: path displayName",
        ),
        pytest.param(
            [Op("replace", None, {"externalId": "e-1"})],
            [SetAttribute("externalId", "e-1")],
            id="entra validator: no-path externalId",
        ),
        pytest.param(
            [Op("add", "externalId", "e-2")],
            [SetAttribute("externalId", "e-2")],
            id="add externalId with a path",
        ),
        pytest.param(
            [Op("remove", "externalId")],
            [SetAttribute("externalId", None)],
            id="remove externalId",
        ),
        pytest.param(
            [Op("replace", None, {"externalId": None})],
            [SetAttribute("externalId", None)],
            id="replace externalId with null clears it",
        ),
        pytest.param(
            [Op("replace", None, {"members": [{"value": U1}]})],
            [ReplaceMembers([U1])],
            id="no-path replace of members",
        ),
        pytest.param(
            [Op("add", None, {"members": [{"value": U2}], "DisplayName": "G"})],
            [AddMembers([U2]), SetAttribute("displayName", "G")],
            id="no-path add of members and displayName, keys in any case",
        ),
        pytest.param(
            [Op("replace", f"{GROUP_URN}:displayName", "G")],
            [SetAttribute("displayName", "G")],
            id="core urn-prefixed path",
        ),
        pytest.param(
            [Op("replace", None, {GROUP_URN: {"displayName": "G"}})],
            [SetAttribute("displayName", "G")],
            id="no-path core urn object",
        ),
        pytest.param(
            [
                Op(
                    "replace",
                    None,
                    {
                        "schemas": [GROUP_URN],
                        "meta": {"resourceType": "Group"},
                        "urn:okta:custom:group:1.0:description": "d",
                        "displayName": "G",
                    },
                ),
                Op("add", "urn:okta:custom:group:1.0:description", "d"),
            ],
            [SetAttribute("displayName", "G")],
            id="schemas, meta and unknown extensions ignored",
        ),
        pytest.param(
            [Op("replace", "id", GROUP_ID)],
            [],
            id="path id equal to the group's id ignored",
        ),
    ],
)
def test_operations_plan_into_steps(operations, steps):
    assert plan_group_patch(GROUP_ID, operations).steps == steps


@pytest.mark.parametrize(
    ("body", "steps"),
    [
        pytest.param(
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "Add", "path": "members", "value": [{"$ref": None, "value": U3}]},
                    {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": U1}]},
                    {"op": "Replace", "path": "displayName", "value": "1879db59-3bdf"},
                ],
            },
            [AddMembers([U3]), RemoveMembers([U1]), SetAttribute("displayName", "1879db59-3bdf")],
            id="entra: capitalised ops end to end",
        ),
        pytest.param(
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "remove", "path": f'members[value eq "{U2}"]'},
                    {"op": "add", "path": "members", "value": [{"value": U1, "display": "t"}]},
                    {"op": "replace", "value": {"id": GROUP_ID, "displayName": "Test SCIMv2"}},
                ],
            },
            [RemoveMembers([U2]), AddMembers([U1]), SetAttribute("displayName", "Test SCIMv2")],
            id="okta group push with the rename it sends along",
        ),
    ],
)
def test_idp_requests_plan_end_to_end(body, steps):
    operations, _ = load_patch_request(body)
    assert plan_group_patch(GROUP_ID, operations).steps == steps


@pytest.mark.parametrize(
    ("operations", "note"),
    [
        ([Op("replace", None, {"id": GROUP_ID})], "id equal to the group's id ignored"),
        (
            [Op("replace", None, {"id": GROUP_ID, "displayName": "G"})],
            "no-path replace read as replace of id, displayName",
        ),
        (
            [Op("remove", "members", [{"value": U1}])],
            "remove of members with a value list removes only those members",
        ),
        ([Op("remove", "members")], "remove of members without a value removes every member"),
        ([Op("remove", "members", [])], "remove of members with an empty list removes nothing"),
        (
            [Op("add", "members", [{"value": U1}, {"value": U1}])],
            "repeated member ids counted once",
        ),
        ([Op("add", "members", {"value": U1})], "single members value wrapped in a list"),
        (
            [Op("add", "urn:okta:custom:group:1.0:description", "d")],
            "unknown extension urn:okta:custom:group:1.0 ignored",
        ),
        ([Op("replace", None, {"meta": {}})], "meta in a group patch ignored"),
    ],
)
def test_each_reading_leaves_a_note(operations, note):
    assert note in plan_group_patch(GROUP_ID, operations).notes


@pytest.mark.parametrize(
    ("operations", "error", "named"),
    [
        ([Op("remove", None)], NoTarget, "path"),
        ([Op("replace", None, "G")], InvalidValue, "object"),
        ([Op("add", "members", [{"display": "no value"}])], InvalidValue, "value"),
        ([Op("add", "members", [{"value": ""}])], InvalidValue, "value"),
        ([Op("add", "members", [U1])], InvalidValue, "members"),
        ([Op("add", "members", U1)], InvalidValue, "members"),
        ([Op("remove", "members", [{"$ref": None}])], InvalidValue, "value"),
        ([Op("replace", "members", [{"value": 7}])], InvalidValue, "value"),
        ([Op("remove", "displayName")], Mutability, "displayName"),
        ([Op("replace", "displayName", None)], Mutability, "displayName"),
        ([Op("replace", None, {"displayName": None})], Mutability, "displayName"),
        ([Op("replace", "displayName", "")], InvalidValue, "displayName"),
        ([Op("replace", "displayName", 5)], InvalidValue, "displayName"),
        ([Op("replace", "externalId", 5)], InvalidValue, "externalId"),
        ([Op("replace", None, {"id": "another-id", "displayName": "G"})], Mutability, "id"),
        ([Op("replace", "id", "another-id")], Mutability, "id"),
        ([Op("remove", "id")], Mutability, "id"),
        ([Op("replace", "description", "d")], InvalidPath, "description"),
        ([Op("replace", None, {"owner": "x"})], InvalidPath, "owner"),
        ([Op("remove", 'members[display eq "alice"]')], InvalidPath, "value eq"),
        ([Op("remove", f'members[value ne "{U1}"]')], InvalidPath, "value eq"),
        ([Op("remove", f'members[value eq "{U1}" and value eq "{U2}"]')], InvalidPath, "value eq"),
        ([Op("add", f'members[value eq "{U1}"]', [{"value": U1}])], InvalidPath, "remove"),
        ([Op("remove", f'members[value eq "{U1}"].display')], InvalidPath, "sub-attributes"),
        ([Op("replace", "displayName.x", "G")], InvalidPath, "displayName"),
        ([Op("remove", "members[value eq")], InvalidPath, "position"),
        ([Op("remove", GROUP_URN)], Mutability, "Group"),
    ],
)
def test_operations_that_cannot_be_planned_are_refused(operations, error, named):
    with pytest.raises(error) as info:
        plan_group_patch(GROUP_ID, operations)
    assert named in info.value.detail


def test_a_plan_never_clears_the_group_for_a_listed_remove():
    """Entra's remove with a value list must not become 'remove all' (idp-traffic §3.4)."""
    for value in ([{"value": U1}], [], {"value": U1}):
        steps = plan_group_patch(GROUP_ID, [Op("remove", "members", value)]).steps
        assert not any(isinstance(step, ClearMembers | ReplaceMembers) for step in steps)
