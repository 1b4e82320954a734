"""Fixtures for console tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from willow.storage import models
from willow.storage.extensions import db
from willow.storage.models import Group
from willow.storage.models import GroupMember
from willow.storage.models import Organization
from willow.storage.models import User
from willow.storage.models import UserValue


@pytest.fixture
def clock(monkeypatch):
    """A controllable ``willow.storage.models.utcnow``: set ``clock.now`` or ``advance()`` it."""

    class Clock:
        now = models.utcnow().replace(microsecond=0)

        def advance(self, **kwargs) -> None:
            self.now += timedelta(**kwargs)

    c = Clock()
    monkeypatch.setattr(models, "utcnow", lambda: c.now)
    return c


class Directory:
    """Writes provisioned users, groups and memberships straight to the database, the way
    the SCIM service stores them, so console tests do not depend on the SCIM API."""

    def __init__(self, app):
        self.app = app

    def _org_id(self, org_id: int | None) -> int:
        if org_id is not None:
            return org_id
        return db.session.scalars(
            sa.select(Organization.id).where(Organization.slug == "default")
        ).one()

    def user(self, user_name: str, *, org_id: int | None = None, emails=(), **columns) -> str:
        with self.app.app_context():
            org_id = self._org_id(org_id)
            user = User(
                organization_id=org_id,
                user_name=user_name,
                user_name_norm=user_name.lower(),
                **columns,
            )
            for position, email in enumerate(emails):
                user.values.append(
                    UserValue(
                        organization_id=org_id,
                        attribute="emails",
                        position=position,
                        value=email,
                        value_norm=email.lower(),
                        type="work",
                        primary=position == 0,
                    )
                )
            db.session.add(user)
            db.session.commit()
            return user.id

    def group(self, display_name: str, *, org_id: int | None = None, role=None, members=()) -> str:
        with self.app.app_context():
            org_id = self._org_id(org_id)
            group = Group(
                organization_id=org_id,
                display_name=display_name,
                display_name_norm=display_name.lower(),
                role=role,
            )
            db.session.add(group)
            db.session.flush()
            db.session.add_all(
                GroupMember(organization_id=org_id, group_id=group.id, user_id=user_id)
                for user_id in members
            )
            db.session.commit()
            return group.id

    def other_org(self, slug: str = "other") -> int:
        with self.app.app_context():
            org = Organization(slug=slug, name=f"{slug.title()} Inc")
            db.session.add(org)
            db.session.commit()
            return org.id


@pytest.fixture
def directory(app) -> Directory:
    return Directory(app)
