"""Helpers for the events tests: an events-scope token and the events as stored."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import Event


@pytest.fixture
def events_token(make_token) -> str:
    return make_token(name="access-service", scopes=["events"])


@pytest.fixture
def stored_events(app):
    """Every stored envelope of the ``default`` organization, in sequence order."""

    def read(types: tuple[str, ...] | None = None) -> list[dict]:
        with app.app_context():
            stmt = sa.select(Event.body).order_by(Event.organization_id, Event.sequence)
            rows = [json.loads(b) for b in db.session.scalars(stmt)]
            db.session.remove()
        return [e for e in rows if types is None or e["type"] in types]

    return read


def read_api(client, token: str, **params):
    return client.get(
        "/api/v1/events", query_string=params, headers={"Authorization": f"Bearer {token}"}
    )
