"""The database work of one /scim request: one connection, at most one transaction.

The bearer check, the Users store and the log row of a user change run on one SQLAlchemy
Core connection, checked out at its first use and returned when the request ends; the
Groups store and searches across resource types use the ORM session. A request touches
one of the two for its resource (plus, for a group, the token read). Nothing is opened
that the request does not use: a discovery request with a valid token reads the token in
autocommit and never begins a transaction.

Each server thread keeps its connection from one request to the next
(``_HeldConnections``): checking a connection out of the pool and wrapping it in a new
Core ``Connection`` cost a discovery request about a twelfth of its instructions on SQLite.
A file has no server that could drop an idle connection; a PostgreSQL connection kept idle
for a few seconds is pinged before it is used again (``willow.storage.database.
ping_idle_connections`` does the same for the pool's).
"""

from __future__ import annotations

import logging
import threading
import time

from flask import g
from flask import request
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from ..storage.database import MUTATING_METHODS
from ..storage.database import PING_AFTER_IDLE_S
from ..storage.extensions import db

log = logging.getLogger(__name__)


def _autocommit(conn: Connection, on: bool) -> None:
    """psycopg's autocommit: on while a request only reads, so that each statement is one
    round trip rather than BEGIN, the statement and the pool's ROLLBACK. SQLite's driver
    is always in autocommit here (``willow.storage.database``)."""
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        if driver.autocommit != on:
            driver.autocommit = on


class _HeldConnections:
    """The Core connection each thread keeps between its requests, for one engine.

    A connection is in use from ``take`` to ``give_back``. When the engine is disposed
    (tests, shutdown), idle connections are closed at once and the others when their
    request gives them back; a connection that failed is invalidated, and the thread's
    next request takes a new one from the pool. A PostgreSQL connection kept idle for
    ``PING_AFTER_IDLE_S`` or more is pinged before it is used again, as the pool pings
    its own (``willow.storage.database.ping_idle_connections``). So is every kept
    connection after any connection of the engine was found dead: the database restarted
    or a network path broke, and the others kept from before may be dead too, however
    recently used (SQLAlchemy does the same for its pool, which these never return to)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self.idle: dict[int, Connection] = {}
        self.idle_since: dict[int, float] = {}
        self.disposed = False
        self.ping = engine.dialect.name == "postgresql"
        #: Counts the disconnects seen on the engine; each kept connection remembers the
        #: count when it was given back.
        self.disconnects = 0
        self.kept_at: dict[int, int] = {}
        event.listen(engine, "engine_disposed", self._dispose)
        event.listen(engine, "handle_error", self._on_error)

    def _on_error(self, context) -> None:
        if context.is_disconnect:
            with self.lock:
                self.disconnects += 1

    def take(self) -> Connection:
        thread = threading.get_ident()
        with self.lock:
            conn = self.idle.pop(thread, None)
            since = self.idle_since.pop(thread, 0.0)
            stale = self.kept_at.pop(thread, self.disconnects) != self.disconnects
        if conn is not None and (
            stale or (self.ping and time.monotonic() - since >= PING_AFTER_IDLE_S)
        ):
            conn = self._alive(conn)
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect()
        return conn

    def _alive(self, conn: Connection) -> Connection | None:
        try:
            self.engine.dialect.do_ping(conn.connection.dbapi_connection)
        except Exception:
            log.debug("a kept connection did not answer; a new one is taken", exc_info=True)
            conn.invalidate()
            return None
        return conn

    def give_back(self, conn: Connection) -> None:
        thread = threading.get_ident()
        with self.lock:
            if not self.disposed and not conn.invalidated:
                self.idle[thread] = conn
                self.idle_since[thread] = time.monotonic()
                self.kept_at[thread] = self.disconnects
                return
        _discard(conn)

    def _dispose(self, _engine: Engine) -> None:
        with self.lock:
            self.disposed = True
            idle, self.idle = list(self.idle.values()), {}
        for conn in idle:
            _discard(conn)


def _discard(conn: Connection) -> None:
    """Close a kept connection for good. Its engine's pool was disposed of (or it
    failed): given back, it would land in a pool nobody closes, and it may be in
    autocommit, which no pooled connection must be."""
    try:
        if not conn.invalidated:
            conn.invalidate()
    finally:
        conn.close()


_held_lock = threading.Lock()


def _held_connections(engine: Engine) -> _HeldConnections | None:
    """The engine's held connections, on a SQLite file or PostgreSQL (QueuePool); None
    elsewhere (an in-memory SQLite database in tests)."""
    held = engine.__dict__.get("_willow_held")
    if held is None:
        if not isinstance(engine.pool, QueuePool):
            return None
        with _held_lock:
            held = engine.__dict__.get("_willow_held")
            if held is None:
                held = engine.__dict__["_willow_held"] = _HeldConnections(engine)
    return held


def reader() -> Connection:
    """The request's Core connection as it is, for a single-statement read (the bearer
    check): no transaction is opened for it."""
    conn = g.get("scim_connection")
    if conn is None:
        engine = db.engine
        held = _held_connections(engine)
        conn = held.take() if held is not None else engine.connect()
        _autocommit(conn, True)
        g.scim_connection = conn
    return conn


def connection() -> Connection:
    """The request's Core connection for its resource. A writing request's transaction is
    open before its first read (SQLite: BEGIN IMMEDIATE, see ``willow.storage.database``), since
    statements run on the DBAPI cursor (``willow.storage.prepared``) would not open it; a reading
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
    """Undo what the request did. Never raises: it runs in the error handlers, where the
    failure of a rollback on a lost connection would replace the answer being given. A
    connection that cannot roll back is invalidated (its transaction is gone with it, and
    the pool will not hand it out again)."""
    conn = g.get("scim_connection")
    if conn is not None:
        try:
            conn.rollback()
        except Exception:
            log.debug("rollback failed; the connection is discarded", exc_info=True)
            conn.invalidate()
    if _session_in_use():
        try:
            db.session.rollback()
        except Exception:
            log.debug("rollback failed; the session's connections are discarded", exc_info=True)
            db.session.invalidate()


def end() -> None:
    """Return the connection (rolling back what was not committed) and close the session,
    so that no lock is held while the response is logged and sent."""
    conn = g.pop("scim_connection", None)
    if conn is not None:
        held = _held_connections(conn.engine)
        try:
            if conn.in_transaction():
                conn.rollback()
            if held is None:
                _autocommit(conn, False)  # the pool's connections are not in autocommit
        except Exception:
            # A broken connection: the pool must not hand it out again.
            conn.invalidate()
        if held is not None:
            # Kept as the next request wants it: in autocommit on PostgreSQL. Should it go
            # back to the pool instead, the pool takes it out of autocommit.
            held.give_back(conn)
        else:
            conn.close()
    if _session_in_use():
        session = db.session()
        if (
            request.method not in MUTATING_METHODS
            and session.in_transaction()
            and session.get_bind().dialect.name == "postgresql"
        ):
            # Nothing was written, so COMMIT ends the reads as ROLLBACK would, but psycopg
            # forgets every prepared statement of the connection on a ROLLBACK (and says
            # DEALLOCATE ALL before its next statement): the group reads were parsed
            # again on every request.
            session.commit()
        session.close()


def change_connection() -> Connection:
    """Where the log row of a change goes: into the transaction that made the change."""
    if _session_in_use() and db.session().in_transaction():
        return db.session.connection()
    return connection()
