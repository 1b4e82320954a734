"""HTTP behaviour of /Groups and group push, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from .test_users import assert_error
from .test_users import create
from .test_users import patch_ops

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def make_group(scim, name: str = "Engineering", members=()) -> dict:
    rv = scim.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in members],
        },
    )
    assert rv.status_code == 201, rv.get_json()
    return rv.get_json()


def member_ids(scim, group_id: str) -> list[str]:
    return sorted(m["value"] for m in scim.get(f"/Groups/{group_id}").get_json().get("members", []))


@pytest.fixture
def people(scim) -> list[str]:
    return [create(scim, f"person{i}@example.com")["id"] for i in range(4)]


def test_create_with_members_returns_201_location_etag(scim, people):
    rv = scim.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA, ENTRA_GROUP_SCHEMA],
            "displayName": "Test SCIMv2",
            "externalId": "okta-1",
            "meta": {"resourceType": "Group"},
            "members": [{"value": people[0], "display": "x"}],
        },
    )
    assert rv.status_code == 201, rv.get_json()
    body = rv.get_json()
    assert rv.headers["Location"] == body["meta"]["location"]
    assert rv.headers["ETag"] == body["meta"]["version"]
    assert body["displayName"] == "Test SCIMv2" and body["externalId"] == "okta-1"
    assert body["members"] == [
        {
            "value": people[0],
            "$ref": body["members"][0]["$ref"],
            "display": "Test User",
            "type": "User",
        }
    ]
    assert body["schemas"] == [GROUP_SCHEMA]


def test_okta_create_with_empty_members_and_get(scim):
    group = make_group(scim)
    assert group["members"] == []
    assert scim.get(f"/Groups/{group['id']}").get_json()["displayName"] == "Engineering"


@pytest.mark.parametrize("second", ["Engineering", "ENGINEERING"])
def test_duplicate_display_name_is_409(scim, second):
    make_group(scim)
    assert_error(scim.post("/Groups", {"displayName": second}), 409, "uniqueness")


def test_filter_by_display_name_case_insensitive_with_excluded_members(scim, people):
    make_group(scim, "Engineering", people[:2])
    rv = scim.get('/Groups?filter=displayName eq "engineering"&excludedAttributes=members')
    body = rv.get_json()
    assert body["totalResults"] == 1
    assert "members" not in body["Resources"][0]
    assert body["Resources"][0]["displayName"] == "Engineering"
    one = scim.get(f"/Groups/{body['Resources'][0]['id']}?excludedAttributes=members").get_json()
    assert "members" not in one


def test_empty_groups_list_is_200(scim):
    body = scim.get("/Groups?startIndex=1&count=100").get_json()
    assert body["totalResults"] == 0 and body["Resources"] == []


def test_patch_add_members_is_idempotent_and_answers_204(scim, people):
    group = make_group(scim)
    url = f"/Groups/{group['id']}"
    add = patch_ops(
        {
            "op": "add",
            "path": "members",
            "value": [{"value": people[0], "display": "p0"}, {"value": people[1]}],
        }
    )
    rv = scim.patch(url, add)
    assert rv.status_code == 204 and rv.get_data() == b""
    assert scim.patch(url, add).status_code == 204
    assert member_ids(scim, group["id"]) == sorted(people[:2])


def test_okta_remove_by_value_filter_removes_only_that_member(scim, people):
    group = make_group(scim, members=people)
    rv = scim.patch(
        f"/Groups/{group['id']}",
        patch_ops(
            {"op": "remove", "path": f'members[value eq "{people[1]}"]'},
            {"op": "add", "path": "members", "value": [{"value": people[1]}]},
            {"op": "remove", "path": f'members[value eq "{people[2]}"]'},
        ),
    )
    assert rv.status_code == 204
    assert member_ids(scim, group["id"]) == sorted([people[0], people[1], people[3]])


def test_entra_and_jumpcloud_remove_with_value_list_removes_only_those(scim, people):
    group = make_group(scim, members=people)
    rv = scim.patch(
        f"/Groups/{group['id']}",
        patch_ops(
            {
                "op": "Remove",
                "path": "members",
                "value": [{"$ref": None, "value": people[0]}, {"value": people[3]}],
            }
        ),
    )
    assert rv.status_code == 204
    assert member_ids(scim, group["id"]) == sorted(people[1:3])


def test_remove_members_without_value_clears_the_group(scim, people):
    group = make_group(scim, members=people)
    assert (
        scim.patch(
            f"/Groups/{group['id']}", patch_ops({"op": "remove", "path": "members"})
        ).status_code
        == 204
    )
    assert member_ids(scim, group["id"]) == []


@pytest.mark.parametrize("keep", [[], [0], [1, 2]])
def test_replace_members_sets_the_list_exactly(scim, people, keep):
    group = make_group(scim, members=people[:2])
    wanted = [people[i] for i in keep]
    rv = scim.patch(
        f"/Groups/{group['id']}",
        patch_ops({"op": "replace", "path": "members", "value": [{"value": m} for m in wanted]}),
    )
    assert rv.status_code == 204
    assert member_ids(scim, group["id"]) == sorted(wanted)


def test_okta_rename_with_own_id_and_entra_rename_with_path(scim):
    group = make_group(scim)
    url = f"/Groups/{group['id']}"
    rv = scim.patch(
        url, patch_ops({"op": "replace", "value": {"id": group["id"], "displayName": "Renamed"}})
    )
    assert rv.status_code == 204
    rv = scim.patch(url, patch_ops({"op": "Replace", "path": "displayName", "value": "Again"}))
    assert rv.status_code == 204
    rv = scim.patch(url, patch_ops({"op": "replace", "value": {"externalId": "ext-9"}}))
    got = scim.get(url).get_json()
    assert got["displayName"] == "Again" and got["externalId"] == "ext-9"
    assert got["meta"]["version"] == 'W/"4"'


def test_rename_with_another_groups_id_is_400_mutability(scim):
    group = make_group(scim)
    rv = scim.patch(
        f"/Groups/{group['id']}",
        patch_ops({"op": "replace", "value": {"id": "someone-else", "displayName": "X"}}),
    )
    assert_error(rv, 400, "mutability")


def test_rename_onto_an_existing_name_is_409(scim):
    make_group(scim, "Sales")
    group = make_group(scim, "Support")
    rv = scim.patch(
        f"/Groups/{group['id']}",
        patch_ops({"op": "replace", "path": "displayName", "value": "SALES"}),
    )
    assert_error(rv, 409, "uniqueness")


def test_unknown_member_ids_are_skipped_and_the_known_ones_applied(app, scim, people):
    group = make_group(scim)
    rv = scim.patch(
        f"/Groups/{group['id']}",
        patch_ops(
            {
                "op": "add",
                "path": "members",
                "value": [{"value": "no-such-user"}, {"value": people[0]}],
            }
        ),
    )
    assert rv.status_code == 204
    assert member_ids(scim, group["id"]) == [people[0]]


def test_member_without_value_is_400_invalid_value(scim):
    group = make_group(scim)
    rv = scim.patch(
        f"/Groups/{group['id']}",
        patch_ops({"op": "add", "path": "members", "value": [{"display": "nobody"}]}),
    )
    assert_error(rv, 400, "invalidValue")


def test_patch_with_attributes_returns_200_and_the_group(scim, people):
    group = make_group(scim)
    rv = scim.patch(
        f"/Groups/{group['id']}?excludedAttributes=members",
        patch_ops({"op": "add", "path": "members", "value": [{"value": people[0]}]}),
    )
    assert rv.status_code == 200
    assert rv.get_json()["displayName"] == "Engineering" and "members" not in rv.get_json()


def test_put_replaces_name_and_members_exactly(scim, people):
    group = make_group(scim, members=people[:3])
    rv = scim.put(
        f"/Groups/{group['id']}",
        {
            "schemas": [GROUP_SCHEMA],
            "id": group["id"],
            "displayName": "Eng (AIW)",
            "members": [{"value": people[2]}, {"value": people[3]}],
        },
    )
    assert rv.status_code == 200, rv.get_json()
    assert rv.get_json()["displayName"] == "Eng (AIW)"
    assert member_ids(scim, group["id"]) == sorted(people[2:])


def test_delete_group_keeps_users_then_404(scim, people):
    group = make_group(scim, members=people)
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert_error(scim.get(f"/Groups/{group['id']}"), 404)
    assert_error(scim.delete(f"/Groups/{group['id']}"), 404)
    assert scim.get(f"/Users/{people[0]}").status_code == 200
    assert "groups" not in scim.get(f"/Users/{people[0]}").get_json()


def test_deleting_a_user_removes_it_from_every_group(scim, people):
    group = make_group(scim, members=people[:2])
    scim.delete(f"/Users/{people[0]}")
    assert member_ids(scim, group["id"]) == [people[1]]


def test_a_user_of_another_organization_cannot_be_added(app, scim, client, make_token, people):
    from willow.console.organizations import create_organization
    from willow.storage.extensions import db

    with app.app_context():
        other_org = create_organization("other", "Other").id
        db.session.commit()
    other = type(scim)(client, make_token(other_org))
    group = make_group(other, "Theirs")
    rv = other.patch(
        f"/Groups/{group['id']}",
        patch_ops({"op": "add", "path": "members", "value": [{"value": people[0]}]}),
    )
    assert rv.status_code == 204
    assert member_ids(other, group["id"]) == []
    assert_error(scim.get(f"/Groups/{group['id']}"), 404)


def test_concurrent_adds_from_many_threads_lose_no_member(app, scim, client, token):
    """8 threads × 50 single-member PATCHes on one group: all 400 members remain."""
    from willow.storage.extensions import db
    from willow.storage.models import User
    from willow.storage.models import utcnow

    with app.app_context():
        org_id = db.session.execute(
            db.text("select id from organizations where slug='default'")
        ).scalar_one()
        users = [
            User(
                organization_id=org_id,
                user_name=f"c{i}@x.io",
                user_name_norm=f"c{i}@x.io",
                created_at=utcnow(),
                last_modified_at=utcnow(),
            )
            for i in range(400)
        ]
        db.session.add_all(users)
        db.session.commit()
        ids = [u.id for u in users]
    group = make_group(scim, "Concurrent")
    errors: list[str] = []

    def worker(chunk: list[str]) -> None:
        actions = type(scim)(app.test_client(), token)
        for uid in chunk:
            rv = actions.patch(
                f"/Groups/{group['id']}",
                patch_ops({"op": "add", "path": "members", "value": [{"value": uid}]}),
            )
            if rv.status_code != 204:
                errors.append(rv.get_data(as_text=True))

    threads = [threading.Thread(target=worker, args=(ids[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert member_ids(scim, group["id"]) == sorted(ids)
    assert scim.get(f"/Groups/{group['id']}").get_json()["meta"]["version"] == 'W/"401"'


def test_a_patch_that_changes_nothing_keeps_the_version(scim, people):
    group = make_group(scim, members=people[:1])
    url = f"/Groups/{group['id']}"
    readd = patch_ops(
        {"op": "add", "path": "members", "value": [{"value": people[0]}]},
        {"op": "replace", "value": {"id": group["id"], "displayName": "Engineering"}},
    )
    assert scim.patch(url, readd).status_code == 204
    assert scim.get(url).get_json()["meta"]["version"] == group["meta"]["version"]
