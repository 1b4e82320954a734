"""POST/PUT bodies → canonical resource dicts (pure; no app needed)."""

from __future__ import annotations

import copy

import pytest

from willow.scim.protocol.errors import InvalidSyntax
from willow.scim.protocol.errors import InvalidValue
from willow.scim.protocol.normalize import normalize_resource

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_CORE = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


OKTA_CREATE = {
    "schemas": [CORE],
    "userName": "test.user@okta.local",
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}

OKTA_PUT = {
    "schemas": [CORE],
    "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
    "userName": "test.user@okta.local",
    "name": {"givenName": "Another", "middleName": "", "familyName": "User"},
    "emails": [
        {
            "primary": True,
            "value": "test.user@okta.local",
            "type": "work",
            "display": "test.user@okta.local",
        }
    ],
    "active": True,
    "groups": [],
    "meta": {"resourceType": "User"},
}

ENTRA_CREATE = {
    "schemas": [CORE, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "UserName": "Test_User_00aa00aa",
    "Active": "True",
    "emails": [{"Primary": "true", "type": "work", "value": "Test_User_11bb@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "g"},
    "roles": [],
    ENTERPRISE: {"department": "R&D", "manager": {"value": "id2"}, "employeeNumber": "701984"},
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            OKTA_CREATE,
            {
                "userName": "test.user@okta.local",
                "name": {"givenName": "Test", "familyName": "User"},
                "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
                "displayName": "Test User",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "active": True,
            },
            id="okta-create: groups and password dropped",
        ),
        pytest.param(
            OKTA_PUT,
            {
                "userName": "test.user@okta.local",
                "name": {"givenName": "Another", "middleName": "", "familyName": "User"},
                "emails": [
                    {
                        "primary": True,
                        "value": "test.user@okta.local",
                        "type": "work",
                        "display": "test.user@okta.local",
                    }
                ],
                "active": True,
            },
            id="okta-put: id, meta, groups ignored; empty middleName kept",
        ),
        pytest.param(
            ENTRA_CREATE,
            {
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Test_User_00aa00aa",
                "active": True,
                "emails": [
                    {"primary": True, "type": "work", "value": "Test_User_11bb@testuser.com"}
                ],
                "name": {
                    "formatted": "givenName familyName",
                    "familyName": "familyName",
                    "givenName": "g",
                },
                ENTERPRISE: {
                    "department": "R&D",
                    "manager": {"value": "id2"},
                    "employeeNumber": "701984",
                },
            },
            id="entra-create: capitalised keys, string booleans, roles [] is no value",
        ),
        pytest.param(
            {
                "userName": "a",
                f"{ENTERPRISE}:department": "Sales",
                f"{ENTERPRISE}:Manager": {"Value": "m1"},
            },
            {"userName": "a", ENTERPRISE: {"department": "Sales", "manager": {"value": "m1"}}},
            id="urn-prefixed top-level extension keys",
        ),
        pytest.param(
            {"userName": "a", ENTERPRISE.upper(): {"DEPARTMENT": "Ops"}},
            {"userName": "a", ENTERPRISE: {"department": "Ops"}},
            id="extension urn matched case-insensitively",
        ),
        pytest.param(
            {"userName": "a", f"{CORE}:displayName": "A"},
            {"userName": "a", "displayName": "A"},
            id="core-urn-prefixed key",
        ),
        pytest.param(
            {"userName": "a", "displayName": None, "name": {"givenName": None}, "emails": None},
            {"userName": "a"},
            id="null means no value, empty complex dropped",
        ),
        pytest.param(
            {"userName": "a", "nickName": "", "title": " "},
            {"userName": "a", "nickName": "", "title": " "},
            id="empty strings stored as sent",
        ),
        pytest.param(
            {"userName": "a", "emails": {"value": "a@b.c", "type": "work"}},
            {"userName": "a", "emails": [{"value": "a@b.c", "type": "work"}]},
            id="single object for a multi-valued attribute is wrapped",
        ),
        pytest.param(
            {"userName": "a", "active": "FALSE"},
            {"userName": "a", "active": False},
            id="boolean string in capitals",
        ),
        pytest.param(
            {
                "userName": "a",
                "emails": [{"value": "x", "primary": False}, {"value": "y", "primary": True}],
            },
            {
                "userName": "a",
                "emails": [{"value": "x", "primary": False}, {"value": "y", "primary": True}],
            },
            id="one primary among several is fine",
        ),
        pytest.param(
            {
                "userName": "a",
                "addresses": [{"type": "work", "streetAddress": "1 Main St", "Locality": "X"}],
            },
            {
                "userName": "a",
                "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "X"}],
            },
            id="addresses sub-attributes",
        ),
        pytest.param(
            {
                "userName": "a",
                "urn:okta:custom:user:1.0": {"x": 1},
                "favouriteColour": "blue",
                "name": {"givenName": "A", "nick": "z"},
            },
            {"userName": "a", "name": {"givenName": "A"}},
            id="unknown extension, core attribute and sub-attribute ignored",
        ),
    ],
)
def test_user_body_normalises_to_the_canonical_dict(body, expected):
    original = copy.deepcopy(body)
    rv, _ = normalize_resource("User", body)
    assert rv == expected
    assert body == original


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"schemas": [GROUP_CORE], "displayName": "Test SCIMv2", "members": []},
            {"displayName": "Test SCIMv2"},
            id="okta: empty members list is no value",
        ),
        pytest.param(
            {
                "schemas": [GROUP_CORE, ADSCIM],
                "externalId": "e1",
                "displayName": "G",
                "meta": {"resourceType": "Group"},
            },
            {"externalId": "e1", "displayName": "G"},
            id="entra: microsoft schema and meta ignored",
        ),
        pytest.param(
            {
                "displayName": "G",
                "members": [
                    {"value": "u1", "display": "alice"},
                    {"value": "u2", "$ref": None},
                    {"Value": "u3", "type": "User", "$ref": "https://x/Users/u3"},
                ],
            },
            {
                "displayName": "G",
                "members": [
                    {"value": "u1"},
                    {"value": "u2"},
                    {"value": "u3", "type": "User", "$ref": "https://x/Users/u3"},
                ],
            },
            id="members with and without display (read-only, dropped), type, $ref null",
        ),
        pytest.param(
            {"DisplayName": "G", "urn:okta:custom:group:1.0": {"description": "d"}},
            {"displayName": "G"},
            id="okta custom group extension ignored",
        ),
    ],
)
def test_group_body_normalises_to_the_canonical_dict(body, expected):
    rv, _ = normalize_resource("Group", body)
    assert rv == expected


@pytest.mark.parametrize(
    ("body", "note"),
    [
        ({"userName": "a", "active": "False"}, '"False" read as false'),
        ({"userName": "a", "active": "true"}, '"true" read as true'),
        ({"userName": "a", "password": "secret"}, "password discarded"),
        ({"UserName": "a"}, '"UserName" read as "userName"'),
        ({"userName": "a", "groups": []}, "read-only attribute groups ignored"),
        ({"userName": "a", "id": "x"}, "read-only attribute id ignored"),
        ({"userName": "a", "meta": {}}, "read-only attribute meta ignored"),
        ({"userName": "a", "schemas": [CORE, "urn:x"]}, "unknown schema urn:x ignored"),
        ({"userName": "a", "urn:okta:x": 1}, "unknown extension urn:okta:x ignored"),
        ({"userName": "a", "shoeSize": 9}, 'unknown attribute "shoeSize" ignored'),
        (
            {"userName": "a", ENTERPRISE: {"badge": "1"}},
            f'unknown attribute "{ENTERPRISE}:badge" ignored',
        ),
        ({"userName": "a", "emails": {"value": "x"}}, "single emails value wrapped in a list"),
    ],
)
def test_each_adjustment_leaves_a_note(body, note):
    _, notes = normalize_resource("User", body)
    assert note in notes


def test_microsoft_group_schema_is_noted():
    _, notes = normalize_resource("Group", {"schemas": [GROUP_CORE, ADSCIM], "displayName": "G"})
    assert notes == [f"unknown schema {ADSCIM} ignored"]


def test_notes_are_not_repeated_for_each_element():
    body = {"userName": "a", "emails": [{"Value": "x"}, {"Value": "y"}]}
    _, notes = normalize_resource("User", body)
    assert notes == ['"Value" read as "value"']


def test_a_clean_body_has_no_notes():
    _, notes = normalize_resource("User", {"schemas": [CORE], "userName": "a", "active": True})
    assert notes == []


def test_password_is_kept_nowhere():
    rv, notes = normalize_resource("User", {"userName": "a", "password": "hunter2"})
    assert "hunter2" not in repr(rv) + repr(notes)


@pytest.mark.parametrize(
    ("resource_type", "body", "error", "named"),
    [
        ("User", {"displayName": "no userName"}, InvalidValue, "userName"),
        ("User", {"userName": ""}, InvalidValue, "userName"),
        ("User", {"userName": "   "}, InvalidValue, "userName"),
        ("User", {"userName": None}, InvalidValue, "userName"),
        ("User", {"userName": 42}, InvalidValue, "userName"),
        ("User", {"userName": True}, InvalidValue, "userName"),
        ("User", {"userName": ["a"]}, InvalidValue, "userName"),
        ("User", {"userName": "a", "displayName": {"x": 1}}, InvalidValue, "displayName"),
        ("User", {"userName": "a", "name": "A B"}, InvalidValue, "name"),
        ("User", {"userName": "a", "name": [{"givenName": "A"}]}, InvalidValue, "name"),
        ("User", {"userName": "a", "emails": "a@b.c"}, InvalidValue, "emails"),
        ("User", {"userName": "a", "emails": ["a@b.c"]}, InvalidValue, "emails"),
        ("User", {"userName": "a", "emails": [{"value": 5}]}, InvalidValue, "emails.value"),
        ("User", {"userName": "a", "active": "yes"}, InvalidValue, "active"),
        ("User", {"userName": "a", "active": 1}, InvalidValue, "active"),
        ("User", {"userName": "a", "name": {"givenName": 7}}, InvalidValue, "name.givenName"),
        (
            "User",
            {
                "userName": "a",
                "emails": [{"value": "x", "primary": True}, {"value": "y", "primary": "True"}],
            },
            InvalidValue,
            "emails",
        ),
        ("User", {"userName": "a", ENTERPRISE: "Sales"}, InvalidValue, ENTERPRISE),
        ("User", {"userName": "a", "UserName": "b"}, InvalidValue, "userName"),
        ("User", {"userName": "a", "schemas": 5}, InvalidValue, "schemas"),
        ("User", ["not", "an", "object"], InvalidSyntax, "User"),
        ("Group", {"members": []}, InvalidValue, "displayName"),
        ("Group", {"displayName": ""}, InvalidValue, "displayName"),
        ("Group", {"displayName": "G", "members": [{"display": "x"}]}, InvalidValue, "value"),
        ("Group", {"displayName": "G", "members": [{"value": ""}]}, InvalidValue, "value"),
        ("Group", {"displayName": "G", "members": [{"value": None}]}, InvalidValue, "value"),
        ("Group", {"displayName": "G", "members": ["u1"]}, InvalidValue, "members"),
        ("Group", {"displayName": "G", "members": [{"value": 12}]}, InvalidValue, "value"),
    ],
)
def test_values_that_cannot_be_stored_are_refused(resource_type, body, error, named):
    with pytest.raises(error) as info:
        normalize_resource(resource_type, body)
    assert named in info.value.detail
