"""partition the events by day on PostgreSQL

On PostgreSQL, events becomes a table partitioned by range of occurred_at, one partition a
day plus a DEFAULT one, as the request log was (revision 0f6b4b2f089f, whose generic
conversion this one repeats, so that neither migration imports the other or app code that
may change later): willow/partitions makes the next days' partitions at run time, and the
events' retention drops whole days.

1. lock the table, read its indexes, constraints and sequences, rename it away;
2. CREATE TABLE … (LIKE old INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE
   (occurred_at); one partition per day that has rows, today and the next days, DEFAULT;
3. copy every row (INSERT … SELECT: PostgreSQL routes each to its day), then build the
   indexes and constraints on the parent (each partition gets its own), add the foreign
   key back, hand the id sequence over, drop the old table, ANALYZE.

A partitioned table's unique keys must hold the partition key: the primary key becomes
(id, occurred_at), uq_events_org_sequence (organization_id, sequence, occurred_at) and
uq_events_event_id (event_id, occurred_at), on both databases (the model says so). What
keeps sequences and event ids unique is not the index: a sequence is taken under the
organization row's lock (willow/events/store.py), an event id is 128 random bits.

Cost: one transaction holding the table's exclusive lock for the copy and the index
builds (docs/events.md, per million events): stop the app servers first. On SQLite the
table stays one table; only its two unique keys widen (a copy of events, which no other
table references, so no ON DELETE action can fire).

Revision ID: 5e51256f432a
Revises: 0ee60c342316
Create Date: 2026-12-07 06:35:53.729156

"""

import re
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e51256f432a'
down_revision = '0ee60c342316'
branch_labels = None
depends_on = None

TABLE = "events"
KEY = "occurred_at"
#: Partitions made ahead of today (as willow/partitions/rules.AHEAD_DAYS at the time).
AHEAD_DAYS = 3
#: The unique keys this migration widens with the partition key (on both databases).
WIDENED = ("uq_events_event_id", "uq_events_org_sequence")


def upgrade():
    if op.get_context().dialect.name == "postgresql":
        _partition(op.get_bind())
        return
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_constraint("uq_events_event_id", type_="unique")
        batch_op.create_unique_constraint("uq_events_event_id", ["event_id", KEY])
        batch_op.drop_constraint("uq_events_org_sequence", type_="unique")
        batch_op.create_unique_constraint(
            "uq_events_org_sequence", ["organization_id", "sequence", KEY]
        )


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        _unpartition(op.get_bind())
        return
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_constraint("uq_events_org_sequence", type_="unique")
        batch_op.create_unique_constraint("uq_events_org_sequence", ["organization_id", "sequence"])
        batch_op.drop_constraint("uq_events_event_id", type_="unique")
        batch_op.create_unique_constraint("uq_events_event_id", ["event_id"])


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
            f"a partitioned table's unique keys must include {KEY}"
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
        if definition.startswith("UNIQUE"):
            definition = _unique_constraint(name, definition, partitioned)
        conn.exec_driver_sql(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')


def _with_key(columns: list[str]) -> list[str]:
    return columns if KEY in columns else [*columns, KEY]


def _unique_definition(name: str, definition: str, partitioned: bool) -> str:
    """A unique index with the partition key appended (partitioned) or, for one this
    migration widened, taken off again (downgrade)."""
    match = re.search(r" USING (\w+) \(([^()]*)\)", definition)
    if match is None:
        raise RuntimeError(f"cannot rebuild unique index {name}: {definition}")
    columns = _unique_columns(name, match.group(2), partitioned)
    rebuilt = f" USING {match.group(1)} ({', '.join(columns)})"
    return definition[: match.start()] + rebuilt + definition[match.end() :]


def _unique_constraint(name: str, definition: str, partitioned: bool) -> str:
    """``UNIQUE (a, b)`` with the partition key appended (partitioned) or, for one this
    migration widened, taken off again (downgrade)."""
    match = re.match(r"UNIQUE (?:NULLS NOT DISTINCT )?\(([^()]*)\)", definition)
    if match is None:
        raise RuntimeError(f"cannot rebuild unique constraint {name}: {definition}")
    columns = _unique_columns(name, match.group(1), partitioned)
    head = definition[: match.start(1)]
    return f"{head}{', '.join(columns)}){definition[match.end():]}"


def _unique_columns(name: str, listed: str, partitioned: bool) -> list[str]:
    columns = [c.strip() for c in listed.split(",")]
    if partitioned:
        return _with_key(columns)
    if name in WIDENED:
        return [c for c in columns if c != KEY]
    return columns


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
