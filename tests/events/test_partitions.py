"""The events' day partitions on PostgreSQL (willow/partitions), made ahead by the event
pruner; on SQLite the same calls leave the one table alone, and events read, look up and
prune the same on both."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.events.conftest import read_api
from willow.events.envelope import Draft
from willow.events.envelope import encode_cursor
from willow.events.retention import EventPruner
from willow.events.store import get_event
from willow.events.store import prune_events
from willow.events.store import write_events
from willow.partitions import rules
from willow.partitions import store
from willow.storage.extensions import db
from willow.storage.models import Event
from willow.storage.models import utcnow

T = Event.__tablename__
postgresql_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def write(app, org_id: int, times: list) -> list[int]:
    """One event at each of ``times``, each in its own transaction; their sequences."""
    sequences = []
    with app.app_context():
        for at in times:
            with db.engine.begin() as conn:
                write_events(
                    conn,
                    org_id,
                    [Draft("user.created", {"n": 1})],
                    request_id=None,
                    actor="test",
                    now=at,
                )
                sequences.append(
                    conn.scalar(
                        sa.select(sa.func.max(Event.sequence)).where(
                            Event.organization_id == org_id
                        )
                    )
                )
    return sequences


def other_org(app) -> int:
    with app.app_context(), db.engine.begin() as conn:
        return conn.scalar(
            sa.text(
                "INSERT INTO organizations (slug, name, created_at) "
                "VALUES ('other', 'Other', :now) RETURNING id"
            ),
            {"now": utcnow()},
        )


def partitions_of(app) -> list[str]:
    with app.app_context(), db.engine.connect() as conn:
        return store.partition_names(conn, T)


def where_events_are(app) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text(f"SELECT tableoid::regclass::text, count(*) FROM {T} GROUP BY 1")
            ).all()
        )


def marks(app) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT slug, events_pruned_through FROM organizations"))
        return {slug: mark for slug, mark in rows}


def test_the_event_pruner_makes_today_the_next_days_and_a_default_even_without_retention(
    app, backend
):
    app.config["WILLOW_EVENT_RETENTION_DAYS"] = 0
    pruner = EventPruner(app, 3600)
    assert pruner.prune_once() == 0
    if backend == "sqlite":
        assert partitions_of(app) == []
        return
    expected = {rules.partition_name(T, d) for d in rules.days_ahead(utcnow().date())}
    assert expected | {rules.default_name(T)} <= set(partitions_of(app))
    before = partitions_of(app)
    pruner.prune_once()
    assert partitions_of(app) == before  # idempotent


def test_events_of_any_date_are_read_in_order_and_found_by_their_id(app, org, client, events_token):
    """A look-up by event_id (or id) alone carries no date: it checks every partition's
    index, and finds the event wherever it is."""
    now = utcnow()
    times = [now - timedelta(days=40), now - timedelta(days=1), now, now + timedelta(days=30)]
    assert write(app, org.id, times) == [1, 2, 3, 4]
    listed = read_api(client, events_token).get_json()["data"]
    assert [e["sequence"] for e in listed] == [1, 2, 3, 4]
    with app.app_context(), db.engine.connect() as conn:
        for event in listed:
            found = get_event(conn, org.id, event["id"])
            assert found is not None and found["sequence"] == event["sequence"]
            by_id = conn.scalar(sa.select(Event.event_id).where(Event.id == found["id"]))
            assert by_id == event["id"]


@postgresql_only
def test_events_without_a_day_partition_land_in_the_default_one_and_move_when_it_is_made(app, org):
    later = utcnow() + timedelta(days=30)
    write(app, org.id, [later, later + timedelta(hours=1)])
    assert where_events_are(app) == {rules.default_name(T): 2}
    with app.app_context():
        made = store.ensure_days(db.engine, T, [later.date()])
    assert made == [rules.partition_name(T, later.date())]
    assert where_events_are(app) == {rules.partition_name(T, later.date()): 2}


def test_retention_drops_whole_days_deletes_only_in_the_day_it_cuts_and_raises_the_marks(
    app, org, backend, client, events_token
):
    now = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    days = [(now - timedelta(days=n)).date() for n in range(1, 6)]
    with app.app_context():
        store.ensure_days(db.engine, T, days)
    other = other_org(app)
    # Two events a day in each organization, at 06:00 and 18:00, from 5 days ago to
    # yesterday, oldest first: sequences 1-10 in each.
    times = [now - timedelta(days=n, hours=h) for n in range(5, 0, -1) for h in (6, -6)]
    write(app, org.id, times)
    write(app, other, times)
    statements: list[str] = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        # The cut-off is 3 days ago at noon: days 4 and 5 go whole, day 3 loses its 06:00
        # event (sequence 5): five events in each organization.
        assert prune_events(db.engine, 3, now=now) == 10
        mine = sa.select(Event.sequence).where(Event.organization_id == org.id)
        left = db.session.scalars(mine.order_by(Event.sequence)).all()
    assert left == [6, 7, 8, 9, 10]
    assert marks(app) == {"default": 5, "other": 5}
    assert read_api(client, events_token, after=encode_cursor(4)).status_code == 410
    assert [e["sequence"] for e in read_api(client, events_token).get_json()["data"]] == left
    if backend == "sqlite":
        return
    names = partitions_of(app)
    assert rules.partition_name(T, days[4]) not in names
    assert rules.partition_name(T, days[3]) not in names
    assert rules.partition_name(T, days[2]) in names
    dropped = {s.split()[-1] for s in statements if s.startswith("DROP TABLE")}
    assert {rules.partition_name(T, days[4]), rules.partition_name(T, days[3])} <= dropped
    assert all(name < rules.partition_name(T, days[2]) for name in dropped)
    deletes = [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert deletes and all("occurred_at <" in s for s in deletes)
    # The day it cuts keeps its 18:00 event of each organization.
    assert where_events_are(app)[rules.partition_name(T, days[2])] == 2


@postgresql_only
def test_concurrent_writers_never_share_a_sequence(app, org):
    """The unique key holds occurred_at on PostgreSQL, so it would not refuse two events
    with one sequence written at different moments: the organization row's lock is what
    keeps them apart. Each thread has its own connection, as each app server has."""
    writers, each = 6, 15
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []
    base = utcnow()

    def run(k: int) -> None:
        engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        try:
            barrier.wait()
            for i in range(each):
                with engine.begin() as conn:
                    # Distinct times (even days apart): only the lock can keep sequences apart.
                    at = base - timedelta(days=k % 3, microseconds=k * 1000 + i)
                    drafts = [Draft("user.updated", {"k": k, "i": i})] * (1 + i % 2)
                    write_events(conn, org.id, drafts, request_id=None, actor=None, now=at)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with app.app_context(), db.engine.connect() as conn:
        sequences = conn.scalars(
            sa.select(Event.sequence).where(Event.organization_id == org.id)
        ).all()
    expected = writers * sum(1 + i % 2 for i in range(each))
    assert sorted(sequences) == list(range(1, expected + 1))


def test_events_prune_on_demand_makes_the_partitions_and_removes_old_events(
    app, org, backend, runner
):
    now = utcnow()
    write(app, org.id, [now - timedelta(days=10), now - timedelta(days=1)])
    ahead = rules.partition_name(T, (now + timedelta(days=rules.AHEAD_DAYS)).date())
    if backend == "postgresql":
        with app.app_context(), db.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {ahead}")
    result = runner.invoke(args=["events", "prune", "--older-than", "5"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 provisioning events older than 5 days." in result.output
    assert marks(app)["default"] == 1
    if backend == "postgresql":
        assert f"Made partitions {ahead}." in result.output
        assert ahead in partitions_of(app)
    app.config["WILLOW_EVENT_RETENTION_DAYS"] = 0
    kept = runner.invoke(args=["events", "prune"])
    assert kept.exit_code == 0 and "kept forever" in kept.output
