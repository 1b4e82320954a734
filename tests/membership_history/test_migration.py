"""The history's migration starts it from the member events the outbox still holds."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask_migrate import downgrade
from flask_migrate import upgrade

from willow.membership_history.models import MembershipChange
from willow.storage.extensions import db
from willow.storage.models import utcnow

BEFORE_HISTORY = "57b305710859"


def test_the_migration_turns_member_events_into_history(app, org):
    group = {"id": "g-1", "displayName": "Engineering"}
    jane = {"id": "u-jane", "userName": "jane@example.com"}
    events = [
        ("group.created", "r1", {"group": group}),
        ("group.member_added", "r1", {"group": group, "user": jane}),
        ("group.member_removed", "r2", {"group": group, "user": jane}),
        ("user.updated", "r3", {"user": jane, "changes": {}}),
    ]
    with app.app_context():
        downgrade(revision=BEFORE_HISTORY)
        with db.engine.begin() as conn:
            for sequence, (kind, request_id, data) in enumerate(events, 1):
                conn.execute(
                    sa.text(
                        "INSERT INTO events (event_id, organization_id, sequence, type,"
                        " occurred_at, request_id, body)"
                        " VALUES (:event_id, :org, :sequence, :type, :at, :request_id, :body)"
                    ),
                    {
                        "event_id": f"evt_{sequence}",
                        "org": org.id,
                        "sequence": sequence,
                        "type": kind,
                        "at": utcnow(),
                        "request_id": request_id,
                        "body": json.dumps({"type": kind, "data": data}),
                    },
                )
        upgrade()
        rows = db.session.execute(
            sa.select(
                MembershipChange.organization_id,
                MembershipChange.user_id,
                MembershipChange.group_id,
                MembershipChange.group_name,
                MembershipChange.change,
                MembershipChange.request_id,
            ).order_by(MembershipChange.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (org.id, "u-jane", "g-1", "Engineering", "added", "r1"),
        (org.id, "u-jane", "g-1", "Engineering", "removed", "r2"),
    ]
