"""Group-based access control: group → role mapping and a user's effective roles."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from willow.console.access import AccessError
from willow.console.access import effective_roles
from willow.console.access import set_group_role
from willow.storage.extensions import db
from willow.storage.models import Group
from willow.storage.models import Organization


def _org(app, slug: str = "default") -> int:
    with app.app_context():
        return db.session.scalars(sa.select(Organization.id).where(Organization.slug == slug)).one()


def roles(app, user_id: str, org_id: int) -> set[str]:
    with app.app_context():
        return effective_roles(user_id, org_id)


def test_user_gets_the_roles_of_their_mapped_groups(app, directory):
    ann = directory.user("ann")
    directory.group("Admins", role="admin", members=[ann])
    directory.group("Staff", role="member", members=[ann])
    directory.group("Unmapped", members=[ann])
    directory.group("Viewers", role="viewer")
    assert roles(app, ann, _org(app)) == {"admin", "member"}


def test_two_groups_with_one_role_give_it_once(app, directory):
    ann = directory.user("ann")
    directory.group("A", role="member", members=[ann])
    directory.group("B", role="member", members=[ann])
    assert roles(app, ann, _org(app)) == {"member"}


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ({}, {"viewer"}),
        ({"active": False}, set()),
        ({"deleted_at": sa.func.now()}, set()),
    ],
    ids=["active", "deactivated", "deleted"],
)
def test_only_active_live_users_have_roles(app, directory, columns, expected):
    user = directory.user("ann", **columns)
    directory.group("Viewers", role="viewer", members=[user])
    assert roles(app, user, _org(app)) == expected


def test_user_without_memberships_has_no_roles(app, directory):
    assert roles(app, directory.user("ann"), _org(app)) == set()


def test_roles_are_scoped_to_the_organization(app, directory):
    other = directory.other_org()
    ann = directory.user("ann")
    directory.group("Admins", role="admin", members=[ann])
    assert roles(app, ann, other) == set()


def test_effective_roles_is_one_query(app, directory):
    ann = directory.user("ann")
    for i in range(5):
        directory.group(f"G{i}", role="member", members=[ann])
    org_id = _org(app)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert effective_roles(ann, org_id) == {"member"}
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


@pytest.mark.parametrize("role", ["admin", "member", "viewer", None])
def test_set_group_role_accepts_the_willow_roles_and_none(app, directory, role):
    group_id = directory.group("Staff", role="viewer")
    with app.app_context():
        group = db.session.get(Group, group_id)
        version = group.version
        set_group_role(group, role)
        db.session.commit()
        group = db.session.get(Group, group_id)
        assert group.role == role
        assert group.version == version


@pytest.mark.parametrize("role", ["owner", "Admin", "", "admin "])
def test_set_group_role_rejects_anything_else(app, directory, role):
    group_id = directory.group("Staff", role="viewer")
    with app.app_context():
        group = db.session.get(Group, group_id)
        with pytest.raises(AccessError):
            set_group_role(group, role)
        assert group.role == "viewer"
