"""Console roles: only admins manage API tokens and the roles groups grant; members and
viewers may read the directory and the logs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import ApiToken
from willow.storage.models import Group
from willow.storage.models import Organization
from willow.storage.models import utcnow


@pytest.fixture
def group_id(app) -> str:
    with app.app_context():
        org_id = db.session.scalars(sa.select(Organization.id)).first()
        group = Group(
            organization_id=org_id,
            display_name="Eng",
            display_name_norm="eng",
            created_at=utcnow(),
            last_modified_at=utcnow(),
        )
        db.session.add(group)
        db.session.commit()
        return group.id


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_non_admins_cannot_manage_tokens_or_role_mappings(
    app, client, console, make_admin, group_id, role
):
    console.login(make_admin(role=role))
    assert client.get("/admin/").headers["Location"].endswith("/admin/directory/users")
    assert client.get("/admin/tokens").status_code == 403
    assert client.post("/admin/tokens", data={"name": "x", "scopes": "scim"}).status_code == 403
    assert (
        client.post(f"/admin/directory/groups/{group_id}/role", data={"role": "admin"}).status_code
        == 403
    )
    page = client.get(f"/admin/directory/groups/{group_id}").get_data(as_text=True)
    assert "Save role" not in page
    assert ">API Tokens<" not in client.get("/admin/directory/users").get_data(as_text=True)
    assert client.get("/admin/logs").status_code == 200
    with app.app_context():
        assert db.session.scalars(sa.select(ApiToken)).all() == []
        assert db.session.get(Group, group_id).role is None


def test_admins_can_manage_tokens_and_role_mappings(client, console, group_id):
    console.login()
    assert client.get("/admin/").headers["Location"].endswith("/admin/tokens")
    assert client.post("/admin/tokens", data={"name": "x", "scopes": "scim"}).status_code == 302
    rv = client.post(f"/admin/directory/groups/{group_id}/role", data={"role": "viewer"})
    assert rv.status_code == 302
