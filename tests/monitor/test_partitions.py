"""The request log's day partitions on PostgreSQL (willow/partitions); on SQLite the same
calls leave the one table alone, and the log reads and prunes the same on both."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from willow.monitor.retention import create_partitions
from willow.monitor.retention import prune_logs
from willow.partitions import rules
from willow.partitions import store
from willow.storage.extensions import db
from willow.storage.models import ScimRequestLog
from willow.storage.models import utcnow

T = ScimRequestLog.__tablename__
postgresql_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def add_rows(app, org_id: int, times: list) -> list[int]:
    rows = [
        {
            "created_at": at,
            "organization_id": org_id,
            "request_id": f"r{i}",
            "method": "GET",
            "path": f"/scim/v2/Users/u{i}",
            "resource_type": "User",
            "resource_id": f"u{i}",
            "resource_label": f"person{i}@example.com",
            "status_code": 200,
            "duration_ms": 1.0,
        }
        for i, at in enumerate(times)
    ]
    with app.app_context(), db.engine.begin() as conn:
        return list(conn.scalars(sa.insert(ScimRequestLog).returning(ScimRequestLog.id), rows))


def partitions_of(app) -> list[str]:
    with app.app_context(), db.engine.connect() as conn:
        return store.partition_names(conn, T)


def where_rows_are(app) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text(f"SELECT tableoid::regclass::text, count(*) FROM {T} GROUP BY 1")
            ).all()
        )


def test_the_log_has_partitions_for_today_the_next_days_and_a_default(app, backend):
    today = utcnow().date()
    with app.app_context():
        create_partitions()
        again = create_partitions()
    assert again == []  # idempotent
    if backend == "sqlite":
        assert partitions_of(app) == []
        return
    expected = {rules.partition_name(T, d) for d in rules.days_ahead(today)}
    assert expected | {rules.default_name(T)} <= set(partitions_of(app))


def test_a_row_at_any_date_is_kept_and_read_back(app, org):
    now = utcnow()
    times = [
        now - timedelta(days=400),
        now - timedelta(days=1),
        now,
        now + timedelta(days=2),
        now + timedelta(days=40),
    ]
    ids = add_rows(app, org.id, times)
    with app.app_context():
        stored = db.session.execute(
            sa.select(ScimRequestLog.id, ScimRequestLog.created_at).order_by(ScimRequestLog.id)
        ).all()
    assert [tuple(r) for r in stored] == list(zip(ids, times, strict=True))


@postgresql_only
def test_rows_without_a_day_partition_land_in_the_default_one_and_move_when_it_is_made(app, org):
    later = utcnow() + timedelta(days=30)
    add_rows(app, org.id, [later, later + timedelta(hours=1)])
    assert where_rows_are(app) == {rules.default_name(T): 2}
    with app.app_context():
        made = store.ensure_days(db.engine, T, [later.date()])
    assert made == [rules.partition_name(T, later.date())]
    assert where_rows_are(app) == {rules.partition_name(T, later.date()): 2}


def test_retention_drops_whole_days_and_deletes_only_in_the_day_it_cuts(app, org, backend):
    now = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    days = [(now - timedelta(days=n)).date() for n in range(1, 6)]
    with app.app_context():
        store.ensure_days(db.engine, T, days)
    # Two rows a day, at 06:00 and 18:00, from 5 days ago to yesterday.
    add_rows(
        app,
        org.id,
        [now - timedelta(days=n, hours=h) for n in range(1, 6) for h in (6, -6)],
    )
    statements: list[str] = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        # The cut-off is 3 days ago at noon: days 4 and 5 go whole, day 3 loses its 06:00 row.
        assert prune_logs(3, now=now) == 5
        left = db.session.scalar(sa.select(sa.func.count()).select_from(ScimRequestLog))
    assert left == 5
    if backend == "sqlite":
        return
    names = partitions_of(app)
    assert rules.partition_name(T, days[4]) not in names
    assert rules.partition_name(T, days[3]) not in names
    assert rules.partition_name(T, days[2]) in names
    dropped = {s.split()[-1] for s in statements if s.startswith("DROP TABLE")}
    assert {rules.partition_name(T, days[4]), rules.partition_name(T, days[3])} <= dropped
    # Older days' partitions that earlier tests on this database made go too; none from
    # the day the cut-off falls in.
    assert all(name < rules.partition_name(T, days[2]) for name in dropped)
    deletes = [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert deletes and all("created_at <" in s for s in deletes)
    assert where_rows_are(app)[rules.partition_name(T, days[2])] == 1


@postgresql_only
def test_app_servers_making_the_same_partitions_at_once_do_not_fail(app):
    """Each thread has its own database session, as each app server process has: the
    advisory lock makes them take turns, and the later ones find the partitions made."""
    day = utcnow().date() + timedelta(days=60)
    days = [day + timedelta(days=n) for n in range(5)]
    barrier = threading.Barrier(4)
    made: list[list[str]] = []
    errors: list[BaseException] = []

    def make() -> None:
        engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        try:
            barrier.wait()
            made.append(store.ensure_days(engine, T, days))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    everything = [name for names in made for name in names]
    assert sorted(everything) == sorted(rules.partition_name(T, d) for d in days)


def test_the_console_lists_searches_shows_and_exports_rows_across_days(app, org, console, client):
    now = utcnow()
    ids = add_rows(app, org.id, [now - timedelta(days=n, hours=1) for n in (0, 3, 20)])
    with app.app_context():
        create_partitions()
    console.login()
    since = f"from={(now - timedelta(days=30)).date().isoformat()}"
    page = client.get(f"/monitor/scim-logs?{since}").get_data(as_text=True)
    assert all(f"/scim/v2/Users/u{i}" in page for i in range(3))
    found = client.get("/monitor/scim-logs?q=person2%40").get_data(as_text=True)
    assert "/scim/v2/Users/u2" in found and "/scim/v2/Users/u1" not in found
    for i, ident in enumerate(ids):
        detail = client.get(f"/monitor/scim-logs/{ident}")
        assert detail.status_code == 200
        assert f"/scim/v2/Users/u{i}" in detail.get_data(as_text=True)
    csv = client.get(f"/monitor/scim-logs/export.csv?{since}").get_data(as_text=True)
    assert all(f"/scim/v2/Users/u{i}" in csv for i in range(3))
