"""The rolling window as stored: ``store.screen`` at chosen moments (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest

from willow.guard import store
from willow.storage.extensions import db
from willow.storage.models import GuardHeldChange

T0 = datetime(2026, 12, 7, 10, 0, 0)


@pytest.fixture
def screen(app, org):
    """``screen(minutes_after_t0)``: count one deprovisioning then; True when held."""

    def run(minutes: float) -> bool:
        with app.app_context():
            conn = db.session.connection()
            verdict = store.screen(conn, org.id, T0 + timedelta(minutes=minutes))
            db.session.commit()
            return verdict.held

    return run


def test_ten_in_the_window_apply_and_the_eleventh_trips(screen):
    assert [screen(i) for i in range(11)] == [False] * 10 + [True]


def test_the_verdict_that_trips_carries_the_figures(app, org, screen):
    [screen(0) for _ in range(10)]
    with app.app_context():
        verdict = store.screen(db.session.connection(), org.id, T0)
        db.session.rollback()
    assert (verdict.held, verdict.tripped, verdict.deprovisionings, verdict.threshold) == (
        True, True, 11, 10,
    )


def test_deprovisionings_older_than_the_window_no_longer_count(screen):
    assert [screen(i) for i in range(10)] == [False] * 10
    # At minute 65, those of minutes 0-4 are out of the 60-minute window.
    assert [screen(65) for _ in range(5)] == [False] * 5
    assert screen(65) is True


def test_while_anything_is_held_every_deprovisioning_is_held(app, org, screen):
    [screen(0) for _ in range(10)]
    assert screen(0) is True
    with app.app_context():
        store.hold(
            db.session.connection(), org.id, user_id="u", user_name="u", kind="deactivate",
            requested=[], request_id=None, token_name=None, occurred_at=T0, role_before=None,
            events=[],
        )
        db.session.commit()
    # Long after the window: still tripped, until an admin decides.
    assert screen(600) is True
    with app.app_context():
        store.release(org.id, "test")
        db.session.commit()
        assert db.session.query(GuardHeldChange).count() == 0
    assert screen(601) is False
