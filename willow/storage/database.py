"""Database engine set-up that differs between SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from flask import Flask
from flask import g
from flask import has_request_context
from flask import request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import DisconnectionError

from .extensions import db
from .instance_files import prepare_sqlite_file
from .instance_files import sqlite_file

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: GET endpoints that write (e.g. the SSO callback, reached by the identity provider's
#: redirect): their transactions take the write lock from the start, like a POST's.
WRITING_GET_ENDPOINTS: set[str] = set()


def resolve_database_url(app: Flask) -> None:
    """Default to a SQLite file in the instance folder: zero set-up on a fresh machine."""
    url = app.config.get("SQLALCHEMY_DATABASE_URI")
    default_file = not url
    if default_file:
        path = Path(app.instance_path) / "willow.sqlite"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path.as_posix()}"
    elif url.startswith("postgres://"):
        # Heroku-style URLs; SQLAlchemy only knows the postgresql scheme.
        url = "postgresql://" + url[len("postgres://") :]
    if url and url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship.
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            "postgresql+psycopg://" + url[len("postgresql://") :]
        )
    database_file = sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if database_file is not None:
        # Made when a connection first needs it (prepare_database_file), not here: a
        # command that only reads, such as ``check``, writes nothing on a fresh checkout.
        # Only the default file's folder (the instance folder) is made for it.
        app.config["WILLOW_SQLITE_FILE"] = (database_file, default_file)
        if database_file.exists():
            # Owner-only wherever WILLOW_DATABASE_URL puts it, not only in the instance
            # folder; a wider mode left by an older version is narrowed at start-up.
            prepare_sqlite_file(database_file, create_folder=False)
    if uses_sqlite(app):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        # Waitress serves from several threads; each gets its own connection.
        options.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        # A file cannot drop a connection the way a server can: the ping before every
        # checkout would be one more statement on every request, for nothing.
        options["pool_pre_ping"] = False
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    else:
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        if _postgres_without_connect_timeout(app.config["SQLALCHEMY_DATABASE_URI"]):
            connect_args = dict(options.get("connect_args") or {})
            connect_args.setdefault("connect_timeout", POSTGRES_CONNECT_TIMEOUT_S)
            options["connect_args"] = connect_args
        if options.get("pool_pre_ping"):
            # Pinged only after PING_AFTER_IDLE_S unused (see ping_idle_connections).
            options["pool_pre_ping"] = False
            app.config["WILLOW_PING_IDLE_CONNECTIONS"] = True
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def prepare_database_file(app: Flask) -> None:
    """Create the SQLite database file owner-only, before SQLite would create it with the
    umask's mode (usually 0644); the default file's instance folder too. No-op for
    PostgreSQL, in-memory databases and a file that exists."""
    entry = app.config.get("WILLOW_SQLITE_FILE")
    if entry is None:
        return
    path, create_folder = entry
    if not path.exists():
        prepare_sqlite_file(path, create_folder=create_folder)


def prepare_database_file_on_connect(app: Flask) -> None:
    """Run ``prepare_database_file`` before each new SQLite connection (pooled, so rarely):
    whichever command or request first connects gets the file made owner-only."""
    if app.config.get("WILLOW_SQLITE_FILE") is None:
        return
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "do_connect")
    def _prepare(dialect, connection_record, cargs, cparams) -> None:  # noqa: ARG001
        prepare_database_file(app)


def sqlite_database_missing(app: Flask) -> Path | None:
    """The SQLite file the app would use when it does not exist yet (nothing to read)."""
    entry = app.config.get("WILLOW_SQLITE_FILE")
    if entry is None or entry[0].exists():
        return None
    return entry[0]


#: A pooled PostgreSQL connection unused for this long is pinged before it is handed out.
PING_AFTER_IDLE_S = 5.0


def ping_idle_connections(app: Flask) -> None:
    """SQLAlchemy's ``pool_pre_ping`` made conditional: ping a PostgreSQL connection on
    checkout only when it has been idle ``PING_AFTER_IDLE_S`` or more.

    The pre-ping was one round trip (and about a tenth of a read's CPU) on every request,
    two for a request that uses both the Core connection and the ORM session. What it
    catches is a connection that died while nobody used it: a database restart or
    fail-over, an idle timeout in a firewall or pgbouncer. A connection that answered a
    few seconds ago is not that; and should the server go away in those seconds, the
    request that meets the dead connection gets the 503 of an unavailable database
    (``willow.storage.faults``) as the requests in flight at that moment do, SQLAlchemy
    sees the disconnect and discards the pool's older connections with it."""
    if not app.config.get("WILLOW_PING_IDLE_CONNECTIONS"):
        return
    with app.app_context():
        engine = db.engine
    dialect = engine.dialect

    def checkin(_dbapi_connection, record) -> None:
        if record is not None:
            record.info["willow_idle_since"] = time.monotonic()

    def connect(_dbapi_connection, record) -> None:
        record.info["willow_idle_since"] = time.monotonic()

    def checkout(dbapi_connection, record, _proxy) -> None:
        since = record.info.get("willow_idle_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                # The pool discards this connection and checks out another one.
                raise DisconnectionError() from exc
            raise

    event.listen(engine, "connect", connect)
    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


def _postgres_without_connect_timeout(url: str) -> bool:
    return url.startswith("postgresql") and "connect_timeout" not in make_url(url).query


def uses_sqlite(app: Flask) -> bool:
    """Whether the app's database (its URL, once ``resolve_database_url`` has set it) is
    SQLite."""
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def display_url(url: str) -> str:
    """A database URL fit to print: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can read: say so without echoing it
        return "(a database URL that cannot be read)"


def describe_database(app: Flask) -> str:
    """Which database the app uses and why: ``sqlite:///…/willow.sqlite (default: …)``."""
    url = display_url(app.config["SQLALCHEMY_DATABASE_URI"])
    source = app.config.get("WILLOW_DATABASE_SOURCE")
    if source == "environment":
        why = "WILLOW_DATABASE_URL from the environment"
    elif source == "instance/config.py":
        why = "SQLALCHEMY_DATABASE_URI in instance/config.py"
    elif source == "set by the caller":
        why = "set by the caller"
    elif source:
        why = f"WILLOW_DATABASE_URL from {source}"
    else:
        why = "default: WILLOW_DATABASE_URL is not set"
    return f"{url} ({why})"


#: How long a SQLite statement waits for another process's lock before it fails with
#: "database is locked" (answered 503, ``willow.storage.faults``).
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Seconds a PostgreSQL connection attempt may take (unless the URL says otherwise): a
#: database host that does not answer at all (no "connection refused") must not hold every
#: request for the system's TCP timeout, two minutes or more, before its 503.
POSTGRES_CONNECT_TIMEOUT_S = 10

#: Pages the SQLite WAL may hold before a commit copies them back (see _sqlite_pragmas).
WAL_CHECKPOINT_PAGES = 10_000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ARG001
    """WAL lets readers run beside the writer; the busy timeout queues writers instead of
    failing them; SQLite leaves foreign keys off unless asked.

    The WAL is copied back into the database file (a checkpoint, with its two fsyncs)
    every 10,000 pages (about 40 MB) instead of SQLite's 1,000: a change writes about 18
    pages (a user, its value rows, its log row and their indexes), so the default
    checkpointed every 50 or so changes, in the request that crossed the line, and wrote
    the same hot index pages back again each time. Measured in-process, a POST /Users
    took 17-23 % less wall time and 10-17 % less CPU. The WAL file stays at that size
    between checkpoints; a crash replays it when the file is next opened."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.close()
    # SQLite's built-in lower() folds ASCII only; case-insensitive SCIM attributes
    # (displayName "Ärzte" eq "ärzte") need the same Unicode folding PostgreSQL does.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin) instead of pysqlite's implicit one.
    dbapi_connection.isolation_level = None


#: Execution option of a connection that only reads: on SQLite its transaction starts with
#: a plain BEGIN outside requests too, so it neither takes the write lock nor waits for it.
READ_ONLY = "willow_read_only"


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    """Writing requests take SQLite's write lock when their transaction starts.

    In WAL mode a transaction that reads first and writes later fails at once with
    "database is locked" when another writer committed in between; the busy timeout
    cannot help it. Starting writing requests with BEGIN IMMEDIATE makes them queue
    instead, which is what one transaction per request needs.

    Work outside a request (CLI commands, tests, background threads) cannot say whether
    it will write, and runs beside the server's writers (the request-log writer among
    them): it takes the write lock too, unless it says it only reads (``READ_ONLY``).
    Only reading requests, and such readers, start a plain BEGIN.
    """
    if conn.dialect.name != "sqlite":
        return
    if conn.get_execution_options().get(READ_ONLY):
        statement = "BEGIN"
    elif (
        not has_request_context()
        or request.method in MUTATING_METHODS
        or request.endpoint in WRITING_GET_ENDPOINTS
    ):
        statement = "BEGIN IMMEDIATE"
    else:
        statement = "BEGIN"
    if statement == "BEGIN IMMEDIATE" and has_request_context():
        # A SCIM write queues for the process's writers here, as its transaction begins
        # (scim.views.authenticate arms it, the end of the request releases it).
        writers = g.pop("writer_queue", None)
        if writers is not None:
            writers.acquire()
            g.queued_writer = writers
    # On the DBAPI connection: Core's exec_driver_sql cost a writing request more than
    # SQLite's BEGIN itself. Its error is wrapped as Core's would be.
    try:
        conn.connection.driver_connection.execute(statement)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error) from exc


class WriterQueue:
    """The server's writers to one SQLite file, queued in the process.

    SQLite has one writer at a time. A second BEGIN IMMEDIATE waits in SQLite's busy
    handler, which sleeps 1, 2, 5, 10… ms between tries: under concurrent writes threads
    sleep while the lock is free, and throughput falls far below what one writer could
    do. Waiting on a lock here wakes the next writer the moment the previous one
    commits. Other processes (the CLI, a second server) still meet at SQLite's lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> WriterQueue:
        self._lock.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    def acquire(self) -> None:
        self._lock.acquire()

    def release(self) -> None:
        self._lock.release()


def init_writer_queue(app: Flask) -> None:
    """On SQLite, one WriterQueue per application (its request threads and the
    request-log writer); none on PostgreSQL, whose row locks need no help."""
    if uses_sqlite(app):
        app.extensions["willow_sqlite_writers"] = WriterQueue()


def writer_queue(app: Flask) -> WriterQueue | None:
    return app.extensions.get("willow_sqlite_writers")


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"
