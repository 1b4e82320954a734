"""Making and dropping day partitions on PostgreSQL (the rules are in ``rules``).

Every change runs under a transaction-scoped advisory lock per table, so several app
servers starting (or pruning) at once take turns: the second finds the partitions the
first made. ``CREATE TABLE … PARTITION OF`` and ``DROP TABLE`` of a partition need a
short exclusive lock on the parent table; ``lock_timeout`` bounds the wait behind a long
reader (a CSV export), because while such DDL waits, every log INSERT queues behind it.
A round that times out is tried again at the pruner's next round; until then rows land
in the partitions that exist, or in the DEFAULT one.

On SQLite, or on a PostgreSQL table that is not partitioned, every function does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import text

from . import rules

#: How long DDL waits for the parent table's lock before giving up until the next round.
LOCK_TIMEOUT = "5s"

_KIND = text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:table)")
_PARTITIONS = text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = to_regclass(:table) ORDER BY c.relname"
)
_COLUMNS = text(
    "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(:table) "
    "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
)


def is_partitioned(conn: Connection, table: str) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return conn.scalar(_KIND, {"table": table}) == "p"


def partition_names(conn: Connection, table: str) -> list[str]:
    if conn.dialect.name != "postgresql":
        return []
    return list(conn.scalars(_PARTITIONS, {"table": table}))


def create_ahead(
    engine: Engine, table: str, today: date, ahead: int = rules.AHEAD_DAYS
) -> list[str]:
    """Make the partitions of today and the ``ahead`` next days that are missing, and the
    DEFAULT partition; the names made. Idempotent."""
    return ensure_days(engine, table, rules.days_ahead(today, ahead))


def ensure_days(engine: Engine, table: str, days: list[date]) -> list[str]:
    """Make the partitions of ``days`` that are missing (and the DEFAULT partition); the
    names made. Rows that landed in the DEFAULT partition for one of those days move into
    the new partition."""
    made: list[str] = []
    with engine.begin() as conn:
        if not is_partitioned(conn, table):
            return made
        _lock(conn, table)
        names = partition_names(conn, table)
        if rules.default_name(table) not in names:
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {_q(conn, rules.default_name(table))} "
                f"PARTITION OF {_q(conn, table)} DEFAULT"
            )
            made.append(rules.default_name(table))
        for day in rules.missing(table, names, days):
            _create(conn, table, day)
            made.append(rules.partition_name(table, day))
    return made


def drop_before(
    engine: Engine,
    table: str,
    cutoff: datetime,
    before_drop: Callable[[Connection, str], None] | None = None,
) -> int:
    """Drop the day partitions whose every row is older than ``cutoff``, one transaction
    each, oldest first; how many rows went. Rows older than ``cutoff`` in the partition
    that straddles it (and in the DEFAULT one) are the caller's to delete.

    ``before_drop(conn, partition)`` runs in a transaction of its own, committed just
    before each DROP: what must be recorded before the rows go (the events'
    pruned-through marks) is, even if the DROP then fails (it is tried again at the next
    round). Not in the DROP's transaction: that one takes the parent's exclusive lock,
    and holding row locks (an organization's) while waiting for it could deadlock with a
    writer that holds the parent's lock and waits for the row."""
    dropped = 0
    with engine.connect() as conn:
        if not is_partitioned(conn, table):
            return 0
        names = rules.wholly_before(table, partition_names(conn, table), cutoff)
    for name in names:
        if before_drop is not None:
            with engine.begin() as conn:
                _lock(conn, table)
                if name not in partition_names(conn, table):
                    continue  # another app server dropped it meanwhile
                before_drop(conn, name)
        with engine.begin() as conn:
            _lock(conn, table)
            if name not in partition_names(conn, table):
                continue
            rows = conn.scalar(text(f"SELECT count(*) FROM {_q(conn, name)}"))
            conn.exec_driver_sql(f"DROP TABLE {_q(conn, name)}")
        dropped += rows or 0
    return dropped


def _lock(conn: Connection, table: str) -> None:
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"willow.partitions.{table}"}
    )


def _create(conn: Connection, table: str, day: date) -> None:
    name, parent = _q(conn, rules.partition_name(table, day)), _q(conn, table)
    start, end = rules.day_bounds(day)
    bounds = f"FROM ('{start.isoformat(sep=' ')}') TO ('{end.isoformat(sep=' ')}')"
    default = _q(conn, rules.default_name(table))
    key = _q(conn, rules.partition_key(table))
    in_range = f"{key} >= :start AND {key} < :end"
    stray = conn.scalar(
        text(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {in_range})"),
        {"start": start, "end": end},
    )
    if not stray:
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {parent} FOR VALUES {bounds}"
        )
        return
    # The day's rows already sit in the DEFAULT partition (no partition existed when they
    # were written): a new partition may not overlap them, so they move into a table that
    # is then attached (which builds its indexes and checks the DEFAULT one).
    columns = ", ".join(_q(conn, c) for c in conn.scalars(_COLUMNS, {"table": table}))
    conn.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {default} WHERE {in_range} RETURNING {columns}) "
            f"INSERT INTO {name} ({columns}) SELECT {columns} FROM moved"
        ),
        {"start": start, "end": end},
    )
    conn.exec_driver_sql(f"ALTER TABLE {parent} ATTACH PARTITION {name} FOR VALUES {bounds}")


def _q(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)
