"""partition the request log by day on PostgreSQL

On PostgreSQL, scim_request_logs becomes a table partitioned by range of created_at, one
partition a day plus a DEFAULT one (willow/partitions makes the next days' partitions at
run time; retention drops whole days). The conversion is generic, so that it keeps
whatever columns, indexes and foreign keys other migrations gave the table before it:

1. lock the table, read its indexes, constraints and sequences, rename it away;
2. CREATE TABLE … (LIKE old INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE
   (created_at); one partition per day that has rows, today and the next days, DEFAULT;
3. copy every row (INSERT … SELECT: PostgreSQL routes each to its day), then build the
   indexes on the parent (each partition gets its own), add the foreign keys back, hand
   the id sequence over, drop the old table, ANALYZE.

A unique index or primary key of a partitioned table must hold the partition key, so the
primary key becomes (id, created_at) and a unique index without created_at gets it
appended (the counted-refusal key, ix_scim_logs_count_key, on both databases: entries
are dated at their window's start). A foreign key that references the log cannot
survive, so the conversion stops if one exists.

Cost: one transaction holding the table's exclusive lock for the copy and the index
builds (measured in docs/request-log.md, per million rows): stop the app servers first.
SQLite keeps one table (its DELETE prune); only the unique index changes there.

Revision ID: 0f6b4b2f089f
Revises: 7279c5e3008b
Create Date: 2026-12-07 05:19:59.656828

"""

import re
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0f6b4b2f089f'
down_revision = '7279c5e3008b'
branch_labels = None
depends_on = None

TABLE = "scim_request_logs"
KEY = "created_at"
#: Partitions made ahead of today (as willow/partitions/rules.AHEAD_DAYS at the time).
AHEAD_DAYS = 3
COUNT_KEY_WHERE = sa.text("count_key IS NOT NULL")


def upgrade():
    if op.get_context().dialect.name == "postgresql":
        _partition(op.get_bind())
        return
    op.drop_index("ix_scim_logs_count_key", table_name=TABLE, sqlite_where=COUNT_KEY_WHERE)
    op.create_index(
        "ix_scim_logs_count_key",
        TABLE,
        ["count_key", KEY],
        unique=True,
        sqlite_where=COUNT_KEY_WHERE,
        postgresql_where=COUNT_KEY_WHERE,
    )


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        _unpartition(op.get_bind())
        return
    op.drop_index("ix_scim_logs_count_key", table_name=TABLE, sqlite_where=COUNT_KEY_WHERE)
    op.create_index(
        "ix_scim_logs_count_key",
        TABLE,
        ["count_key"],
        unique=True,
        sqlite_where=COUNT_KEY_WHERE,
        postgresql_where=COUNT_KEY_WHERE,
    )


# -- PostgreSQL ---------------------------------------------------------------------


def _partition(conn) -> None:
    old = f"{TABLE}_unpartitioned"
    # The index builds sort every partition's keys: in memory rather than in temp files.
    conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    conn.exec_driver_sql(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
    referencing = conn.scalars(
        sa.text(
            "SELECT conrelid::regclass || '.' || conname FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = CAST(:t AS regclass)"
        ),
        {"t": TABLE},
    ).all()
    if referencing:
        raise RuntimeError(
            f"cannot partition {TABLE}: foreign keys reference it ({', '.join(referencing)}); "
            "a partitioned table's unique keys must include created_at"
        )
    shape = _shape(conn, TABLE)
    conn.exec_driver_sql(f"ALTER TABLE {TABLE} RENAME TO {old}")
    _drop_keys(conn, old, shape)
    conn.exec_driver_sql(
        f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        f"PARTITION BY RANGE ({KEY})"
    )
    days = set(conn.scalars(sa.text(f"SELECT DISTINCT CAST({KEY} AS date) FROM {old}")))
    today = datetime.now(timezone.utc).date()
    days.update(today + timedelta(days=n) for n in range(AHEAD_DAYS + 1))
    for day in sorted(days):
        start = datetime.combine(day, datetime.min.time())
        conn.exec_driver_sql(
            f"CREATE TABLE {TABLE}_p{day:%Y%m%d} PARTITION OF {TABLE} "
            f"FOR VALUES FROM ('{start}') TO ('{start + timedelta(days=1)}')"
        )
    conn.exec_driver_sql(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
    conn.exec_driver_sql(f"INSERT INTO {TABLE} SELECT * FROM {old}")
    _add_keys(conn, shape, partitioned=True)
    _take_over_sequences(conn, old, TABLE)
    conn.exec_driver_sql(f"DROP TABLE {old}")
    conn.exec_driver_sql(f"ANALYZE {TABLE}")


def _unpartition(conn) -> None:
    old = f"{TABLE}_partitioned"
    conn.exec_driver_sql(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
    shape = _shape(conn, TABLE)
    conn.exec_driver_sql(f"ALTER TABLE {TABLE} RENAME TO {old}")
    _drop_keys(conn, old, shape)
    conn.exec_driver_sql(
        f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    conn.exec_driver_sql(f"INSERT INTO {TABLE} SELECT * FROM {old}")
    _add_keys(conn, shape, partitioned=False)
    _take_over_sequences(conn, old, TABLE)
    conn.exec_driver_sql(f"DROP TABLE {old} CASCADE")
    conn.exec_driver_sql(f"ANALYZE {TABLE}")


def _shape(conn, table: str) -> dict:
    """The table's primary key, other indexes and foreign keys, as definitions to build
    again on the new table (read before the rename, so they name ``table``)."""
    primary = conn.execute(
        sa.text(
            "SELECT conname, array_agg(a.attname ORDER BY k.n) FROM pg_constraint c "
            "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
            "WHERE c.contype = 'p' AND c.conrelid = CAST(:t AS regclass) GROUP BY conname"
        ),
        {"t": table},
    ).first()
    indexes = conn.execute(
        sa.text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid) "
            "ORDER BY c.relname"
        ),
        {"t": table},
    ).all()
    constraints = conn.execute(
        sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('f', 'u') ORDER BY conname"
        ),
        {"t": table},
    ).all()
    return {"primary": primary, "indexes": indexes, "constraints": constraints}


def _drop_keys(conn, table: str, shape: dict) -> None:
    """Free the names of the renamed table's keys for the new table (it is only read
    from now on)."""
    for name, _definition in shape["constraints"]:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    if shape["primary"] is not None:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{shape["primary"][0]}"')
    for name, _definition, _unique in shape["indexes"]:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')


def _add_keys(conn, shape: dict, *, partitioned: bool) -> None:
    if shape["primary"] is not None:
        name, columns = shape["primary"]
        columns = _with_key(list(columns)) if partitioned else [c for c in columns if c != KEY]
        conn.exec_driver_sql(
            f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" PRIMARY KEY ({", ".join(columns)})'
        )
    for name, definition, unique in shape["indexes"]:
        if unique:
            definition = _unique_definition(name, definition, partitioned)
        conn.exec_driver_sql(definition)
    for name, definition in shape["constraints"]:
        if definition.startswith("UNIQUE") and partitioned and KEY not in definition:
            definition = re.sub(r"\)", f", {KEY})", definition, count=1)
        conn.exec_driver_sql(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')


def _with_key(columns: list[str]) -> list[str]:
    return columns if KEY in columns else [*columns, KEY]


def _unique_definition(name: str, definition: str, partitioned: bool) -> str:
    """A unique index with the partition key appended (partitioned) or, for the one this
    migration widened, taken off again (downgrade)."""
    match = re.search(r" USING (\w+) \(([^()]*)\)", definition)
    if match is None:
        raise RuntimeError(f"cannot rebuild unique index {name}: {definition}")
    columns = [c.strip() for c in match.group(2).split(",")]
    if partitioned:
        columns = _with_key(columns)
    elif name == "ix_scim_logs_count_key":
        columns = [c for c in columns if c != KEY]
    rebuilt = f" USING {match.group(1)} ({', '.join(columns)})"
    return definition[: match.start()] + rebuilt + definition[match.end() :]


def _take_over_sequences(conn, old: str, new: str) -> None:
    """The serial columns' sequences belong to the old table (and would go with it): hand
    them to the new one. An identity column's is made anew, from the highest value."""
    rows = conn.execute(
        sa.text(
            "SELECT attname, attidentity, pg_get_serial_sequence(:old, attname) "
            "FROM pg_attribute WHERE attrelid = CAST(:old AS regclass) AND attnum > 0 "
            "AND NOT attisdropped AND pg_get_serial_sequence(:old, attname) IS NOT NULL"
        ),
        {"old": old},
    ).all()
    for column, identity, sequence in rows:
        if identity:
            kind = "ALWAYS" if identity == "a" else "BY DEFAULT"
            conn.exec_driver_sql(
                f"ALTER TABLE {new} ALTER COLUMN {column} ADD GENERATED {kind} AS IDENTITY"
            )
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence(:new, :c), "
                    f"(SELECT coalesce(max({column}), 0) + 1 FROM {new}), false)"
                ),
                {"new": new, "c": column},
            )
        else:
            conn.exec_driver_sql(f"ALTER SEQUENCE {sequence} OWNED BY {new}.{column}")
