"""Writing the events of a change, in the change's own transaction.

The SCIM views call these with what they changed, right before the request's log row is
written and the transaction commits (``willow.scim.views._commit``); the console's
group → role mapping calls ``role_mapping_changed`` before its commit. A request that
fails rolls back, and its events with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from ..scim import audit
from ..scim import transaction
from ..scim.http import base_url
from ..scim.protocol.render import Projection
from ..scim.store import groups
from ..scim.store import users
from ..storage.extensions import db
from ..storage.models import Group
from ..storage.models import utcnow
from . import roles
from .derive import Effects
from .derive import derive
from .envelope import Draft
from .store import write_events

_USER = Projection("User")
_GROUP_WITHOUT_MEMBERS = Projection("Group", excluded=["members"])


def write(conn: Connection, effects: Effects) -> int:
    """Derive and write the events of the current SCIM request's change; how many."""
    return write_drafts(conn, derive(effects))


def write_drafts(conn: Connection, drafts: list[Draft]) -> int:
    """Write the current SCIM request's events; how many."""
    record = audit.current()
    return write_events(
        conn,
        record.organization_id,
        drafts,
        request_id=record.request_id,
        actor=record.token_name,
    )


def _user_resource(user: users.StoredUser) -> dict[str, Any]:
    return users.represent(user, base_url(), _USER)


def _group_resource(group: Group) -> dict[str, Any]:
    return groups.represent(group, base_url(), _GROUP_WITHOUT_MEMBERS, members=[])


def user_effects(user: users.StoredUser) -> Effects | None:
    """A created or updated (deactivated, reactivated) user; None when nothing changed."""
    record = audit.current()
    if record.operation != "create" and not record.changes:
        return None
    effects = Effects("User", record.operation, record.changes, _user_resource(user))
    if record.operation in ("deactivate", "reactivate"):
        effects.access = roles.status_change(
            transaction.connection(), user.id, user.user_name, record.operation
        )
    return effects


def user_delete_effects(organization_id: int, user_id: str) -> Effects:
    """Read before a DELETE (which removes the user's memberships): the user's last
    state, as deleted, and the role they lose."""
    conn = transaction.connection()
    user = users.get_user(conn, organization_id, user_id, lock=True)
    active = user.resource.get("active", True)
    gone = users.StoredUser(
        user.id, {**user.resource, "active": False}, [], user.version + 1, user.created, utcnow()
    )
    effects = Effects("User", "delete", resource=_user_resource(gone))
    effects.access = roles.role_before_delete(conn, user.id, user.user_name, active)
    return effects


def group_effects(group: Group) -> Effects | None:
    """A created or changed group (attributes, members); None when nothing changed."""
    record = audit.current()
    if record.operation != "create" and not record.changes:
        return None
    effects = Effects("Group", record.operation, record.changes, _group_resource(group))
    added, removed = record.members_added, record.members_removed
    if added or removed:
        conn = db.session.connection()
        names = None if group.role is not None else _logged_names(record.changes)
        if names is None or any(u not in names for u in added + removed):
            names = roles.user_rows(conn, added + removed)
        effects.members_added = [_member(u, names) for u in added]
        effects.members_removed = [_member(u, names) for u in removed]
        effects.access = roles.membership_changes(
            conn, group.id, group.display_name, group.role, added, removed, names
        )
    return effects


def _logged_names(changes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The members' userNames as the request log already read them (``display``; a few
    hundred at most), so a small change to a group that grants no role reads nothing
    more. The log's list says whether they are live; only a role change needs that."""
    rv: dict[str, Any] = {}
    for change in changes:
        if change.get("attribute") != "members":
            continue
        for member in (*change.get("added", ()), *change.get("removed", ())):
            if member.get("value") is None:  # "… and N more": the list is cut
                return None
            rv[member["value"]] = (member.get("display"), True)
    return rv


def _member(user_id: str, names: dict[str, Any]) -> dict[str, Any]:
    return {"id": user_id, "userName": names.get(user_id, (None, False))[0]}


def group_delete_effects(organization_id: int, group_id: str) -> Effects:
    """Read before a group is deleted: its last state and the roles its members lose."""
    group = groups.get_group(organization_id, group_id, lock=True)
    effects = Effects("Group", "delete", resource=_group_resource(group))
    effects.access = roles.group_role_changes(
        db.session.connection(), group.id, group.display_name, group.role, None, "group_deleted"
    )
    return effects


def role_mapping_changed(group: Group, before: str | None, actor: str | None) -> None:
    """The console (or CLI) mapped ``group`` to a new role (already set on ``group``, not
    committed): ``access.changed`` for each member whose effective role moves, in the
    session's transaction. There is no SCIM request: ``request_id`` is None."""
    # The group's row first, the organization's event counter last, as every SCIM write
    # takes them: a flush at commit, after the counter, could deadlock with a group PATCH.
    db.session.flush()
    conn = db.session.connection()
    changes = roles.group_role_changes(
        conn, group.id, group.display_name, before, group.role, "role_mapping"
    )
    write_events(
        conn,
        group.organization_id,
        derive(Effects(None, None, access=changes)),
        request_id=None,
        actor=actor,
    )
