"""Group-based access control: which Willow role a pushed group grants, and the roles a
provisioned user ends up with.

An identity provider pushes groups (RFC 7644 §3.5.2 PATCH on /Groups); an admin maps a
group to one of ``willow.models.ROLES``. A user's effective roles are the roles of the
groups they belong to. Deactivated (``active`` false, RFC 7643 §4.1.1) and deleted users
have none, whatever their memberships say, so deprovisioning in the IdP removes access
at once even if the IdP never removes the memberships.
"""

from __future__ import annotations

from sqlalchemy import select

from .extensions import db
from .models import ROLES
from .models import Group
from .models import GroupMember
from .models import User


class AccessError(ValueError):
    """A role mapping that cannot be stored."""


def effective_roles(user_id: str, organization_id: int) -> set[str]:
    """The roles the user's group memberships grant in the organization (one query)."""
    stmt = (
        select(Group.role)
        .distinct()
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
        )
    )
    return set(db.session.scalars(stmt))


def set_group_role(group: Group, role: str | None) -> None:
    """Map ``group`` to ``role`` (``None`` removes the mapping); the caller commits.

    The role is Willow's, not a SCIM attribute: the group's SCIM version and
    lastModified stay as they are, so IdPs see no change to the resource.
    """
    if role is not None and role not in ROLES:
        raise AccessError(f"role must be one of {', '.join(ROLES)}, or none")
    group.role = role
