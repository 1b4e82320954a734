"""The database work of one /scim request: one connection, at most one transaction.

The bearer check, the Users store and the log row of a user change run on one SQLAlchemy
Core connection, checked out at its first use and returned when the request ends; the
Groups store and searches across resource types use the ORM session. A request touches
one of the two for its resource (plus, for a group, the token read). Nothing is opened
that the request does not use: a discovery request with a valid token reads the token in
autocommit and never begins a transaction.
"""

from __future__ import annotations

from flask import g
from flask import request
from sqlalchemy.engine import Connection

from ..database import MUTATING_METHODS
from ..extensions import db


def _autocommit(conn: Connection, on: bool) -> None:
    """psycopg's autocommit: on while a request only reads, so that each statement is one
    round trip rather than BEGIN, the statement and the pool's ROLLBACK. SQLite's driver
    is always in autocommit here (``willow.database``)."""
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        if driver.autocommit != on:
            driver.autocommit = on


def reader() -> Connection:
    """The request's Core connection as it is, for a single-statement read (the bearer
    check): no transaction is opened for it."""
    conn = g.get("scim_connection")
    if conn is None:
        conn = g.scim_connection = db.engine.connect()
        _autocommit(conn, True)
    return conn


def connection() -> Connection:
    """The request's Core connection for its resource. A writing request's transaction is
    open before its first read (SQLite: BEGIN IMMEDIATE, see ``willow.database``), since
    statements run on the DBAPI cursor (``willow.prepared``) would not open it; a reading
    request's statements run in autocommit, each a consistent snapshot of its own."""
    conn = reader()
    if request.method in MUTATING_METHODS and not conn.in_transaction():
        _autocommit(conn, False)
        conn.begin()
    return conn


def _session_in_use() -> bool:
    return db.session.registry.has()


def commit() -> None:
    """Commit what the request changed: on its connection, or in the session."""
    conn = g.get("scim_connection")
    if conn is not None and conn.in_transaction():
        conn.commit()
    if _session_in_use():
        db.session.commit()


def rollback() -> None:
    conn = g.get("scim_connection")
    if conn is not None:
        conn.rollback()
    if _session_in_use():
        db.session.rollback()


def end() -> None:
    """Return the connection (rolling back what was not committed) and close the session,
    so that no lock is held while the response is logged and sent."""
    conn = g.pop("scim_connection", None)
    if conn is not None:
        try:
            if conn.in_transaction():
                conn.rollback()
            _autocommit(conn, False)  # the pool's connections are not in autocommit
        except Exception:
            # A broken connection: the pool must not hand it out again.
            conn.invalidate()
        conn.close()
    if _session_in_use():
        db.session.close()


def change_connection() -> Connection:
    """Where the log row of a change goes: into the transaction that made the change."""
    if _session_in_use() and db.session().in_transaction():
        return db.session.connection()
    return connection()
