"""An unavailable database is answered 503 with Retry-After, never 500: on /scim (a SCIM
error), in the console (a page that says so), and in /healthz, /readyz and ``check``."""

from __future__ import annotations

import sqlite3
import time

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from config import TestingConfig
from tests.hardening.live import free_port
from willow import create_app
from willow.server.serve import wait_for_database
from willow.storage import database
from willow.storage.extensions import db
from willow.storage.models import ScimRequestLog

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com"}


def _lost_connection() -> sa_exc.OperationalError:
    orig = psycopg.OperationalError("consuming input failed: server closed the connection")
    return sa_exc.OperationalError("SELECT 1", {}, orig)


def _assert_unavailable(rv) -> None:
    assert rv.status_code == 503
    assert rv.headers["Retry-After"] == "5"
    assert rv.mimetype == "application/scim+json"
    body = rv.get_json()
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == "503"
    assert body["detail"].startswith("The database is unavailable at the moment.")


def _log_rows(app, deadline_s: float = 10.0) -> list[dict]:
    """The request log once the writer has written everything (it retries every 0.5 s
    while the database is unavailable, so flush is asked again until then)."""
    writer = app.extensions["willow_request_log"]
    deadline = time.monotonic() + deadline_s
    while not writer.flush(timeout=1.0):
        assert time.monotonic() < deadline, "the held log rows were never written"
        time.sleep(0.1)
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(sa.select(ScimRequestLog.__table__).order_by(ScimRequestLog.id))
        return [dict(row._mapping) for row in rows]


@pytest.fixture
def short_busy_timeout(monkeypatch):
    """SQLite waits 0.1 s for another process's lock instead of 30 s (before any
    connection is opened: listed before ``app``)."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_sqlite_file_locked_past_the_busy_timeout_is_answered_503(
    short_busy_timeout, app, database_url, scim
):
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go
    try:
        _assert_unavailable(scim.post("/Users", USER))
        assert scim.get("/Users").status_code == 200  # readers are not held up (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert scim.post("/Users", USER).status_code == 201
    rows = _log_rows(app)
    # The 201's row was committed with its change; the others were held by the writer.
    assert sorted((r["method"], r["status_code"]) for r in rows) == [
        ("GET", 200),
        ("POST", 201),
        ("POST", 503),
    ]


def test_a_lost_connection_whose_rollback_fails_too_is_still_a_503(app, scim, monkeypatch):
    """The error handler's rollback fails on a lost connection as well; that used to turn
    the answer into a 500 saying "The request is not valid."."""

    def lost(*args, **kwargs):
        raise _lost_connection()

    monkeypatch.setattr("willow.scim.store.users.create_user", lost)
    monkeypatch.setattr(sa.engine.Connection, "rollback", lost)
    rv = scim.post("/Users", USER)
    monkeypatch.undo()
    _assert_unavailable(rv)
    [row] = _log_rows(app)
    assert row["status_code"] == 503 and row["token_id"] is not None
    assert row["error_detail"].endswith("(OperationalError)")


def test_an_unexpected_error_whose_rollback_fails_is_a_500_that_says_so(app, scim, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    def lost(*args, **kwargs):
        raise _lost_connection()

    monkeypatch.setattr("willow.scim.store.users.create_user", boom)
    monkeypatch.setattr(sa.engine.Connection, "rollback", lost)
    rv = scim.post("/Users", USER)
    monkeypatch.undo()
    assert rv.status_code == 500
    assert rv.get_json()["detail"].startswith("The server could not complete the request.")
    assert "Retry-After" not in rv.headers


def test_the_console_explains_an_unavailable_database_on_a_503_page(client, monkeypatch):
    def lost():
        raise _lost_connection()

    monkeypatch.setattr("willow.console.auth.current_session", lost)
    rv = client.get("/admin/tokens")
    assert rv.status_code == 503
    assert rv.headers["Retry-After"] == "5"
    page = rv.get_data(as_text=True)
    assert "503 Service Unavailable" in page
    assert "The database cannot be reached at the moment" in page
    assert "Traceback" not in page and "OperationalError" not in page


@pytest.fixture
def unreachable_app():
    """An app whose PostgreSQL server refuses connections (nothing listens on its port)."""
    url = f"postgresql://willow:s3cret@127.0.0.1:{free_port()}/willow"
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": url})
    yield app
    with app.app_context():
        db.engine.dispose()  # stops the log writer, which would go on trying


def test_an_unreachable_database_is_a_503_on_scim_and_its_log_row_is_held(unreachable_app):
    client = unreachable_app.test_client()
    rv = client.get("/scim/v2/Users", headers={"Authorization": "Bearer wsk_anything"})
    _assert_unavailable(rv)
    writer = unreachable_app.extensions["willow_request_log"]
    assert writer.flush(timeout=5) is False  # held: it cannot be written yet
    assert writer.dropped == 0 and len(writer._pending) == 1


def test_healthz_readyz_and_check_say_the_database_is_unreachable(unreachable_app):
    client = unreachable_app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 200  # a restart of the process would not help
    assert health.get_json() == {
        "status": "ok",
        "database": "unavailable",
        "reason": "connection refused",
    }
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
    assert ready.get_json()["reason"] == "database unreachable (connection refused)"
    result = unreachable_app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    assert "[FAIL] Database: cannot be reached (connection refused)\n" in result.output
    assert "s3cret" not in result.output and "Traceback" not in result.output


def test_start_up_retries_for_the_wait_setting_then_exits_with_one_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/no/such/folder/willow.sqlite"
    app = create_app(
        TestingConfig, {"SQLALCHEMY_DATABASE_URI": url, "WILLOW_DB_WAIT_SECONDS": 3}
    )
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with pytest.raises(SystemExit) as stopped:
        wait_for_database(app, sleep=sleep, clock=lambda: now[0])
    assert slept == [1.0, 1.0, 1.0]
    assert stopped.value.code == (
        f"Willow: cannot reach the database at {url} (unable to open database file); "
        "gave up after waiting 3 s (WILLOW_DB_WAIT_SECONDS)"
    )
    assert capsys.readouterr().err == (
        f"Willow: waiting up to 3 s for the database at {url} (unable to open database file)\n"
    )
