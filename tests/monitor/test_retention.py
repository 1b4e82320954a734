"""Retention: old request-log entries are deleted in batches, by the CLI and the server."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from config import TestingConfig
from willow import create_app
from willow.monitor.retention import Pruner
from willow.monitor.retention import log_bytes
from willow.monitor.retention import prune_logs
from willow.monitor.retention import prune_to_budget
from willow.storage.extensions import db
from willow.storage.models import ScimRequestLog
from willow.storage.models import utcnow


def add_logs(app, org_id: int, ages_in_days: list[float]) -> None:
    now = utcnow()
    rows = [
        {
            "created_at": now - timedelta(days=age),
            "organization_id": org_id,
            "request_id": f"r{i}",
            "method": "GET",
            "path": f"/scim/v2/Users/{age}",
            "status_code": 200,
            "duration_ms": 1.0,
        }
        for i, age in enumerate(ages_in_days)
    ]
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.insert(ScimRequestLog), rows)


def remaining_paths(app) -> list[str]:
    with app.app_context(), db.engine.connect() as conn:
        return sorted(conn.scalars(sa.select(ScimRequestLog.path)))


def test_prune_deletes_only_entries_older_than_the_period(app, org):
    add_logs(app, org.id, [1, 89.9, 90.1, 400])
    with app.app_context():
        assert prune_logs(90) == 2
    assert remaining_paths(app) == ["/scim/v2/Users/1", "/scim/v2/Users/89.9"]


def test_prune_works_through_a_backlog_in_batches(app, org):
    add_logs(app, org.id, [100 + i / 100 for i in range(25)] + [1])
    statements: list[str] = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        assert prune_logs(90, batch_size=10) == 25
    deletes = [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 3
    assert remaining_paths(app) == ["/scim/v2/Users/1"]


def test_cli_prunes_with_the_configured_retention_by_default(app, runner, org):
    app.config["WILLOW_LOG_RETENTION_DAYS"] = 30
    add_logs(app, org.id, [10, 31, 45])
    result = runner.invoke(args=["logs", "prune"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Deleted 2 SCIM request log entries older than 30 days."
    assert remaining_paths(app) == ["/scim/v2/Users/10"]


def test_cli_older_than_overrides_the_retention(app, runner, org):
    add_logs(app, org.id, [3, 10])
    result = runner.invoke(args=["logs", "prune", "--older-than", "5"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 " in result.output
    assert remaining_paths(app) == ["/scim/v2/Users/3"]


def test_cli_refuses_a_negative_period(runner):
    result = runner.invoke(args=["logs", "prune", "--older-than", "-1"])
    assert result.exit_code != 0
    assert "Invalid value" in result.output


def test_a_retention_of_zero_keeps_entries_forever(app, runner, org):
    app.config["WILLOW_LOG_RETENTION_DAYS"] = 0
    add_logs(app, org.id, [1000])
    assert "kept forever" in runner.invoke(args=["logs", "prune"]).output
    assert Pruner(app, 60).prune_once() == 0
    assert remaining_paths(app) == ["/scim/v2/Users/1000"]


def test_the_background_pruner_prunes_at_start_and_stops_cleanly(app, org):
    app.config["WILLOW_LOG_RETENTION_DAYS"] = 90
    add_logs(app, org.id, [1, 100])
    pruner = Pruner(app, interval=3600)
    pruner.start()
    pruner.stop(timeout=10)  # the first prune runs at once, even when asked to stop
    assert not pruner._thread.is_alive()
    assert remaining_paths(app) == ["/scim/v2/Users/1"]


def test_the_server_starts_the_pruner_on_its_first_request_only_when_enabled(app, database_url):
    """``app`` (the fixture) is asked for so the database is emptied afterwards."""

    class Pruning(TestingConfig):
        WILLOW_LOG_PRUNE_INTERVAL = 3600

    enabled = create_app(Pruning, {"SQLALCHEMY_DATABASE_URI": database_url})
    disabled = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    assert "willow_log_pruner" not in disabled.extensions
    pruner = enabled.extensions["willow_log_pruner"]
    assert not pruner.started
    try:
        enabled.test_client().get("/scim/v2/Schemas")
        assert pruner.started
    finally:
        pruner.stop(timeout=10)
        with enabled.app_context():
            db.engine.dispose()


# -- the size budget (WILLOW_LOG_MAX_MB) -------------------------------------------------


def add_weighed_logs(app, org_id: int, ages_in_minutes: list[float], weight: int) -> None:
    add_logs(app, org_id, [age / (24 * 60) for age in ages_in_minutes])
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.update(ScimRequestLog).values(stored_bytes=weight))


def minutes_left(app) -> list[int]:
    return [round(float(p.rsplit("/", 1)[1]) * 24 * 60) for p in remaining_paths(app)]


def test_the_size_budget_prunes_the_oldest_entries_first(app, org):
    add_weighed_logs(app, org.id, [5, 1, 9, 3, 7, 2, 8, 4, 6, 10], weight=1000)
    with app.app_context():
        assert log_bytes() == 10_000
        assert prune_to_budget(5_500, batch_size=2) == 5
        assert log_bytes() == 5_000
    assert sorted(minutes_left(app)) == [1, 2, 3, 4, 5]


def test_a_budget_of_several_gigabytes_is_compared_as_a_big_integer(app, org):
    """PostgreSQL would refuse 4 GiB as an INTEGER parameter."""
    add_weighed_logs(app, org.id, [1, 2, 3, 4], weight=1_500_000_000)
    with app.app_context():
        assert prune_to_budget(4 * 1024**3) == 2
    assert sorted(minutes_left(app)) == [1, 2]


def test_a_log_within_its_budget_is_left_alone(app, org):
    add_weighed_logs(app, org.id, [1, 2, 3], weight=1000)
    statements: list[str] = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        assert prune_to_budget(3_000) == 0
    assert not [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert len(remaining_paths(app)) == 3


def test_the_pruner_keeps_the_log_within_the_budget_beside_the_retention(app, org):
    app.config["WILLOW_LOG_RETENTION_DAYS"] = 90
    app.config["WILLOW_LOG_MAX_MB"] = 1
    add_logs(app, org.id, [200])  # past the retention
    add_weighed_logs(app, org.id, [1, 2, 3, 4], weight=0)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.update(ScimRequestLog).values(stored_bytes=400 * 1024))
    # The 200-day-old entry for its age, then the two oldest of 4 x 400 KB for the 1 MB.
    assert Pruner(app, 60).prune_once() == 3
    assert sorted(minutes_left(app)) == [1, 2]


def test_a_budget_of_zero_keeps_every_entry(app, org):
    app.config["WILLOW_LOG_MAX_MB"] = 0
    add_weighed_logs(app, org.id, [1, 2], weight=10 * 1024 * 1024)
    assert Pruner(app, 60).prune_once() == 0
    assert len(remaining_paths(app)) == 2


def test_cli_prune_applies_the_size_budget(app, runner, org):
    app.config["WILLOW_LOG_MAX_MB"] = 1
    add_weighed_logs(app, org.id, [1, 2, 3], weight=400 * 1024)
    result = runner.invoke(args=["logs", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted the 1 oldest entries to keep the log under 1 MB." in result.output
    assert sorted(minutes_left(app)) == [1, 2]


def test_the_log_writer_weighs_each_entry_by_what_it_stores(client, logged, token):
    from willow.monitor.log_writer import ROW_BYTES

    client.get("/scim/v2/Schemas", headers={"Authorization": f"Bearer {token}"})
    [row] = logged()
    texts = len(row["response_body"]) + len(row["path"]) + len(json.dumps(row["request_headers"]))
    assert texts + ROW_BYTES < row["stored_bytes"] < texts + ROW_BYTES + 500
