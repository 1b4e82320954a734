"""Which membership changes a group change made, read from what the events read.

Pure: the change's ``willow.events.derive.Effects`` in, history rows out (removals
first, as the events order them: a PUT that replaces the members reads "leave, then
join"). A group's deletion is not here: its members are read in SQL at the deletion
(``store.record_group_deleted``), however many there are.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..events.derive import Effects

ADDED = "added"
REMOVED = "removed"
GROUP_DELETED = "group_deleted"


@dataclass(frozen=True)
class Change:
    user_id: str
    group_id: str
    group_name: str | None
    change: str


def changes_of(effects: Effects | None) -> list[Change]:
    """The members a group create, PUT or PATCH added and removed; none for anything else."""
    if effects is None or effects.resource_type != "Group" or effects.resource is None:
        return []
    if effects.operation == "delete":
        return []
    group_id = effects.resource.get("id")
    if not isinstance(group_id, str):
        return []
    name = effects.resource.get("displayName")
    return [
        Change(user["id"], group_id, name, kind)
        for kind, members in ((REMOVED, effects.members_removed), (ADDED, effects.members_added))
        for user in members
    ]
