"""The log list's "Operation" column: the pure labeller (no app, no HTTP)."""

from __future__ import annotations

import pytest

from willow.monitor.operation import label

USER = "/scim/v2/Users/u1"
GROUP = "/scim/v2/Groups/g1"


def _label(**kw):
    base = {
        "method": "GET",
        "path": "/scim/v2/Users",
        "status": 200,
        "operation": None,
        "resource_type": "User",
    }
    return label(**{**base, **kw})


def _members(added=(), removed=()):
    return [
        {
            "attribute": "members",
            "added": [{"value": f"id-{n}", "display": n} for n in added],
            "removed": [{"value": f"id-{n}", "display": n} for n in removed],
        }
    ]


@pytest.mark.parametrize(
    ("kw", "text", "kind"),
    [
        pytest.param(
            {"method": "POST", "status": 201, "operation": "create", "resource_label": "jane@x"},
            "Created user jane@x",
            "change",
            id="create user",
        ),
        pytest.param(
            {
                "method": "PATCH",
                "path": USER,
                "operation": "update",
                "resource_label": "jane@x",
                "changes": [
                    {"attribute": "name.givenName", "before": "J", "after": "Jane"},
                    {"attribute": "name.familyName", "before": "D", "after": "Doe"},
                    {"attribute": "emails", "before": [], "after": [{"value": "j@x"}]},
                ],
            },
            "Updated name, email of jane@x",
            "change",
            id="patch names the changed attributes once each",
        ),
        pytest.param(
            {
                "method": "PATCH",
                "path": USER,
                "operation": "update",
                "changes": [
                    {
                        "attribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
                        "department",
                        "before": None,
                        "after": "R&D",
                    }
                ],
            },
            "Updated department",
            "change",
            id="enterprise attribute by its own name",
        ),
        pytest.param(
            {"method": "PATCH", "path": USER, "operation": "deactivate", "resource_label": "jane"},
            "Deactivated jane",
            "change",
            id="deactivate",
        ),
        pytest.param(
            {"method": "PUT", "path": USER, "operation": "reactivate", "resource_label": "jane"},
            "Reactivated jane",
            "change",
            id="reactivate by PUT",
        ),
        pytest.param(
            {
                "method": "PUT",
                "path": USER,
                "operation": "update",
                "resource_label": "jane",
                "changes": [{"attribute": "userName", "before": "j", "after": "jane"}],
            },
            "Replaced user jane (userName changed)",
            "change",
            id="put",
        ),
        pytest.param(
            {"method": "PUT", "path": USER, "operation": "update", "changes": []},
            "No change",
            "no-change",
            id="put that changed nothing",
        ),
        pytest.param(
            {"method": "DELETE", "path": USER, "status": 204, "operation": "delete"},
            "Deleted user",
            "change",
            id="delete user",
        ),
        pytest.param(
            {
                "method": "POST",
                "path": "/scim/v2/Groups",
                "status": 201,
                "resource_type": "Group",
                "operation": "create",
                "resource_label": "Engineering",
                "changes": _members(added=["a", "b"]),
            },
            "Created group Engineering with 2 members",
            "change",
            id="create group with members",
        ),
        pytest.param(
            {
                "method": "PATCH",
                "path": GROUP,
                "status": 204,
                "resource_type": "Group",
                "operation": "membership",
                "resource_label": "Engineering",
                "changes": _members(added=["a", "b", "c"]),
            },
            "Added 3 members to Engineering",
            "change",
            id="add three members",
        ),
        pytest.param(
            {
                "method": "PATCH",
                "path": GROUP,
                "status": 204,
                "resource_type": "Group",
                "operation": "membership",
                "resource_label": "Engineering",
                "changes": _members(removed=["jane"]),
            },
            "Removed jane from Engineering",
            "change",
            id="remove one member by name",
        ),
        pytest.param(
            {
                "method": "PATCH",
                "path": GROUP,
                "resource_type": "Group",
                "operation": "update",
                "resource_label": "Eng",
                "changes": [{"attribute": "displayName", "before": "Engineering", "after": "Eng"}],
            },
            'Renamed group "Engineering" → "Eng"',
            "change",
            id="rename group",
        ),
        pytest.param(
            {
                "method": "PATCH",
                "path": GROUP,
                "status": 204,
                "resource_type": "Group",
                "operation": "update",
                "resource_label": "Engineering",
            },
            "No change",
            "no-change",
            id="group patch that only skipped unknown members",
        ),
        pytest.param(
            {
                "method": "DELETE",
                "path": GROUP,
                "status": 204,
                "resource_type": "Group",
                "operation": "delete",
                "resource_label": "Engineering",
            },
            "Deleted group Engineering",
            "change",
            id="delete group",
        ),
        pytest.param(
            {
                "operation": "query",
                "query_string": 'filter=userName eq "jane@x"',
                "resource_label": "jane@x",
                "resource_id": "u1",
            },
            'Lookup userName = "jane@x" → found',
            "read",
            id="lookup found",
        ),
        pytest.param(
            {
                "operation": "query",
                "query_string": 'filter=externalId eq "00u1&2"&startIndex=1&count=1',
                "resource_label": "00u1&2",
            },
            'Lookup externalId = "00u1&2" → not found',
            "read",
            id="lookup not found, an ampersand inside the filter",
        ),
        pytest.param(
            {"operation": "query", "query_string": "startIndex=201&count=100"},
            "Listed users (page 3)",
            "read",
            id="listing page",
        ),
        pytest.param(
            {
                "operation": "query",
                "query_string": None,
                "resource_type": "Group",
                "path": "/scim/v2/Groups",
            },
            "Listed groups (page 1)",
            "read",
            id="listing without parameters",
        ),
        pytest.param(
            {"operation": "query", "query_string": 'filter=name.givenName sw "J"'},
            "Searched users (filter)",
            "read",
            id="other filter",
        ),
        pytest.param(
            {
                "path": "/scim/v2/ServiceProviderConfig",
                "resource_type": "Config",
                "operation": "read",
            },
            "Discovery (ServiceProviderConfig)",
            "read",
            id="service provider config",
        ),
        pytest.param(
            {"path": "/scim/v2/Schemas", "resource_type": "Schema", "operation": "query"},
            "Discovery (Schemas)",
            "read",
            id="schemas",
        ),
        pytest.param(
            {"path": "/scim/v2/ResourceTypes/User", "resource_type": "Config", "operation": "read"},
            "Discovery (ResourceTypes)",
            "read",
            id="resource types",
        ),
        pytest.param(
            {"method": "POST", "status": 409, "operation": "create", "resource_label": "jane"},
            "Create user",
            "refused",
            id="a refused create says what was tried",
        ),
        pytest.param(
            {"method": "PATCH", "path": USER, "status": 400, "operation": "update"},
            "Update user",
            "refused",
            id="a refused patch",
        ),
        pytest.param(
            {
                "path": "/scim/v2/users",
                "status": 404,
                "resource_type": "User",
                "operation": "query",
            },
            "Wrong URL",
            "refused",
            id="unknown route, though capture read it as Users",
        ),
        pytest.param(
            {"path": "/scim/v2/Users/u9", "status": 404, "operation": "read"},
            "Read user",
            "refused",
            id="a real route's 404 is a missing resource",
        ),
        pytest.param(
            {"method": "POST", "path": USER, "status": 405, "operation": None},
            "POST request",
            "refused",
            id="a method the route does not take",
        ),
        pytest.param(
            {"method": "PUT", "path": USER, "status": 400, "operation": None},
            "Replace user",
            "refused",
            id="a refused put",
        ),
        pytest.param(
            {"method": "POST", "path": "/scim/v2/Users", "status": 401, "resource_type": None},
            "POST request",
            "refused",
            id="refused before any view",
        ),
        pytest.param(
            {"method": "GET", "path": USER, "operation": "read", "resource_label": "jane"},
            "Read user jane",
            "read",
            id="read",
        ),
    ],
)
def test_each_kind_of_request_gets_its_label(kw, text, kind):
    rv = _label(**kw)
    assert (rv.text, rv.kind) == (text, kind)


def test_two_patches_on_one_user_read_differently():
    rename = _label(
        method="PATCH",
        path=USER,
        operation="update",
        changes=[{"attribute": "name.givenName", "before": "A", "after": "B"}],
    )
    deactivate = _label(method="PATCH", path=USER, operation="deactivate")
    assert rename.text != deactivate.text


def test_long_names_are_cut_in_the_label():
    rv = _label(method="POST", status=201, operation="create", resource_label="x" * 300)
    assert len(rv.text) < 60
    assert rv.text.endswith("…")


def test_a_renamed_group_that_also_gained_a_member_says_both():
    rv = _label(
        method="PATCH",
        path=GROUP,
        resource_type="Group",
        operation="update",
        resource_label="Eng",
        changes=[
            {"attribute": "displayName", "before": "Engineering", "after": "Eng"},
            *_members(added=["bob"]),
        ],
    )
    assert rv.text == 'Renamed group "Engineering" → "Eng"; Added bob to Eng'
