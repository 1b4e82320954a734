"""From what a request changed to the events it causes.

Pure: the request's record (``willow.scim.audit.Audit``: operation, attribute changes,
members added and removed) and what was read for it (the resource as SCIM renders it
after the change, member names, effective roles) in; event drafts out, in the order a
consumer should apply them. A request that changed nothing causes none.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from . import types as t
from .envelope import Draft
from .envelope import changes_of


@dataclass(frozen=True)
class RoleChange:
    """A user's effective Willow role before and after a change (None: no role)."""

    user: dict[str, Any]  # {"id", "userName"}
    before: str | None
    after: str | None
    reason: str
    group: dict[str, Any] | None = None  # {"id", "displayName"} when a group caused it


@dataclass
class Effects:
    """What one change did, as the events need it."""

    resource_type: str | None
    operation: str | None
    #: The request log's changes (``audit.changes``).
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: The resource as SCIM renders it after the change (a group without its members);
    #: for a delete, its last state.
    resource: dict[str, Any] | None = None
    #: ``{"id", "userName"}`` of each member added and removed, in the order applied.
    members_added: list[dict[str, Any]] = field(default_factory=list)
    members_removed: list[dict[str, Any]] = field(default_factory=list)
    access: list[RoleChange] = field(default_factory=list)


_ACTIVE = "active"


def derive(effects: Effects) -> list[Draft]:
    """The events of one change, in order: the resource's own event(s), then its member
    events (removals first: a replace reads as "leave, then join"), then role changes."""
    if effects.resource_type == "User":
        drafts = _user_events(effects)
    elif effects.resource_type == "Group":
        drafts = _group_events(effects)
    else:
        drafts = []
    drafts += [_access_event(change) for change in effects.access if change.before != change.after]
    return drafts


def _user_events(effects: Effects) -> list[Draft]:
    op, user = effects.operation, effects.resource
    if user is None:
        return []
    changes = changes_of(effects.changes)
    if op == "create":
        return [Draft(t.USER_CREATED, {"user": user})]
    if op == "delete":
        return [Draft(t.USER_DELETED, {"user": user})]
    if not changes:
        return []
    if op in ("deactivate", "reactivate"):
        # A consumer that follows only user.updated still sees the other attributes that
        # changed in the same request; the status change is its own event.
        others = {name: c for name, c in changes.items() if name != _ACTIVE}
        rv = [Draft(t.USER_UPDATED, {"user": user, "changes": others})] if others else []
        kind = t.USER_DEACTIVATED if op == "deactivate" else t.USER_REACTIVATED
        status = {_ACTIVE: changes[_ACTIVE]} if _ACTIVE in changes else {}
        return [*rv, Draft(kind, {"user": user, "changes": status})]
    return [Draft(t.USER_UPDATED, {"user": user, "changes": changes})]


def _group_events(effects: Effects) -> list[Draft]:
    op, group = effects.operation, effects.resource
    if group is None:
        return []
    if op == "delete":
        return [Draft(t.GROUP_DELETED, {"group": group})]
    rv: list[Draft] = []
    if op == "create":
        rv.append(Draft(t.GROUP_CREATED, {"group": group}))
    else:
        changes = changes_of(effects.changes)
        if changes:
            rv.append(Draft(t.GROUP_UPDATED, {"group": group, "changes": changes}))
    rv += [
        Draft(t.GROUP_MEMBER_REMOVED, {"group": group, "user": user})
        for user in effects.members_removed
    ]
    rv += [
        Draft(t.GROUP_MEMBER_ADDED, {"group": group, "user": user})
        for user in effects.members_added
    ]
    return rv


def _access_event(change: RoleChange) -> Draft:
    data: dict[str, Any] = {
        "user": change.user,
        "role": {"before": change.before, "after": change.after},
        "reason": change.reason,
    }
    if change.group is not None:
        data["group"] = change.group
    return Draft(t.ACCESS_CHANGED, data)
