"""Helpers for the guard tests: an organization of provisioned users with a role, each
signed in to the console, and what the guard and the events store hold."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import ConsoleSession
from willow.storage.models import ConsoleUser
from willow.storage.models import Event
from willow.storage.models import GuardHeldChange
from willow.storage.models import Organization
from willow.storage.models import utcnow

SCHEMA_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCHEMA_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
DEACTIVATE = {
    "schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]
}
REACTIVATE = {
    "schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": True}]
}


@pytest.fixture
def company(app, scim, runner):
    """``make(n)``: n users provisioned by SCIM, members of "Everyone" mapped to the member
    role, each with a console account and a live session; returns their ids in order."""

    def make(n: int) -> list[str]:
        ids = []
        for i in range(n):
            rv = scim.post(
                "/Users", {"schemas": [SCHEMA_USER], "userName": f"u{i:03}@example.com"}
            )
            assert rv.status_code == 201, rv.get_data(as_text=True)
            ids.append(rv.get_json()["id"])
        rv = scim.post(
            "/Groups",
            {
                "schemas": [SCHEMA_GROUP],
                "displayName": "Everyone",
                "members": [{"value": u} for u in ids],
            },
        )
        assert rv.status_code == 201
        result = runner.invoke(args=["group", "role", "Everyone", "member"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            org_id = db.session.scalars(
                sa.select(Organization.id).where(Organization.slug == "default")
            ).one()
            for i, user_id in enumerate(ids):
                account = ConsoleUser(
                    organization_id=org_id,
                    scim_user_id=user_id,
                    password_hash=None,
                    email=f"u{i:03}@example.com",
                    role="member",
                )
                db.session.add(account)
                db.session.flush()
                db.session.add(
                    ConsoleSession(
                        console_user_id=account.id,
                        digest=f"{i:064}",
                        expires_at=utcnow() + timedelta(hours=8),
                    )
                )
            db.session.commit()
        return ids

    return make


@pytest.fixture
def guard_state(app):
    """``read()``: (held user ids in order, user ids with a live console session)."""

    def read() -> tuple[list[str], set[str]]:
        with app.app_context():
            held = list(
                db.session.scalars(sa.select(GuardHeldChange.user_id).order_by(GuardHeldChange.id))
            )
            sessions = set(
                db.session.scalars(
                    sa.select(ConsoleUser.scim_user_id).join(
                        ConsoleSession, ConsoleSession.console_user_id == ConsoleUser.id
                    )
                )
            )
            db.session.remove()
        return held, sessions

    return read


@pytest.fixture
def events_of(app):
    """The stored events of the given types, in sequence order."""

    def read(*types: str) -> list[dict]:
        with app.app_context():
            bodies = db.session.scalars(sa.select(Event.body).order_by(Event.sequence))
            rows = [json.loads(b) for b in bodies]
            db.session.remove()
        return [e for e in rows if not types or e["type"] in types]

    return read
