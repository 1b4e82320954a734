"""Pure: from what a request changed to the events it causes."""

from __future__ import annotations

from willow.events.derive import Effects
from willow.events.derive import RoleChange
from willow.events.derive import derive

USER = {"id": "u1", "userName": "alice@example.com", "meta": {"version": 'W/"2"'}}
GROUP = {"id": "g1", "displayName": "Engineering", "meta": {"version": 'W/"3"'}}


def types(drafts) -> list[str]:
    return [d.type for d in drafts]


def test_a_created_user_is_one_event_with_the_resource():
    drafts = derive(Effects("User", "create", [{"attribute": "userName"}], USER))
    assert types(drafts) == ["user.created"]
    assert drafts[0].data == {"user": USER}


def test_an_update_that_changed_nothing_causes_no_event():
    assert derive(Effects("User", "update", [], USER)) == []
    assert derive(Effects("Group", "update", [], GROUP)) == []


def test_a_read_or_query_causes_no_event():
    assert derive(Effects("User", "read", [], USER)) == []
    assert derive(Effects(None, "query")) == []


def test_an_update_carries_each_changed_attribute_before_and_after():
    changes = [{"attribute": "title", "before": None, "after": "CTO"}]
    drafts = derive(Effects("User", "update", changes, USER))
    assert types(drafts) == ["user.updated"]
    assert drafts[0].data["changes"] == {"title": {"before": None, "after": "CTO"}}


def test_a_deactivation_alone_is_one_deactivated_event():
    changes = [{"attribute": "active", "before": True, "after": False}]
    drafts = derive(Effects("User", "deactivate", changes, USER))
    assert types(drafts) == ["user.deactivated"]
    assert drafts[0].data["changes"] == {"active": {"before": True, "after": False}}


def test_a_deactivation_with_other_changes_also_tells_user_updated_subscribers():
    changes = [
        {"attribute": "active", "before": True, "after": False},
        {"attribute": "title", "before": "A", "after": "B"},
    ]
    drafts = derive(Effects("User", "deactivate", changes, USER))
    assert types(drafts) == ["user.updated", "user.deactivated"]
    assert drafts[0].data["changes"] == {"title": {"before": "A", "after": "B"}}


def test_a_reactivation_is_its_own_event():
    changes = [{"attribute": "active", "before": False, "after": True}]
    assert types(derive(Effects("User", "reactivate", changes, USER))) == ["user.reactivated"]


def test_a_deleted_user_and_group_each_cause_one_event():
    assert types(derive(Effects("User", "delete", [], USER))) == ["user.deleted"]
    assert types(derive(Effects("Group", "delete", [], GROUP))) == ["group.deleted"]


def test_member_events_name_the_group_and_each_user_removals_first():
    a, b, c = ({"id": i, "userName": f"{i}@x"} for i in ("a", "b", "c"))
    effects = Effects(
        "Group", "membership", [{"attribute": "members", "added": [], "removed": []}], GROUP,
        members_added=[a, b], members_removed=[c],
    )
    drafts = derive(effects)
    assert types(drafts) == ["group.member_removed", "group.member_added", "group.member_added"]
    assert drafts[1].data == {"group": GROUP, "user": a}


def test_a_rename_is_group_updated_with_its_changes():
    changes = [{"attribute": "displayName", "before": "Eng", "after": "Engineering"}]
    drafts = derive(Effects("Group", "update", changes, GROUP))
    assert types(drafts) == ["group.updated"]
    assert drafts[0].data["changes"] == {"displayName": {"before": "Eng", "after": "Engineering"}}


def test_a_created_group_with_members_is_created_then_member_added():
    a = {"id": "a", "userName": "a@x"}
    drafts = derive(Effects("Group", "create", [], GROUP, members_added=[a]))
    assert types(drafts) == ["group.created", "group.member_added"]


def test_access_changed_comes_last_and_only_when_the_role_moves():
    user = {"id": "a", "userName": "a@x"}
    group = {"id": "g1", "displayName": "Engineering"}
    effects = Effects(
        "Group", "membership", [{"attribute": "members"}], GROUP, members_added=[user],
        access=[
            RoleChange(user, None, "admin", "membership", group),
            RoleChange({"id": "b", "userName": "b@x"}, "admin", "admin", "membership", group),
        ],
    )
    drafts = derive(effects)
    assert types(drafts) == ["group.member_added", "access.changed"]
    assert drafts[-1].data == {
        "user": user, "role": {"before": None, "after": "admin"}, "reason": "membership",
        "group": group,
    }
