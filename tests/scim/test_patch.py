"""User PATCH engine (RFC 7644 §3.5.2) on canonical dicts (pure; no app needed)."""

from __future__ import annotations

import copy

import pytest

from willow.scim.protocol.errors import InvalidPath
from willow.scim.protocol.errors import InvalidValue
from willow.scim.protocol.errors import Mutability
from willow.scim.protocol.errors import NoTarget
from willow.scim.protocol.errors import PayloadTooLarge
from willow.scim.protocol.messages import PatchOperation as Op
from willow.scim.protocol.normalize import MAX_VALUES
from willow.scim.protocol.patch import MAX_WORK
from willow.scim.protocol.patch import apply_patch
from willow.scim.protocol.patch import diff

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_ID = "2819c223-7f76-453a-919d-413861904646"
REMOVED = object()

BASE = {
    "userName": "a@b.c",
    "externalId": "00u1",
    "active": True,
    "name": {"givenName": "A", "familyName": "B"},
    "displayName": "A B",
    "emails": [{"value": "a@b.c", "type": "work", "primary": True}],
    "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "X"}],
    ENT: {"department": "R&D", "manager": {"value": "id2"}},
}


def _with(changes: dict, base: dict = BASE) -> dict:
    rv = copy.deepcopy(base)
    for key, value in changes.items():
        if value is REMOVED:
            rv.pop(key, None)
        else:
            rv[key] = value
    return rv


def _patch(*operations: Op, resource: dict = BASE) -> tuple[dict, list[str]]:
    return apply_patch("User", resource, list(operations), resource_id=USER_ID)


TWO_EMAILS = _with(
    {
        "emails": [
            {"value": "a@b.c", "type": "work", "primary": True},
            {"value": "h@b.c", "type": "home"},
        ]
    }
)


def case(operations: list[Op], expected: dict, *, id: str, resource: dict = BASE):
    return pytest.param(resource, operations, expected, id=id)


CASES = [
    # --- no path: each key of the value is a path ---------------------------------------
    case(
        [Op("replace", None, {"active": False})],
        _with({"active": False}),
        id="okta deactivate: no-path active false",
    ),
    case(
        [Op("replace", None, {"active": True})],
        BASE,
        id="okta reactivate: no-path active true",
    ),
    case(
        [Op("replace", None, {"Active": "False"})],
        _with({"active": False}),
        id="no-path key in another case with a string boolean",
    ),
    case(
        [
            Op(
                "replace",
                None,
                {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    f"{ENT}:employeeNumber": "Aklq",
                },
            )
        ],
        _with(
            {
                "displayName": "Bjfe",
                "name": {"givenName": "Kkom", "familyName": "Unua"},
                ENT: {"department": "R&D", "manager": {"value": "id2"}, "employeeNumber": "Aklq"},
            }
        ),
        id="entra flag: dotted and urn-prefixed keys are paths",
    ),
    case(
        [Op("replace", None, {ENT: {"department": "Ops"}})],
        _with({ENT: {"department": "Ops", "manager": {"value": "id2"}}}),
        id="no-path schema urn object merges into the extension",
    ),
    case(
        [Op("add", None, {"title": "CTO", "emails": [{"value": "h@b.c", "type": "home"}]})],
        _with(
            {
                "title": "CTO",
                "emails": [
                    {"value": "a@b.c", "type": "work", "primary": True},
                    {"value": "h@b.c", "type": "home"},
                ],
            }
        ),
        id="no-path add sets and appends",
    ),
    case(
        [Op("replace", None, {"emails": [{"value": "n@b.c", "type": "work"}]})],
        _with({"emails": [{"value": "n@b.c", "type": "work"}]}),
        id="no-path replace of a multi-valued attribute replaces the list",
    ),
    case(
        [Op("replace", None, {"name": {"givenName": "Z"}})],
        _with({"name": {"givenName": "Z", "familyName": "B"}}),
        id="no-path replace of a complex attribute keeps other sub-attributes",
    ),
    case(
        [Op("replace", None, {"userName": "new@b.c"})],
        _with({"userName": "new@b.c"}),
        id="entra validator: userName via no-path replace",
    ),
    case(
        [
            Op(
                "replace",
                None,
                {
                    "id": USER_ID,
                    "meta": {"resourceType": "User"},
                    "groups": [],
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "password": "p",
                    "urn:okta:custom:user:1.0:shoe": "9",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User": {},
                    "displayName": "C",
                },
            )
        ],
        _with({"displayName": "C"}),
        id="no-path: own id, meta, groups, schemas, password, unknown extension ignored",
    ),
    case(
        [Op("replace", None, {"displayName": None})],
        _with({"displayName": REMOVED}),
        id="no-path null removes",
    ),
    case(
        [Op("add", None, {"nickName": None, "name": {}})],
        BASE,
        id="no-path add of null and empty object changes nothing",
    ),
    # --- simple and complex single-valued paths --------------------------------------------
    case(
        [Op("replace", "active", "False")],
        _with({"active": False}),
        id="entra disable: string False",
    ),
    case(
        [Op("replace", "active", False), Op("replace", "active", "True")],
        BASE,
        id="entra enable: string True",
    ),
    case(
        [Op("replace", "name.familyName", "updatedFamilyName")],
        _with({"name": {"givenName": "A", "familyName": "updatedFamilyName"}}),
        id="sub-attribute path",
    ),
    case(
        [Op("replace", "NAME.GIVENNAME", "Q")],
        _with({"name": {"givenName": "Q", "familyName": "B"}}),
        id="path names case-insensitive",
    ),
    case(
        [Op("add", "name", {"middleName": "M"})],
        _with({"name": {"givenName": "A", "familyName": "B", "middleName": "M"}}),
        id="add of a complex attribute merges",
    ),
    case(
        [Op("replace", "name", {"givenName": "Z"})],
        _with({"name": {"givenName": "Z", "familyName": "B"}}),
        id="replace of a complex attribute merges (RFC 7644 §3.5.2.3)",
    ),
    case(
        [Op("replace", "name", {"familyName": None})],
        _with({"name": {"givenName": "A"}}),
        id="replace of a complex attribute with a null sub-attribute unassigns it",
    ),
    case(
        [Op("replace", None, {"name": {"GivenName": None, "familyName": "Z"}})],
        _with({"name": {"familyName": "Z"}}),
        id="no-path replace with a null sub-attribute unassigns it",
    ),
    case(
        [Op("replace", f"{ENT}:manager", {"value": None})],
        _with({ENT: {"department": "R&D"}}),
        id="replace of the manager's value with null leaves no manager",
    ),
    case(
        [Op("add", "name", {"familyName": None})],
        BASE,
        id="add of a null sub-attribute adds nothing",
    ),
    case(
        [Op("add", "title", "")],
        _with({"title": ""}),
        id="empty string stored as sent",
    ),
    case(
        [Op("replace", "externalId", "00u9")],
        _with({"externalId": "00u9"}),
        id="externalId replaced",
    ),
    case(
        [Op("remove", "externalId")],
        _with({"externalId": REMOVED}),
        id="externalId removed",
    ),
    case(
        [Op("remove", "name.givenName")],
        _with({"name": {"familyName": "B"}}),
        id="remove a sub-attribute",
    ),
    case(
        [Op("remove", "name.givenName"), Op("remove", "name.familyName")],
        _with({"name": REMOVED}),
        id="a complex attribute with no sub-attribute left is unassigned",
    ),
    case(
        [Op("remove", "displayName")],
        _with({"displayName": REMOVED}),
        id="remove a single-valued attribute",
    ),
    case(
        [Op("remove", "title")],
        BASE,
        id="remove of an attribute without value is a no-op",
    ),
    case(
        [Op("replace", "displayName", None)],
        _with({"displayName": REMOVED}),
        id="replace with null removes",
    ),
    case(
        [Op("replace", "id", USER_ID)],
        BASE,
        id="own id ignored",
    ),
    case(
        [Op("replace", "meta.lastModified", "2020-01-01T00:00:00Z"), Op("add", "groups", [])],
        BASE,
        id="read-only meta and groups ignored",
    ),
    case(
        [Op("replace", "password", "p"), Op("replace", "schemas", ["x"])],
        BASE,
        id="password discarded, schemas ignored",
    ),
    # --- enterprise extension -----------------------------------------------------------
    case(
        [Op("add", f"{ENT}:department", "Sales")],
        _with({ENT: {"department": "Sales", "manager": {"value": "id2"}}}),
        id="entra add on urn-prefixed extension path",
    ),
    case(
        [Op("replace", f"{ENT.upper()}:COSTCENTER", "4130")],
        _with({ENT: {"department": "R&D", "manager": {"value": "id2"}, "costCenter": "4130"}}),
        id="urn prefix matched case-insensitively",
    ),
    case(
        [Op("replace", f"{ENT}:manager", {"value": "id3"})],
        _with({ENT: {"department": "R&D", "manager": {"value": "id3"}}}),
        id="entra validator: replace manager",
    ),
    case(
        [Op("replace", f"{ENT}:manager.value", "id4")],
        _with({ENT: {"department": "R&D", "manager": {"value": "id4"}}}),
        id="manager.value path",
    ),
    case(
        [Op("remove", f"{ENT}:manager")],
        _with({ENT: {"department": "R&D"}}),
        id="entra validator: remove manager",
    ),
    case(
        [Op("remove", f"{ENT}:manager"), Op("remove", f"{ENT}:department")],
        _with({ENT: REMOVED}),
        id="an empty extension is unassigned",
    ),
    case(
        [Op("remove", ENT)],
        _with({ENT: REMOVED}),
        id="remove the whole extension by its urn",
    ),
    case(
        [Op("add", "urn:okta:custom:user:1.0:shoeSize", "9")],
        BASE,
        id="unknown extension path ignored",
    ),
    # --- multi-valued -----------------------------------------------------------------------
    case(
        [Op("replace", 'emails[type eq "work"].value', "updatedEmail@microsoft.com")],
        _with(
            {"emails": [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}]}
        ),
        id="entra: value-filter path updates the element in place",
    ),
    case(
        [Op("add", 'emails[type eq "home"].value', "h@b.c")],
        _with(
            {
                "emails": [
                    {"value": "a@b.c", "type": "work", "primary": True},
                    {"type": "home", "value": "h@b.c"},
                ]
            }
        ),
        id="add on a value-filter path that matches nothing creates the element",
    ),
    case(
        [Op("replace", 'phoneNumbers[type eq "work"].value', "+1 555")],
        _with({"phoneNumbers": [{"type": "work", "value": "+1 555"}]}),
        id="replace on a value-filter path of an absent attribute creates it",
    ),
    case(
        [Op("replace", 'addresses[type eq "work"].streetAddress', "2 Side St")],
        _with({"addresses": [{"type": "work", "streetAddress": "2 Side St", "locality": "X"}]}),
        id="entra validator: address street in place",
    ),
    case(
        [Op("replace", 'addresses[type eq "home"].locality', "Y")],
        _with(
            {
                "addresses": [
                    {"type": "work", "streetAddress": "1 Main St", "locality": "X"},
                    {"type": "home", "locality": "Y"},
                ]
            }
        ),
        id="address created from the filter",
    ),
    case(
        [Op("replace", 'emails[type eq "work" and primary eq true].display', "W")],
        _with({"emails": [{"value": "a@b.c", "type": "work", "primary": True, "display": "W"}]}),
        id="and of eq conditions selects",
    ),
    case(
        [Op("replace", 'emails[value eq "A@B.C"].type', "other")],
        _with({"emails": [{"value": "a@b.c", "type": "other", "primary": True}]}),
        id="emails.value compared case-insensitively in a filter",
    ),
    case(
        [Op("add", 'emails[type eq "work"]', {"display": "W"})],
        _with({"emails": [{"value": "a@b.c", "type": "work", "primary": True, "display": "W"}]}),
        id="add on a value-filter path without sub-attribute merges",
    ),
    case(
        [Op("replace", 'emails[type eq "work"]', {"value": "w@b.c", "type": "work"})],
        _with({"emails": [{"value": "w@b.c", "type": "work"}]}),
        id="replace on a value-filter path replaces the matching element",
    ),
    case(
        [Op("add", 'emails[type eq "home"]', {"value": "h@b.c"})],
        _with(
            {
                "emails": [
                    {"value": "a@b.c", "type": "work", "primary": True},
                    {"type": "home", "value": "h@b.c"},
                ]
            }
        ),
        id="add on a filter without sub-attribute creates from the filter",
    ),
    case(
        [Op("add", "emails", [{"value": "h@b.c", "type": "home"}])],
        _with(
            {
                "emails": [
                    {"value": "a@b.c", "type": "work", "primary": True},
                    {"value": "h@b.c", "type": "home"},
                ]
            }
        ),
        id="add appends to a multi-valued attribute",
    ),
    case(
        [Op("add", "emails", {"value": "h@b.c", "type": "home"})],
        _with(
            {
                "emails": [
                    {"value": "a@b.c", "type": "work", "primary": True},
                    {"value": "h@b.c", "type": "home"},
                ]
            }
        ),
        id="add of one object to a multi-valued attribute",
    ),
    case(
        [Op("add", "emails", [{"value": "a@b.c", "type": "work"}, {"value": "a@b.c"}])],
        BASE,
        id="add skips values already present",
    ),
    case(
        [Op("add", "emails", [{"value": "n@b.c", "type": "other", "primary": True}])],
        _with(
            {
                "emails": [
                    {"value": "a@b.c", "type": "work"},
                    {"value": "n@b.c", "type": "other", "primary": True},
                ]
            }
        ),
        id="a new primary clears the old one",
    ),
    case(
        [Op("replace", 'emails[type eq "home"].primary', True)],
        _with(
            {
                "emails": [
                    {"value": "a@b.c", "type": "work"},
                    {"value": "h@b.c", "type": "home", "primary": True},
                ]
            },
            TWO_EMAILS,
        ),
        id="primary moved by a filter path",
        resource=TWO_EMAILS,
    ),
    case(
        [Op("replace", "emails", [{"value": "n@b.c", "type": "work"}])],
        _with({"emails": [{"value": "n@b.c", "type": "work"}]}),
        id="replace of a multi-valued attribute replaces the list",
    ),
    case(
        [Op("replace", "emails", [])],
        _with({"emails": REMOVED}),
        id="replace with an empty list unassigns",
    ),
    case(
        [Op("remove", "emails")],
        _with({"emails": REMOVED}),
        id="remove of a multi-valued attribute removes all values",
    ),
    case(
        [Op("remove", "emails", [{"value": "H@b.c"}])],
        _with({"emails": [{"value": "a@b.c", "type": "work", "primary": True}]}, TWO_EMAILS),
        id="remove with a value list removes only the equal values",
        resource=TWO_EMAILS,
    ),
    case(
        [Op("remove", "emails", [{"value": "zz@b.c"}])],
        TWO_EMAILS,
        id="remove with a value list that matches nothing changes nothing",
        resource=TWO_EMAILS,
    ),
    case(
        [Op("remove", 'emails[type eq "home"]')],
        _with({"emails": [{"value": "a@b.c", "type": "work", "primary": True}]}, TWO_EMAILS),
        id="remove with a filter removes the matching values",
        resource=TWO_EMAILS,
    ),
    case(
        [Op("remove", 'emails[type eq "nope"]')],
        BASE,
        id="remove with a filter that matches nothing changes nothing",
    ),
    case(
        [Op("remove", 'addresses[type eq "work"].locality')],
        _with({"addresses": [{"type": "work", "streetAddress": "1 Main St"}]}),
        id="remove with a filter and sub-attribute unsets the sub-attribute",
    ),
    case(
        [
            Op("remove", 'emails[type eq "work"].value'),
            Op("remove", 'emails[type eq "work"].type'),
            Op("remove", "emails.primary"),
        ],
        _with({"emails": REMOVED}),
        id="an element with nothing left disappears",
    ),
    case(
        [Op("replace", 'emails[value eq "a@b.c"].value', None)],
        _with({"emails": [{"type": "work", "primary": True}]}),
        id="replace of a filtered sub-attribute with null removes it",
    ),
    case(
        [Op("add", ENT, {"schemas": [ENT], "department": "Ops"})],
        _with({ENT: {"department": "Ops", "manager": {"value": "id2"}}}),
        id="schemas inside an extension object value is ignored",
    ),
    case(
        [Op("replace", None, {ENT: {"Schemas": [ENT], "costCenter": "42"}})],
        _with({ENT: {"department": "R&D", "manager": {"value": "id2"}, "costCenter": "42"}}),
        id="schemas inside a no-path extension object is ignored",
    ),
    case(
        [Op("remove", "emails"), Op("add", "emails", [{"value": "z@b.c", "type": "work"}])],
        _with({"emails": [{"value": "z@b.c", "type": "work"}]}),
        id="operations apply in order",
    ),
]


@pytest.mark.parametrize(("resource", "operations", "expected"), CASES)
def test_patch_gives_the_expected_resource(resource, operations, expected):
    before = copy.deepcopy(resource)
    rv, _ = apply_patch("User", resource, operations, resource_id=USER_ID)
    assert rv == expected
    assert resource == before, "the input dict must not be modified"


def test_an_element_created_from_a_filter_takes_canonical_names_from_both_sides():
    rv, _ = _patch(Op("add", 'emails[Type eq "home"]', {"type": "home", "Value": "h@b.c"}))
    assert rv["emails"][1] == {"type": "home", "value": "h@b.c"}


def test_add_to_an_absent_extension_creates_it():
    rv, _ = _patch(Op("add", f"{ENT}:employeeNumber", "701984"), resource={"userName": "u"})
    assert rv == {"userName": "u", ENT: {"employeeNumber": "701984"}}


def test_manager_can_be_added_to_a_user_without_one():
    rv, _ = _patch(Op("add", f"{ENT}:manager", {"value": "m1"}), resource={"userName": "u"})
    assert rv == {"userName": "u", ENT: {"manager": {"value": "m1"}}}


@pytest.mark.parametrize(
    ("operations", "error", "named"),
    [
        ([Op("remove", None)], NoTarget, "path"),
        ([Op("replace", None, "active")], InvalidValue, "object"),
        ([Op("add", None, [{"active": False}])], InvalidValue, "object"),
        ([Op("remove", "userName")], Mutability, "userName"),
        ([Op("replace", "userName", None)], Mutability, "userName"),
        ([Op("replace", None, {"userName": None})], Mutability, "userName"),
        ([Op("replace", "userName", "")], InvalidValue, "userName"),
        ([Op("replace", "userName", 42)], InvalidValue, "userName"),
        ([Op("remove", "active")], Mutability, "active"),
        ([Op("replace", "active", None)], Mutability, "active"),
        ([Op("replace", None, {"active": None})], Mutability, "active"),
        ([Op("replace", "id", "another-id")], Mutability, "id"),
        ([Op("replace", None, {"id": "another-id"})], Mutability, "id"),
        ([Op("remove", "id")], Mutability, "id"),
        ([Op("replace", "shoeSize", "9")], InvalidPath, "shoeSize"),
        ([Op("replace", None, {"shoeSize": "9"})], InvalidPath, "shoeSize"),
        ([Op("replace", "name.nick", "x")], InvalidPath, "nick"),
        ([Op("replace", "title.sub", "x")], InvalidPath, "sub"),
        ([Op("replace", f"{ENT}:badge", "x")], InvalidPath, "badge"),
        ([Op("replace", 'name[givenName eq "A"]', {})], InvalidPath, "single-valued"),
        ([Op("replace", 'emails[foo eq "x"].value', "y")], InvalidPath, "foo"),
        ([Op("replace", 'emails[type eq "work"].nope', "y")], InvalidPath, "nope"),
        ([Op("replace", 'emails[type eq "work"', "y")], InvalidPath, "]"),
        ([Op("replace", "emails..value", "y")], InvalidPath, "attribute name"),
        ([Op("replace", "active", "maybe")], InvalidValue, "active"),
        ([Op("replace", "active", 0)], InvalidValue, "active"),
        ([Op("replace", "name.givenName", {"x": 1})], InvalidValue, "name.givenName"),
        ([Op("replace", "name", "A B")], InvalidValue, "name"),
        ([Op("add", "emails", "x@b.c")], InvalidValue, "emails"),
        ([Op("add", "displayName", ["A"])], InvalidValue, "displayName"),
        ([Op("add", 'emails[type eq "home"]', "x@b.c")], InvalidValue, "emails"),
        (
            [
                Op(
                    "add",
                    "emails",
                    [{"value": "x", "primary": True}, {"value": "y", "primary": True}],
                )
            ],
            InvalidValue,
            "primary",
        ),
        ([Op("replace", 'emails[type sw "h"].value', "h@b.c")], NoTarget, "emails"),
        ([Op("replace", 'emails[type eq "home" or type eq "other"].value', "x")], NoTarget, "eq"),
        ([Op("replace", 'emails[not (type eq "work")].value', "x")], NoTarget, "emails"),
        ([Op("replace", None, {ENT: "Sales"})], InvalidValue, ENT),
        ([Op("remove", "urn:ietf:params:scim:schemas:core:2.0:User")], Mutability, "core"),
    ],
)
def test_operations_that_cannot_apply_are_refused(operations, error, named):
    with pytest.raises(error) as info:
        _patch(*operations)
    assert named in info.value.detail


def test_setting_primary_on_two_values_at_once_is_refused():
    two_work = _with({"emails": [{"value": "x", "type": "work"}, {"value": "y", "type": "work"}]})
    with pytest.raises(InvalidValue, match="primary"):
        _patch(Op("replace", 'emails[type eq "work"].primary', True), resource=two_work)


def test_a_failing_operation_applies_nothing():
    resource = copy.deepcopy(BASE)
    with pytest.raises(Mutability):
        _patch(
            Op("replace", "displayName", "Changed"),
            Op("remove", "userName"),
            resource=resource,
        )
    assert resource == BASE


def test_path_is_never_stored_as_a_key():
    rv, _ = _patch(
        Op("replace", 'emails[type eq "work"].value', "n@b.c"),
        Op("add", f"{ENT}:department", "Ops"),
        Op("replace", None, {"name.givenName": "G"}),
    )
    keys = (set(rv) - {ENT}) | set(rv[ENT]) | set(rv["name"]) | {k for e in rv["emails"] for k in e}
    assert not any("[" in k or "." in k or k.startswith(f"{ENT}:") for k in keys)


@pytest.mark.parametrize(
    ("operations", "note"),
    [
        ([Op("replace", None, {"active": False})], "no-path replace read as replace of active"),
        ([Op("replace", None, {"id": USER_ID})], "id equal to the resource's id ignored"),
        ([Op("replace", "password", "p")], "password discarded"),
        ([Op("add", None, {"password": "p"})], "password discarded"),
        ([Op("replace", None, {"meta": {}})], "read-only attribute meta ignored"),
        ([Op("add", "groups", [{"value": "g"}])], "read-only attribute groups ignored"),
        ([Op("replace", None, {"schemas": []})], "schemas in a patch value ignored"),
        ([Op("add", ENT, {"schemas": [ENT]})], "schemas in a patch value ignored"),
        (
            [Op("add", "urn:okta:custom:1.0:x", "1")],
            "unknown extension urn:okta:custom:1.0 ignored",
        ),
        ([Op("replace", "active", "False")], '"False" read as false'),
        ([Op("replace", "displayName", None)], "replace of displayName with null read as remove"),
        ([Op("remove", "title")], "title had no value to remove"),
        (
            [Op("remove", 'emails[type eq "x"]')],
            "no emails value matched the path; nothing removed",
        ),
        (
            [Op("add", 'emails[type eq "home"].value', "h")],
            "emails value created from the path filter",
        ),
        (
            [Op("add", "emails", [{"value": "n", "primary": True}])],
            "primary moved to the new emails value",
        ),
        (
            [Op("add", "emails", [{"value": "a@b.c"}])],
            "emails value already present; not added twice",
        ),
    ],
)
def test_each_adjustment_leaves_a_note(operations, note):
    _, notes = _patch(*operations)
    assert note in notes


def test_password_never_reaches_the_result_or_the_notes():
    rv, notes = _patch(Op("replace", None, {"password": "hunter2"}), Op("add", "password", "x1"))
    assert rv == BASE
    assert "hunter2" not in repr(notes) and "x1" not in repr(notes)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(BASE, copy.deepcopy(BASE), [], id="no change"),
        pytest.param(
            BASE,
            _with({"name": {"givenName": "Z", "familyName": "B"}}),
            [{"attribute": "name.givenName", "before": "A", "after": "Z"}],
            id="sub-attribute",
        ),
        pytest.param(
            BASE,
            _with({"active": False, "title": "CTO"}),
            [
                {"attribute": "active", "before": True, "after": False},
                {"attribute": "title", "before": None, "after": "CTO"},
            ],
            id="changed and added",
        ),
        pytest.param(
            BASE,
            _with({"emails": [{"value": "n@b.c"}]}),
            [
                {
                    "attribute": "emails",
                    "before": [{"value": "a@b.c", "type": "work", "primary": True}],
                    "after": [{"value": "n@b.c"}],
                }
            ],
            id="multi-valued compared as a whole",
        ),
        pytest.param(
            BASE,
            _with({ENT: {"department": "Ops"}}),
            [
                {"attribute": f"{ENT}:department", "before": "R&D", "after": "Ops"},
                {"attribute": f"{ENT}:manager.value", "before": "id2", "after": None},
            ],
            id="extension attributes by urn path",
        ),
        pytest.param(
            {},
            {"userName": "u", "name": {"givenName": "G"}},
            [
                {"attribute": "userName", "before": None, "after": "u"},
                {"attribute": "name.givenName", "before": None, "after": "G"},
            ],
            id="create",
        ),
        pytest.param(
            {"userName": "u", "password": "old"},
            {"userName": "u", "password": "new", "Password": "x"},
            [],
            id="password never appears",
        ),
    ],
)
def test_diff_lists_changes_attribute_by_attribute(before, after, expected):
    assert diff(before, after) == expected


# --- Bounds on the work of one PATCH (issue #20 item 6) ----------------------------------


def _emails(n: int) -> list[dict]:
    return [{"value": f"e{i}@example.com", "type": "work"} for i in range(n)]


def test_adds_keep_sequential_semantics_across_many_operations():
    """The add index answers as the list scan did: duplicates skipped (also within the
    request), primary moved to the last value that sets it."""
    ops = [Op("add", "emails", [e]) for e in _emails(50)]
    ops += [Op("add", "emails", [{"value": "e3@example.com"}])]  # contained: skipped
    ops += [Op("add", "emails", [{"value": "p@example.com", "primary": True}])]
    ops += [Op("add", "emails", [{"value": "q@example.com", "primary": True}])]
    rv, notes = _patch(*ops, resource={"userName": "u"})
    assert [e["value"] for e in rv["emails"]][-2:] == ["p@example.com", "q@example.com"]
    assert len(rv["emails"]) == 52
    assert [e for e in rv["emails"] if e.get("primary")] == [
        {"value": "q@example.com", "primary": True}
    ]
    assert "emails value already present; not added twice" in notes


def test_add_after_another_operation_sees_the_changed_list():
    ops = [
        Op("add", "emails", _emails(3)),
        Op("remove", 'emails[value eq "e1@example.com"]'),
        Op("add", "emails", [{"value": "e1@example.com", "type": "work"}]),
        Op("replace", 'emails[value eq "e2@example.com"].type', "home"),
        Op("add", "emails", [{"value": "e2@example.com", "type": "work"}]),
    ]
    rv, _ = _patch(*ops, resource={"userName": "u"})
    assert [(e["value"], e["type"]) for e in rv["emails"]] == [
        ("e0@example.com", "work"),
        ("e2@example.com", "home"),
        ("e1@example.com", "work"),
        ("e2@example.com", "work"),
    ]


def test_multi_valued_attribute_holds_at_most_max_values():
    with pytest.raises(InvalidValue, match=f"at most {MAX_VALUES}"):
        _patch(Op("add", "emails", _emails(MAX_VALUES + 1)), resource={"userName": "u"})
    ops = [Op("add", "emails", [e]) for e in _emails(MAX_VALUES + 1)]
    with pytest.raises(InvalidValue, match=f"at most {MAX_VALUES}"):
        _patch(*ops, resource={"userName": "u"})
    rv, _ = _patch(Op("add", "emails", _emails(MAX_VALUES)), resource={"userName": "u"})
    assert len(rv["emails"]) == MAX_VALUES


@pytest.mark.parametrize(
    "make",
    [
        lambda i: Op("replace", 'emails[type eq "work" and value co "x"].display', f"d{i}"),
        lambda i: Op("replace", "emails.display", f"d{i}"),
        lambda i: Op("remove", "emails", [{"value": f"z{j}"} for j in range(100)]),
    ],
    ids=["filter", "sub-attribute", "value-list"],
)
def test_patch_comparing_more_values_than_the_budget_is_refused(make):
    """1,000 operations with a two-term filter on 1,000 emails took 5.3 s."""
    user = {"userName": "u", "emails": _emails(MAX_VALUES)}
    ops = [make(i) for i in range(1000)]
    with pytest.raises(PayloadTooLarge, match="send fewer operations"):
        apply_patch("User", user, ops, resource_id=USER_ID)


def test_patch_within_the_budget_is_applied():
    user = {"userName": "u", "emails": _emails(100)}
    ops = [Op("replace", f'emails[value eq "e{i}@example.com"].type', "home") for i in range(100)]
    rv, _ = apply_patch("User", user, ops, resource_id=USER_ID)
    assert {e["type"] for e in rv["emails"]} == {"home"}
    assert MAX_WORK >= 100 * 100
