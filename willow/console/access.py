"""Group-based access control: which Willow role a pushed group grants, and the roles a
provisioned user ends up with.

An identity provider pushes groups (RFC 7644 §3.5.2 PATCH on /Groups); an admin maps a
group to one of ``willow.storage.models.ROLES``. A user's effective roles are the roles of the
groups they belong to. Deactivated (``active`` false, RFC 7643 §4.1.1) and deleted users
have none, whatever their memberships say, so deprovisioning in the IdP removes access
at once even if the IdP never removes the memberships.

Unless the deprovisioning guard holds it (``willow.guard``): a user whose deactivation or
deletion is held keeps the role they had before it, as if the IdP had not asked yet. This
module is the one place that consults the hold.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy import union

from ..guard.store import held_roles_of
from ..guard.store import hold_of
from ..storage.extensions import db
from ..storage.models import ROLES
from ..storage.models import Group
from ..storage.models import GroupMember
from ..storage.models import User


class AccessError(ValueError):
    """A role mapping that cannot be stored."""


def effective_roles(user_id: str, organization_id: int) -> set[str]:
    """The roles the user's group memberships grant in the organization (one query), or
    for a user whose deprovisioning is held, the role they had before it (the same query:
    this check runs on every console request of an SSO account)."""
    held = held_roles_of(user_id, organization_id)
    from_groups = (
        select(Group.role)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .join(User, User.id == GroupMember.user_id)
        .where(
            GroupMember.user_id == user_id,
            GroupMember.organization_id == organization_id,
            Group.organization_id == organization_id,
            Group.role.is_not(None),
            User.organization_id == organization_id,
            User.active.is_(True),
            User.deleted_at.is_(None),
            ~held.exists(),
        )
    )
    stmt = union(from_groups, select(held.limit(1).scalar_subquery()).where(held.exists()))
    return {role for role in db.session.scalars(stmt) if role is not None}


def deprovisioned(user: User) -> str | None:
    """``deleted`` or ``deactivated`` when the user has lost access by SCIM, None when they
    are active, or their deprovisioning is held by the guard."""
    if user.deleted_at is None and user.active:
        return None
    if hold_of(user.id, user.organization_id) is not None:
        return None
    return "deleted" if user.deleted_at is not None else "deactivated"


def set_group_role(group: Group, role: str | None) -> None:
    """Map ``group`` to ``role`` (``None`` removes the mapping); the caller commits.

    The role is Willow's, not a SCIM attribute: the group's SCIM version and
    lastModified stay as they are, so IdPs see no change to the resource.
    """
    if role is not None and role not in ROLES:
        raise AccessError(f"role must be one of {', '.join(ROLES)}, or none")
    group.role = role
