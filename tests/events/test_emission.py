"""Every SCIM write and role mapping writes its events in the change's own transaction,
on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.scim.test_groups import make_group
from tests.scim.test_users import create
from tests.scim.test_users import patch_ops
from willow.storage.extensions import db
from willow.storage.models import Event
from willow.storage.models import User
from willow.storage.models import utcnow


def replace(path: str, value) -> dict:
    return patch_ops({"op": "replace", "path": path, "value": value})


def types_of(events) -> list[str]:
    return [e["type"] for e in events]


def test_a_user_lifecycle_writes_one_event_per_effect_in_sequence(scim, stored_events):
    user = create(scim, "alice@example.com")
    scim.patch(f"/Users/{user['id']}", replace("title", "CTO"))
    scim.patch(f"/Users/{user['id']}", replace("active", False))
    scim.patch(f"/Users/{user['id']}", replace("active", True))
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    events = stored_events()
    assert types_of(events) == [
        "user.created", "user.updated", "user.deactivated", "user.reactivated", "user.deleted",
    ]
    assert [e["sequence"] for e in events] == [1, 2, 3, 4, 5]
    assert len({e["id"] for e in events}) == 5
    assert len({e["request_id"] for e in events}) == 5
    assert events[0]["organization"] == "default"
    assert events[0]["actor"].startswith("token-")
    assert events[0]["data"]["user"]["userName"] == "alice@example.com"
    assert events[1]["data"]["changes"] == {"title": {"before": None, "after": "CTO"}}
    assert events[1]["data"]["user"]["meta"]["version"] == 'W/"2"'
    assert events[2]["data"]["changes"] == {"active": {"before": True, "after": False}}
    assert events[4]["data"]["user"]["active"] is False


def test_the_event_names_the_request_log_entry_of_its_request(app, scim, stored_events):
    create(scim, "alice@example.com")
    app.extensions["willow_request_log"].flush(timeout=5)
    (event,) = stored_events()
    with app.app_context():
        logged = db.session.execute(
            sa.text("SELECT method, status_code FROM scim_request_logs WHERE request_id = :r"),
            {"r": event["request_id"]},
        ).all()
    assert [tuple(r) for r in logged] == [("POST", 201)]


def test_a_request_that_changes_nothing_writes_no_event(scim, stored_events):
    user = create(scim, "alice@example.com", title="CTO")
    group = make_group(scim, "Engineering", [user["id"]])
    scim.patch(f"/Users/{user['id']}", replace("title", "CTO"))
    scim.patch(
        f"/Groups/{group['id']}",
        patch_ops({"op": "add", "path": "members", "value": [{"value": user["id"]}]}),
    )
    scim.get(f"/Users/{user['id']}")
    assert types_of(stored_events()) == ["user.created", "group.created", "group.member_added"]


def test_a_refused_or_failed_request_writes_no_event(scim, stored_events):
    create(scim, "alice@example.com")
    assert scim.post("/Users", {"schemas": [], "userName": "ALICE@example.com"}).status_code == 409
    assert scim.patch(f"/Users/{uuid.uuid4()}", patch_ops({"op": "replace", "path": "title",
                                                           "value": "x"})).status_code == 404
    assert scim.post("/Groups", {"displayName": ""}).status_code == 400
    assert types_of(stored_events()) == ["user.created"]


def test_events_are_written_in_the_change_transaction_or_not_at_all(
    app, scim, stored_events, monkeypatch
):
    """The log row is written after the events: failing it fails the request, and the
    user and its already inserted event are rolled back together."""
    from willow.monitor import capture

    def broken(response, connection):
        raise RuntimeError("disk full")

    monkeypatch.setattr(capture, "write_in_transaction", broken)
    rv = scim.post("/Users", {"userName": "alice@example.com"})
    assert rv.status_code == 500
    assert stored_events() == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
        assert db.session.scalar(sa.text("SELECT event_sequence FROM organizations")) == 0


def test_group_events_name_the_group_without_members_and_each_user(scim, stored_events):
    alice, bob = create(scim, "alice@example.com"), create(scim, "bob@example.com")
    group = make_group(scim, "Engineering", [alice["id"]])
    scim.patch(
        f"/Groups/{group['id']}",
        patch_ops(
            {"op": "replace", "path": "displayName", "value": "Eng"},
            {"op": "add", "path": "members", "value": [{"value": bob["id"]}]},
            {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'},
        ),
    )
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    events = stored_events()[2:]
    assert types_of(events) == [
        "group.created", "group.member_added",
        "group.updated", "group.member_removed", "group.member_added",
        "group.deleted",
    ]
    assert "members" not in events[0]["data"]["group"]
    assert events[1]["data"]["user"] == {"id": alice["id"], "userName": "alice@example.com"}
    renamed = {"displayName": {"before": "Engineering", "after": "Eng"}}
    assert events[2]["data"]["changes"] == renamed
    assert events[3]["data"]["user"]["id"] == alice["id"]
    assert events[4]["data"]["group"]["displayName"] == "Eng"
    version = events[2]["data"]["group"]["meta"]["version"]
    assert events[4]["data"]["group"]["meta"]["version"] == version
    assert events[5]["data"]["group"]["id"] == group["id"]


def _map_role(client, console, group_id: str, role: str):
    console.login()
    rv = client.post(f"/admin/directory/groups/{group_id}/role", data={"role": role})
    assert rv.status_code == 302, rv.get_data(as_text=True)


def test_access_changed_follows_membership_mapping_status_and_deletion(
    client, console, scim, stored_events
):
    alice, bob = create(scim, "alice@example.com"), create(scim, "bob@example.com")
    admins = make_group(scim, "Admins", [alice["id"]])
    viewers = make_group(scim, "Viewers", [alice["id"]])
    _map_role(client, console, viewers["id"], "viewer")
    _map_role(client, console, admins["id"], "admin")
    scim.patch(
        f"/Groups/{admins['id']}",
        patch_ops({"op": "add", "path": "members", "value": [{"value": bob["id"]}]}),
    )
    scim.patch(f"/Users/{alice['id']}", replace("active", False))
    scim.patch(f"/Users/{alice['id']}", replace("active", True))
    scim.patch(f"/Groups/{admins['id']}",
               patch_ops({"op": "remove", "path": f'members[value eq "{alice["id"]}"]'}))
    assert scim.delete(f"/Users/{bob['id']}").status_code == 204
    assert scim.delete(f"/Groups/{viewers['id']}").status_code == 204
    access = [
        (e["data"]["user"]["userName"].split("@")[0], e["data"]["role"]["before"],
         e["data"]["role"]["after"], e["data"]["reason"], e["request_id"] is None)
        for e in stored_events(("access.changed",))
    ]
    assert access == [
        ("alice", None, "viewer", "role_mapping", True),
        ("alice", "viewer", "admin", "role_mapping", True),
        ("bob", None, "admin", "membership", False),
        ("alice", "admin", None, "deactivated", False),
        ("alice", None, "admin", "reactivated", False),
        ("alice", "admin", "viewer", "membership", False),
        ("bob", "admin", None, "deleted", False),
        ("alice", "viewer", None, "group_deleted", False),
    ]
    mapping = stored_events(("access.changed",))[0]
    assert mapping["actor"] == "admin@example.com"
    assert mapping["data"]["group"] == {"id": viewers["id"], "displayName": "Viewers"}


def test_a_mapping_change_that_moves_nobody_writes_no_event(client, console, scim, stored_events):
    make_group(scim, "Empty")
    group = make_group(scim, "Other")
    _map_role(client, console, group["id"], "admin")
    assert stored_events(("access.changed",)) == []


def test_the_cli_role_mapping_writes_access_changed_with_actor_cli(runner, scim, stored_events):
    alice = create(scim, "alice@example.com")
    make_group(scim, "Admins", [alice["id"]])
    result = runner.invoke(args=["group", "role", "Admins", "admin"])
    assert result.exit_code == 0, result.output
    (event,) = stored_events(("access.changed",))
    assert event["actor"] == "cli"
    assert event["data"]["role"] == {"before": None, "after": "admin"}


def _insert_users(app, count: int) -> list[str]:
    now = utcnow()
    rows = [
        {"id": str(uuid.uuid4()), "organization_id": 1, "user_name": f"bulk{i}@example.com",
         "user_name_norm": f"bulk{i}@example.com", "active": True, "created_at": now,
         "last_modified_at": now, "version": 1}
        for i in range(count)
    ]
    with app.app_context():
        db.session.execute(sa.insert(User.__table__), rows)
        db.session.commit()
    return [r["id"] for r in rows]


def test_a_large_member_patch_writes_one_event_per_member_in_one_sequence_run(
    app, scim, stored_events
):
    ids = _insert_users(app, 3000)
    group = make_group(scim, "Everyone")
    rv = scim.patch(
        f"/Groups/{group['id']}",
        patch_ops({"op": "add", "path": "members", "value": [{"value": i} for i in ids]}),
    )
    assert rv.status_code == 204
    added = stored_events(("group.member_added",))
    assert [e["data"]["user"]["id"] for e in added] == ids
    assert [e["sequence"] for e in added] == list(range(2, 3002))
    assert len({e["request_id"] for e in added}) == 1
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT event_sequence FROM organizations")) == 3001
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 3001


@pytest.mark.parametrize("other_slug", ["acme"])
def test_each_organization_has_its_own_sequence(app, client, make_token, scim, stored_events,
                                                other_slug):
    from tests.conftest import ScimActions
    from willow.console.organizations import create_organization

    with app.app_context():
        org = create_organization(other_slug, "Acme")
        db.session.commit()
        org_id = org.id
    other = ScimActions(client, make_token(org_id))
    create(scim, "a@example.com")
    create(other, "a@example.com")
    create(other, "b@example.com")
    events = stored_events()
    assert [(e["organization"], e["sequence"]) for e in events] == [
        ("default", 1), (other_slug, 1), (other_slug, 2),
    ]
