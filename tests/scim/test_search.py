"""``POST /.search`` across Users and Groups (RFC 7644 §3.4.3), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def mixed(scim) -> None:
    """Users and groups whose displayNames interleave: a(G) b(U) c(G) d(U)."""
    for kind, name in (("user", "d"), ("group", "c"), ("user", "b"), ("group", "a")):
        if kind == "user":
            rv = scim.post("/Users", {"userName": f"{name}@example.com", "displayName": name})
        else:
            rv = scim.post("/Groups", {"displayName": name})
        assert rv.status_code == 201, rv.get_json()


def search(scim, **body) -> tuple[list[str], dict]:
    rv = scim.post("/.search", {"schemas": [SEARCH], **body})
    assert rv.status_code == 200, rv.get_json()
    payload = rv.get_json()
    names = [r.get("displayName") or r.get("userName") for r in payload["Resources"]]
    return names, payload


@pytest.mark.usefixtures("mixed")
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"sortBy": "displayName"}, ["a", "b", "c", "d"]),
        ({"sortBy": "displayName", "sortOrder": "descending"}, ["d", "c", "b", "a"]),
        ({"sortBy": "displayName", "startIndex": 2, "count": 2}, ["b", "c"]),
        ({"sortBy": "displayName", "filter": 'displayName ne "b"'}, ["a", "c", "d"]),
        # An attribute only Users have: Groups lack it, and resources without the sort
        # attribute come last in either order; ties keep the unsorted order (Users first,
        # each type in creation order).
        ({"sortBy": "userName"}, ["b", "d", "c", "a"]),
        ({"sortBy": "userName", "sortOrder": "descending"}, ["d", "b", "c", "a"]),
        ({"sortBy": "members.value"}, ["d", "b", "c", "a"]),
        ({"sortBy": "meta.created", "sortOrder": "descending"}, ["a", "b", "c", "d"]),
        ({"sortBy": "active", "attributes": ["displayName"]}, ["d", "b", "c", "a"]),
    ],
)
def test_root_search_sorts_users_and_groups_as_one_list(scim, body, expected):
    """RFC 7644 §3.4.2.3: the sort applies to the whole result, not to each type."""
    names, payload = search(scim, **body)
    assert names == expected
    assert payload["itemsPerPage"] == len(expected)


@pytest.mark.usefixtures("mixed")
def test_root_search_total_counts_every_match_while_sorted(scim):
    names, payload = search(scim, sortBy="displayName", count=1)
    assert names == ["a"] and payload["totalResults"] == 4 and payload["startIndex"] == 1


@pytest.mark.usefixtures("mixed")
def test_root_search_sort_by_an_attribute_no_type_has_is_400(scim):
    rv = scim.post("/.search", {"schemas": [SEARCH], "sortBy": "shoeSize"})
    assert rv.status_code == 400 and rv.get_json()["scimType"] == "invalidValue"


@pytest.mark.usefixtures("mixed")
def test_root_search_without_sort_lists_users_then_groups(scim):
    names, _ = search(scim)
    assert names == ["d", "b", "c", "a"]
