"""The request log's writer: rows handed over by request threads, inserted in batches by a
thread of its own.

Why not in the request: measured on the lightest SCIM reads (GET /ServiceProviderConfig,
a userName filter), one INSERT per request, committed before the response went out, added
20–30 % to the request on both databases — most of it the write itself (a round trip and a
commit on PostgreSQL; a WAL commit that also empties the other connections' page caches
on SQLite). Here a request only builds its row and appends it to a queue; the writer
inserts whatever has queued up in one transaction (one commit for many rows under load).

What that trades, and how it is bounded:

* A row is committed within about a tenth of a second of its response (BATCH_WINDOW_S).
  ``flush()`` writes at once and waits for every row
  handed over before it: the console calls it before reading, so an admin on the same
  server always sees the request that was just answered; the server calls it when the
  process exits normally. Rows can be lost only if the process is killed (or the machine
  fails) in that tenth of a second between a response and its row's commit.
* The queue is bounded (``WILLOW_LOG_QUEUE_MAX_ROWS``): when the database falls behind, a
  request waits for room, as it did when it wrote its row itself; nothing is dropped and
  memory does not grow without limit.
* A batch that fails is retried row by row, so one bad row cannot take others with it; a
  row that cannot be written is reported to the application log with its request id and
  never changes a response.
* While the database is unavailable (``willow.storage.faults``: a restart, a lost
  connection, a locked file), rows are held in the queue and the writer tries again every
  RETRY_S; when the database is back it writes them, so the requests answered 503 in that
  window are in the log. Requests do not wait for room then (they would hang for the
  whole outage): past WILLOW_LOG_QUEUE_MAX_ROWS held rows, each further row is dropped,
  counted (``dropped``) and reported, once per outage, with a warning.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import threading
import time
import weakref
from typing import Any

from flask import Flask
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..storage.database import writer_queue
from ..storage.extensions import db
from ..storage.faults import is_unavailable
from ..storage.faults import reason
from ..storage.models import ApiToken
from ..storage.models import Organization
from ..storage.models import ScimRequestLog

logger = logging.getLogger(__name__)

#: Every column a row fills, in a fixed order (the INSERT is compiled for exactly these).
COLUMNS = tuple(c.name for c in ScimRequestLog.__table__.columns if c.name != "id")
#: The writer's connections' name on PostgreSQL (pg_stat_activity.application_name).
APPLICATION_NAME = "willow-request-log"
#: A row's key (not a column) for the digest of a bearer token that could not be looked
#: up when the row was built, because the database was unavailable.
TOKEN_DIGEST = "token_digest"
#: Rows per INSERT transaction; more wait for the next one.
BATCH_ROWS = 500
#: How long the first row of a batch waits for others. Measured with one IdP sending
#: requests back to back: writing each row as it came cost the next request as much as
#: writing it in the request had (the writer's work and, on SQLite, the commit that
#: empties the other connections' page caches, fall on that request); a tenth of a second
#: gathers tens of rows into one commit. It is also the longest an entry waits for its
#: commit, unless the console asks for it (flush).
BATCH_WINDOW_S = 0.1
#: Seconds between tries while the database is unavailable.
RETRY_S = 0.5
#: What a row weighs in the size budget beyond its texts: its header, numbers, times, its
#: entries in the log's indexes and the unused ends of its pages. Measured on SQLite with
#: ``bench/log_size.py`` (10,000 requests), the budget's sum then came within 3 % of the
#: log table and its indexes, with small bodies (32 MB) and with 64 KB ones (165 MB).
ROW_BYTES = 800
#: Columns a row handed over may leave out (capture fills them; the writer weighs rows).
ROW_DEFAULTS = {
    "count_key": None,
    "repeat_count": None,
    "stored_bytes": 0,
    "client_family": None,
    "response_headers": None,
    # Only the rows of a /Bulk request and its operations have one (capture.py).
    "bulk_request_id": None,
}

# Lookups for the rare rows whose token or organization is not known yet (see _complete).
_TOKEN = select(ApiToken.name, ApiToken.organization_id).where(ApiToken.id == bindparam("token_id"))
# The token of a request answered while the database was unavailable (see _complete).
_TOKEN_BY_DIGEST = select(ApiToken.id, ApiToken.name, ApiToken.organization_id).where(
    ApiToken.digest == bindparam("digest")
)
# At most two organizations, to tell a single-organization (on-prem) install.
_ORGANIZATIONS = select(Organization.id).order_by(Organization.id).limit(2)

# Writers still open, flushed when the interpreter exits (waitress returns after Ctrl+C or
# a service stop; the writer's thread is a daemon and must not hold the exit up forever).
_open_writers: weakref.WeakSet[LogWriter] = weakref.WeakSet()


class LogWriter:
    """Queue of log rows and the thread that inserts them.

    The INSERT is compiled once and values go through the columns' own bind processors
    (JSON serialised once, datetimes in SQLAlchemy's storage format) straight into the
    DBAPI cursor's ``executemany``: one round trip per batch on PostgreSQL (psycopg
    pipelines it), one commit per batch on both databases.

    The writer has an engine of its own, without pool pre-ping (a connection that died
    while idle fails the batch with a disconnect error, which invalidates it and retries
    once on a fresh connection). On PostgreSQL its connections set ``synchronous_commit =
    off``: log rows wait for the WAL writer (a fraction of a second; they survive an
    application crash, as SQLite's WAL rows do) instead of a disk flush of their own, so
    they add no flushes to the ones SCIM commits wait for.
    """

    def __init__(self, app: Flask) -> None:
        self.log = app.logger
        self.max_pending: int = max(1, app.config["WILLOW_LOG_QUEUE_MAX_ROWS"])
        with app.app_context():
            main = db.engine
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.pop("pool_pre_ping", None)
        if main.dialect.name == "postgresql":
            # Tells the writer's connection apart in pg_stat_activity.
            connect_args = dict(options.get("connect_args") or {})
            connect_args.setdefault("application_name", APPLICATION_NAME)
            options["connect_args"] = connect_args
        self.engine = create_engine(main.url, **options)
        if self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "connect", _asynchronous_commit)
        # Whoever disposes of the application's engine (tests, a shutdown) stops the writer
        # and disposes of its engine too, so that no connection is left open.
        event.listen(main, "engine_disposed", self._on_main_disposed)
        dialect = self.engine.dialect
        compiled = insert(ScimRequestLog.__table__).compile(dialect=dialect, column_keys=COLUMNS)
        self.sql = str(compiled)
        self.order = compiled.positiontup if compiled.positional else None
        self.sql_counted = _counted_upsert(dialect, self.order)
        # Where a row's parameters (a list, or a dict) hold its count key and count.
        self._count_key, self._repeat_count = (
            (self.order.index("count_key"), self.order.index("repeat_count"))
            if self.order
            else ("count_key", "repeat_count")
        )
        table = ScimRequestLog.__table__
        # With each processor, what it makes of None, worked out once: most rows leave
        # most JSON columns empty (warnings, changes, notes), each a serialiser call.
        self.processors = [
            (name, processor, processor(None))
            for name in COLUMNS
            if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        ]
        self._begin = "BEGIN IMMEDIATE" if dialect.name == "sqlite" else None
        self.sql_batch = (
            _sqlite_batch_insert(self.sql, len(self.order)) if dialect.name == "sqlite" else None
        )
        # On SQLite, queue with the request threads for the one writer (database.py).
        self._writers = writer_queue(app) or contextlib.nullcontext()
        self._cond = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._submitted = 0  # rows handed over so far
        self._finished = 0  # rows written, or given up on and reported
        self._flush_wanted = 0  # rows someone waits for (flush): written without delay
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closed = False
        #: When the database was found unavailable (time.monotonic()); None while it is up.
        self._down_since: float | None = None
        self._dropped_in_outage = 0
        #: Rows dropped because the queue was full while the database was unavailable.
        self.dropped = 0
        self._unavailable: BaseException | None = None
        _open_writers.add(self)

    # -- request threads -------------------------------------------------------------

    def submit(self, row: dict[str, Any]) -> None:
        """Hand one row over; returns at once unless the queue is full."""
        with self._cond:
            inline = self._closed
            if not inline:
                self._start()
                while len(self._pending) >= self.max_pending:
                    if self._down_since is not None:
                        self._drop(row)
                        return
                    # Back-pressure: the database is behind; wait as a synchronous write
                    # would. Checking on the thread now and then: nothing else would wake
                    # this request if it had ended.
                    self._cond.wait(timeout=1.0)
                    self._start()
                self._pending.append(row)
                self._submitted += 1
                if len(self._pending) == 1 or len(self._pending) >= BATCH_ROWS:
                    # Wake the writer only when it has something new to decide: a first
                    # row starts its batch window, a full batch ends it. Waking it for
                    # every row costs each request a thread switch.
                    self._cond.notify_all()
        if inline:
            for lost in self._write([row]):
                self.log.warning(
                    "could not write the SCIM request log for %s %s (request id %s): the "
                    "database is unavailable",
                    lost.get("method"),
                    lost.get("path"),
                    lost.get("request_id"),
                )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every row handed over before this call is written (or reported as
        failed). False when ``timeout`` seconds passed first, or at once while the
        database is unavailable (the rows are held; waiting would not write them)."""
        with self._cond:
            target = self._submitted
            self._flush_wanted = max(self._flush_wanted, target)
            self._cond.notify_all()
            self._cond.wait_for(
                lambda: self._finished >= target or self._down_since is not None, timeout
            )
            return self._finished >= target

    def stop(self, timeout: float = 10.0, *, final: bool = False) -> None:
        """Write what is queued and let the thread end; the next row starts it again.
        ``final`` (interpreter exit): later rows are written by the thread submitting them."""
        with self._cond:
            self._stopping = True
            self._closed = self._closed or final
            self._cond.notify_all()
            thread = self._thread
        # ident: started (a stop signal may come between the thread's creation and start).
        if (
            thread is not None
            and thread.ident is not None
            and thread is not threading.current_thread()
        ):
            thread.join(timeout)
        with self._cond:
            self._stopping = False
            held = len(self._pending)
        if final and held:
            self.log.warning(
                "%d SCIM request log rows were not written: the database is unavailable", held
            )

    def insert_in(self, conn, row: dict[str, Any]) -> None:
        """Insert ``row`` on ``conn`` (a Core connection), in its open transaction: the
        row of a change commits with the change (``capture.write_in_transaction``). The
        INSERT compiled for the batches, on the DBAPI cursor: Core's execute of it cost
        a change request about a tenth of its time."""
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(self.sql, self._parameters(row))
        finally:
            cursor.close()

    # -- the writer thread -----------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="willow-request-log-writer", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopping)
                if not self._pending:
                    return  # stopping, and everything is written
                if self._down_since is not None:
                    # Try again in a while; a stop tries once more at once.
                    self._cond.wait_for(lambda: self._stopping, RETRY_S)
                else:
                    # Let the batch fill for a moment, unless someone waits for it.
                    self._cond.wait_for(
                        lambda: (
                            len(self._pending) >= min(BATCH_ROWS, self.max_pending)
                            or self._stopping
                            or self._flush_wanted > self._finished
                        ),
                        BATCH_WINDOW_S,
                    )
                batch = self._pending[:BATCH_ROWS]
                del self._pending[:BATCH_ROWS]
                self._cond.notify_all()  # room for requests waiting on a full queue
            held: list[dict[str, Any]] = batch
            try:
                held = self._write(batch)
            finally:
                with self._cond:
                    self._finished += len(batch) - len(held)
                    if held:
                        self._pending[:0] = held  # first in line for the next try, in order
                    self._availability_changed(down=bool(held))
                    self._cond.notify_all()
            if held and self._stopping:
                return  # the rows stay queued; the next row starts the thread again

    def _write(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert ``rows`` in one transaction; if that fails, each row on its own, so that
        only the rows that cannot be written are lost (and reported). Returns the rows
        not written because the database is unavailable: they are to be tried again."""
        try:
            self._insert([self._parameters(row) for row in rows])
            return []
        except Exception as exc:
            if is_unavailable(exc):
                self._unavailable = exc
                return rows
            if len(rows) == 1:
                self._report(rows[0])
                return []
        for i, row in enumerate(rows):
            try:
                self._insert([self._parameters(row)])
            except Exception as exc:
                if is_unavailable(exc):
                    self._unavailable = exc
                    return rows[i:]
                self._report(row)
        return []

    def _availability_changed(self, *, down: bool) -> None:
        """Note an outage's start and end, with a warning each (under ``_cond``)."""
        if down and self._down_since is None:
            self._down_since = time.monotonic()
            self._dropped_in_outage = 0
            self.log.warning(
                "the database is unavailable (%s): the SCIM request log holds up to %d rows "
                "until it is back",
                reason(self._unavailable),
                self.max_pending,
            )
        elif not down and self._down_since is not None:
            self.log.warning(
                "the database is back after %.1f s: the SCIM request log rows held meanwhile "
                "are written (%d dropped: the queue was full)",
                time.monotonic() - self._down_since,
                self._dropped_in_outage,
            )
            self._down_since = None

    def _drop(self, row: dict[str, Any]) -> None:
        """A row past the queue's bound while the database is unavailable (under
        ``_cond``)."""
        self.dropped += 1
        self._dropped_in_outage += 1
        if self._dropped_in_outage == 1:
            self.log.warning(
                "the SCIM request log queue is full (%d rows) while the database is "
                "unavailable: rows of further requests are dropped until it is back "
                "(first: %s %s, request id %s)",
                self.max_pending,
                row.get("method"),
                row.get("path"),
                row.get("request_id"),
            )

    def _report(self, row: dict[str, Any]) -> None:
        self.log.exception(
            "could not write the SCIM request log for %s %s (request id %s)",
            row.get("method"),
            row.get("path"),
            row.get("request_id"),
        )

    def _parameters(self, row: dict[str, Any]) -> Any:
        if (
            row["organization_id"] is None
            or (row["token_id"] is not None and row["token_name"] is None)
            or TOKEN_DIGEST in row
        ):
            self._complete(row)
        params = dict(row)
        for name, value in ROW_DEFAULTS.items():
            params.setdefault(name, value)
        for name, processor, none in self.processors:
            value = params[name]
            params[name] = none if value is None else processor(value)
        # Weighed as written: bodies, and the JSON the processors made (headers, changes).
        params["stored_bytes"] = ROW_BYTES + sum(
            [len(value) for value in params.values() if value.__class__ is str]
        )
        if self.order is not None:
            return [params[name] for name in self.order]
        return params

    def _insert(self, params: list[Any]) -> None:
        dialect = self.engine.dialect
        for attempt in (1, 2):
            conn = self.engine.raw_connection()
            try:
                with self._writers:
                    self._insert_batch(conn, params)
                return
            except dialect.loaded_dbapi.Error as exc:
                if attempt == 2 or not dialect.is_disconnect(exc, conn.dbapi_connection, None):
                    _rollback(conn)
                    raise
                # Dropped while idle in the pool (server restart, idle timeout): the pool
                # forgets it and the retry connects afresh.
                conn.invalidate(exc)
            finally:
                conn.close()

    def _insert_batch(self, conn, params: list[Any]) -> None:
        at = self._count_key
        cursor = conn.cursor()
        if self._begin:
            # The SQLite driver runs in autocommit (see database.py): open the
            # transaction that makes the batch one commit.
            cursor.execute(self._begin)
        # In the order handed over, so that ids follow the requests' order.
        for counted, run in itertools.groupby(params, lambda p: p[at] is not None):
            run = list(run)
            if counted:
                cursor.executemany(self.sql_counted, self._one_per_entry(run))
            elif self.sql_batch is not None and len(run) > 1:
                cursor.execute(self.sql_batch, (json.dumps(run, ensure_ascii=False),))
            else:
                cursor.executemany(self.sql, run)
        cursor.close()
        conn.commit()

    def _one_per_entry(self, run: list[Any]) -> list[Any]:
        """Counted refusals, one per entry: the first (the entry's time and request),
        with the last one's count, the highest."""
        at, count = self._count_key, self._repeat_count
        entries: dict[str, Any] = {}
        for params in run:
            first = entries.setdefault(params[at], params)
            first[count] = params[count]
        return list(entries.values())

    def _complete(self, row: dict[str, Any]) -> None:
        """Token name and organization that capture could not know: the request's rollback
        expired the token, or the request named no known token. Plain reads, through the
        writer's own engine: every connection the thread uses is closed when it stops."""
        with self.engine.connect() as conn:
            if TOKEN_DIGEST in row:
                # The request was answered while the database was unavailable: its token
                # could not be read then (capture), only its digest was kept.
                found = conn.execute(_TOKEN_BY_DIGEST, {"digest": row[TOKEN_DIGEST]}).first()
                if found is not None:
                    row["token_id"], row["token_name"] = found.id, found.name
                    row["organization_id"] = found.organization_id
                del row[TOKEN_DIGEST]
            if row["token_id"] is not None and (
                row["token_name"] is None or row["organization_id"] is None
            ):
                found = conn.execute(_TOKEN, {"token_id": row["token_id"]}).first()
                if found is not None:
                    row["token_name"] = row["token_name"] or found.name
                    row["organization_id"] = row["organization_id"] or found.organization_id
            if row["organization_id"] is None:
                # A request without a known token belongs to no organization, except on an
                # install that has only one: there its admin must see the IdP's 401s
                # ("Verify the API token is correct" is the first troubleshooting step).
                organizations = conn.execute(_ORGANIZATIONS).scalars().all()
                if len(organizations) == 1:
                    row["organization_id"] = organizations[0]

    def _on_main_disposed(self, _engine) -> None:
        self.stop()
        self.engine.dispose()


def _counted_upsert(dialect, order: list[str] | None) -> str:
    """The INSERT of a counted refusal's entry (``count_key`` set): the first refusal of a
    window inserts it, the later ones (from any app server) only raise its count, never
    lower it (batches of two servers may commit out of order). The entry is dated at its
    window's start (capture), so the key and the time together find it."""
    table = ScimRequestLog.__table__
    stmt = (postgresql_insert if dialect.name == "postgresql" else sqlite_insert)(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.count_key, table.c.created_at],
        index_where=table.c.count_key.isnot(None),
        set_={
            "repeat_count": case(
                (table.c.repeat_count < stmt.excluded.repeat_count, stmt.excluded.repeat_count),
                else_=table.c.repeat_count,
            )
        },
    )
    compiled = stmt.compile(dialect=dialect, column_keys=COLUMNS)
    if (compiled.positiontup if compiled.positional else None) != order:
        # The rows' parameters are laid out for the plain INSERT.
        raise RuntimeError("the counted upsert binds its parameters in another order")
    return str(compiled)


def _sqlite_batch_insert(insert_sql: str, width: int) -> str:
    """``insert_sql`` (``INSERT INTO t (…) VALUES (?, …)``) for every row of a JSON array
    of rows (each a list of ``width`` values in the columns' order), as one statement.

    ``executemany`` runs the INSERT once per row, and CPython's SQLite driver gives the
    GIL away about four times a row (bind, step, reset): each time to a request thread,
    and the writer then waits for it back at a thread switch. One statement gives it away
    a few times per batch, and SQLite inserts the whole batch without it. The values are
    what the columns' bind processors made (text, integers, a float duration, NULL),
    which JSON carries unchanged."""
    head = insert_sql[: insert_sql.index(" VALUES ")]
    values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(width))
    return f"{head} SELECT {values} FROM json_each(?)"


def _rollback(conn) -> None:
    try:
        conn.rollback()
    except Exception:  # the connection is broken; the pool discards it on close
        logger.debug("rollback after a failed log write failed", exc_info=True)


def _asynchronous_commit(dbapi_connection, connection_record) -> None:  # noqa: ARG001
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit TO OFF")
    cursor.close()
    if not dbapi_connection.autocommit:
        dbapi_connection.commit()


@atexit.register
def _close_open_writers() -> None:
    for writer in list(_open_writers):
        writer.stop(final=True)
