"""Pure: which history rows a group change makes."""

from __future__ import annotations

from willow.events.derive import Effects
from willow.membership_history.rules import Change
from willow.membership_history.rules import changes_of

GROUP = {"id": "g1", "displayName": "Engineering"}
JANE = {"id": "u-jane", "userName": "jane"}
BOB = {"id": "u-bob", "userName": "bob"}


def test_a_group_change_lists_removals_then_additions():
    effects = Effects("Group", "replace", resource=GROUP, members_added=[BOB])
    effects.members_removed = [JANE]
    assert changes_of(effects) == [
        Change("u-jane", "g1", "Engineering", "removed"),
        Change("u-bob", "g1", "Engineering", "added"),
    ]


def test_user_changes_deletions_and_no_change_make_no_rows():
    assert changes_of(None) == []
    assert changes_of(Effects("User", "create", resource=JANE)) == []
    assert changes_of(Effects("Group", "delete", resource=GROUP)) == []
    assert changes_of(Effects("Group", "update", resource=GROUP)) == []
