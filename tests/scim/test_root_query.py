"""A query against the server root covers every resource type (RFC 7644 §3.4.2.1)."""

from __future__ import annotations


def test_a_filter_on_the_root_finds_the_user(scim):
    bob = scim.post("/Users", {"userName": "bob@example.com"}).get_json()
    scim.post("/Users", {"userName": "carol@example.com"})
    rv = scim.get('?filter=userName eq "bob@example.com"')
    assert rv.status_code == 200
    body = rv.get_json()
    assert body["totalResults"] == 1
    assert [r["id"] for r in body["Resources"]] == [bob["id"]]


def test_the_root_lists_users_and_groups_with_paging(scim):
    scim.post("/Users", {"userName": "bob@example.com"})
    scim.post("/Groups", {"displayName": "Ops"})
    body = scim.get("?count=1").get_json()
    assert body["totalResults"] == 2 and body["itemsPerPage"] == 1
    both = scim.get("").get_json()
    assert {r["meta"]["resourceType"] for r in both["Resources"]} == {"User", "Group"}


def test_an_invalid_root_filter_is_invalid_filter(scim):
    rv = scim.get('?filter=userName eq "unterminated')
    assert rv.status_code == 400
    assert rv.get_json()["scimType"] == "invalidFilter"
