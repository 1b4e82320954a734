"""Retention: old request-log entries are deleted in batches, by the CLI and the server."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from config import TestingConfig
from willow import create_app
from willow.extensions import db
from willow.models import ScimRequestLog
from willow.models import utcnow
from willow.monitor.retention import Pruner
from willow.monitor.retention import prune_logs


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
