"""Which database errors mean "the database is unavailable", and how to say so.

An unavailable database is answered 503 with ``Retry-After`` (RFC 9110 §15.6.4): the
request was not carried out and the same request may succeed in a few seconds, which is
what an IdP's retry needs to know. Any other database error is a fault of this server
(500). What counts as unavailable:

* the connection is gone or cannot be made: SQLAlchemy saw a disconnect (it then
  invalidates the connection), psycopg failed without a server answer (refused, reset,
  timed out) or says the connection is closed, or the session cannot go on until the
  transaction of a lost connection is rolled back;
* PostgreSQL answers that it cannot serve now: SQLSTATE class 08 (connection
  exception), 53 (insufficient resources: too many connections, disk full, out of
  memory), 57P01-57P03 (shutting down, crashed, starting up) or 58 (system I/O error);
* SQLite cannot lock, open or write its file: busy or locked past the busy timeout,
  cannot open, read-only, disk I/O error, disk full;
* the connection pool had no connection free within its timeout.

A query SQLite or PostgreSQL rejects (no such table, a constraint, a syntax error) is not
"unavailable": it would fail again the same way.

Pure: imports no Flask and opens no connection.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

#: Seconds a client is told to wait (``Retry-After``) before trying again: long enough
#: for a database restart or fail-over to finish, short enough to notice recovery soon.
RETRY_AFTER_S = 5

_PG_UNAVAILABLE_CLASSES = ("08", "53", "58")
_PG_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03"})
_SQLITE_UNAVAILABLE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_READONLY",
    "SQLITE_IOERR",
    "SQLITE_FULL",
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (a SQLAlchemy error, or a driver's) says the database cannot be
    used right now, rather than that the statement is wrong."""
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.PendingRollbackError):
        # "Can't reconnect until invalid transaction is rolled back": a lost connection.
        return getattr(exc, "code", None) == "8s2b"
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return exc.orig is not None and _driver_error_unavailable(exc.orig)
    return _driver_error_unavailable(exc)


def _driver_error_unavailable(error: BaseException) -> bool:
    module = type(error).__module__.split(".")[0]
    if module == "psycopg":
        return _psycopg_unavailable(error)
    if module == "sqlite3":
        name = getattr(error, "sqlite_errorname", None) or ""
        return name.startswith(_SQLITE_UNAVAILABLE)
    return False


def _psycopg_unavailable(error: BaseException) -> bool:
    import psycopg

    if isinstance(error, psycopg.InterfaceError):
        return True  # "the connection is closed", "connection lost"
    if not isinstance(error, psycopg.OperationalError):
        return False
    state = getattr(error, "sqlstate", None)
    if state is None:
        return True  # no answer from a server: refused, reset, timed out
    return state.startswith(_PG_UNAVAILABLE_CLASSES) or state in _PG_UNAVAILABLE_STATES


def reason(exc: BaseException) -> str:
    """The driver's own words for why, in one short line (``connection refused``,
    ``database is locked``): the last clause of its message's first line, which for
    psycopg drops the ``connection failed: connection to server at …`` preamble."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    text = lines[0] if lines else ""
    clause = text.rsplit(": ", 1)[-1].strip() if text else ""
    if not clause:
        return type(orig).__name__
    if len(clause) > 1 and clause[0].isupper() and not clause[1].isupper():
        clause = clause[0].lower() + clause[1:]  # "Connection refused", not "SQLITE_BUSY"
    return clause


def unreachable_line(url: str, exc: BaseException, waited_s: int = 0) -> str:
    """The one line ``python app.py`` prints when the database cannot be reached: where
    (the password hidden), why, and that it can wait for it (or how long it did)."""
    try:
        parsed = make_url(url)
        shown = parsed.render_as_string(hide_password=True)
        password = parsed.password
    except Exception:  # not a URL SQLAlchemy can read: do not echo it
        shown, password = "(a database URL that cannot be read)", None
    why = reason(exc)
    if password:
        why = why.replace(str(password), "***")
    if waited_s:
        then = f"gave up after waiting {waited_s} s (WILLOW_DB_WAIT_SECONDS)"
    else:
        then = "set WILLOW_DB_WAIT_SECONDS to wait for it"
    return f"Willow: cannot reach the database at {shown} ({why}); {then}"
