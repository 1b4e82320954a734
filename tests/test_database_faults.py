"""Which database errors mean "unavailable" (503), and the one line that says why.
Pure: real driver exceptions, no application."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from psycopg import errors as pg
from sqlalchemy import exc as sa_exc

from willow.storage.faults import is_unavailable
from willow.storage.faults import reason
from willow.storage.faults import unreachable_line


def _wrapped(orig: BaseException, cls=sa_exc.OperationalError, **kw) -> sa_exc.DBAPIError:
    return cls("SELECT 1", {}, orig, **kw)


def _sqlite_error(tmp_path, what: str) -> sqlite3.Error:
    path = tmp_path / "db.sqlite"
    if what == "locked":
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("SELECT 1 FROM sqlite_master").fetchall()
        except sqlite3.Error as exc:
            return exc
        finally:
            other.close()
            holder.close()
    if what == "cannot open":
        try:
            sqlite3.connect(tmp_path / "no" / "such" / "folder.sqlite")
        except sqlite3.Error as exc:
            return exc
    if what == "no such table":
        try:
            sqlite3.connect(path).execute("SELECT * FROM nope")
        except sqlite3.Error as exc:
            return exc
    raise AssertionError(what)


@pytest.mark.parametrize(
    ("orig", "unavailable"),
    [
        (psycopg.OperationalError("connection failed: Connection refused"), True),
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.InterfaceError("the connection is closed"), True),
        (pg.AdminShutdown("terminating connection due to administrator command"), True),
        (pg.CannotConnectNow("the database system is starting up"), True),
        (pg.TooManyConnections("sorry, too many clients already"), True),
        (pg.ConnectionFailure("connection failure"), True),
        (pg.QueryCanceled("canceling statement due to statement timeout"), False),
        (pg.SerializationFailure("could not serialize access"), False),
        (pg.UndefinedTable('relation "users" does not exist'), False),
        (pg.UniqueViolation("duplicate key value"), False),
    ],
)
def test_postgresql_errors_that_mean_the_database_is_unavailable(orig, unavailable):
    assert is_unavailable(_wrapped(orig)) is unavailable
    assert is_unavailable(orig) is unavailable


@pytest.mark.parametrize(
    ("what", "unavailable"),
    [("locked", True), ("cannot open", True), ("no such table", False)],
)
def test_sqlite_errors_that_mean_the_database_is_unavailable(tmp_path, what, unavailable):
    assert is_unavailable(_wrapped(_sqlite_error(tmp_path, what))) is unavailable


def test_a_disconnect_sqlalchemy_noticed_is_unavailable_whatever_the_driver_said():
    orig = psycopg.ProgrammingError("odd message")
    assert not is_unavailable(_wrapped(orig, sa_exc.ProgrammingError))
    assert is_unavailable(_wrapped(orig, sa_exc.ProgrammingError, connection_invalidated=True))


def test_a_lost_transaction_and_a_pool_timeout_are_unavailable_other_errors_are_not():
    assert is_unavailable(sa_exc.PendingRollbackError("Can't reconnect", code="8s2b"))
    assert not is_unavailable(sa_exc.PendingRollbackError("flush failed", code="7s2a"))
    assert is_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    assert not is_unavailable(sa_exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("x")))
    assert not is_unavailable(RuntimeError("boom"))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            'connection failed: connection to server at "127.0.0.1", port 1 failed: '
            "Connection refused\n\tIs the server running on that host?",
            "connection refused",
        ),
        (
            'connection failed: connection to server at "db", port 5432 failed: '
            'FATAL:  database "willow" does not exist',
            'database "willow" does not exist',
        ),
        ("database is locked", "database is locked"),
        ("", "OperationalError"),
    ],
)
def test_the_reason_is_the_drivers_last_clause_of_its_first_line(message, expected):
    assert reason(_wrapped(psycopg.OperationalError(message))) == expected


def test_the_unreachable_line_hides_the_password_and_says_how_to_wait():
    error = _wrapped(psycopg.OperationalError("password s3cret was refused"))
    line = unreachable_line("postgresql+psycopg://willow:s3cret@db:5432/willow", error)
    assert line == (
        "Willow: cannot reach the database at postgresql+psycopg://willow:***@db:5432/willow "
        "(password *** was refused); set WILLOW_DB_WAIT_SECONDS to wait for it"
    )
    waited = unreachable_line("postgresql://db/willow", error, waited_s=30)
    assert waited.endswith("; gave up after waiting 30 s (WILLOW_DB_WAIT_SECONDS)")
