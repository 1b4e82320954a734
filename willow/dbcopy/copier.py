"""Moving the rows: read every copied table from the source at one consistent point, write
them to the target in one transaction (so a failure leaves the target empty), reset the
target's sequences, then compare row counts and checksums on both sides."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.exc import DBAPIError

from ..partitions.rules import PARTITION_KEYS
from ..partitions.store import ensure_days
from ..storage.database import READ_ONLY
from ..storage.database import display_url
from .plan import MIGRATION_TABLE
from .plan import TableDigest
from .plan import TablePlan

BATCH_ROWS = 2_000

#: ``progress(total_rows)`` returns a context manager whose value has ``update(n)``
#: (click.progressbar's shape).
Progress = Callable[[int], AbstractContextManager]


class CopyRefused(Exception):
    """The copy did not start, or was undone: the message says why, for the admin."""


@dataclass
class TableResult:
    name: str
    copied: bool
    why_not: str = ""
    source_rows: int = 0
    target_rows: int = 0
    source_digest: str = ""
    target_digest: str = ""

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows and self.source_digest == self.target_digest


@dataclass
class CopyReport:
    target_display: str
    tables: list[TableResult] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(t.matches for t in self.tables if t.copied)


def target_url(raw: str) -> str:
    """The target as SQLAlchemy takes it (psycopg 3), or CopyRefused for anything but
    PostgreSQL."""
    text = raw.strip()
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://") :]
    if text.startswith("postgresql://"):
        text = "postgresql+psycopg://" + text[len("postgresql://") :]
    try:
        url = make_url(text)
    except ArgumentError:
        raise CopyRefused("--to is not a database URL (postgresql://user@host:5432/name)") from None
    if url.get_backend_name() != "postgresql":
        raise CopyRefused(
            f"--to must be a PostgreSQL database (postgresql://…), not {url.get_backend_name()}"
        )
    if not url.database:
        raise CopyRefused("--to names no database: postgresql://user@host:5432/<name>")
    return url.render_as_string(hide_password=False)


def same_database(a: str, b: str) -> bool:
    ua, ub = make_url(a), make_url(b)
    return (ua.get_backend_name(), ua.host, ua.port or 5432, ua.database) == (
        ub.get_backend_name(),
        ub.host,
        ub.port or 5432,
        ub.database,
    )


def tables_with_rows(engine: Engine) -> list[str]:
    """The target's tables that hold a row (Alembic's own table aside)."""
    inspector = sa.inspect(engine)
    found = []
    with engine.connect() as conn:
        for name in inspector.get_table_names():
            if name == MIGRATION_TABLE:
                continue
            table = sa.table(name)
            if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
                found.append(name)
    return found


def _rows(conn: Connection, table: sa.Table) -> Iterator[sa.Row]:
    query = sa.select(*table.columns)
    result = conn.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(query)
    yield from result


def _count(conn: Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _reading(engine: Engine) -> Connection:
    """A connection whose reads all see one point in time: SQLite's transaction (WAL) or
    PostgreSQL's REPEATABLE READ snapshot."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="REPEATABLE READ")
    return conn.execution_options(**{READ_ONLY: True})


def _reset_sequences(conn: Connection, plans: list[TablePlan]) -> None:
    """Copied ids were written as they were: each serial or identity sequence continues
    after the largest."""
    for plan in plans:
        for column in plan.table.primary_key.columns:
            if column.autoincrement is False or not isinstance(column.type, sa.Integer):
                continue
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": plan.table.name, "c": column.name},
            ).scalar()
            if sequence:
                conn.execute(
                    sa.text(
                        f"SELECT setval(:s, COALESCE((SELECT max({column.name}) FROM "
                        f"{plan.table.name}), 0) + 1, false)"
                    ),
                    {"s": sequence},
                )


def _make_partitions(reader: Connection, target: Engine, table: sa.Table) -> None:
    """A partitioned table on the target (the request log, the events: willow/partitions)
    gets the day partitions of the copied rows first, so they do not all land in its
    DEFAULT partition, which retention can only DELETE from."""
    if table.name not in PARTITION_KEYS:
        return
    key = table.c[PARTITION_KEYS[table.name]]
    low, high = reader.execute(sa.select(sa.func.min(key), sa.func.max(key))).one()
    if low is None:
        return
    days = [low.date() + timedelta(days=n) for n in range((high.date() - low.date()).days + 1)]
    ensure_days(target, table.name, days)


def _copy_table(reader: Connection, writer: Connection, table: sa.Table, bar) -> TableDigest:
    """Stream one table into PostgreSQL's COPY: a hundred times fewer round trips and
    statements than INSERTs. Values pass through the columns' own bind conversions for
    the target (JSON serialised, for example), then psycopg's COPY adaptation."""
    digest = TableDigest()
    dialect = writer.dialect
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns]
    columns = ", ".join(dialect.identifier_preparer.quote(c.name) for c in table.columns)
    name = dialect.identifier_preparer.format_table(table)
    cursor = writer.connection.driver_connection.cursor()
    pending = 0
    with cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
        for row in _rows(reader, table):
            digest.add(row)
            pairs = zip(processors, row, strict=True)
            copy.write_row([v if p is None or v is None else p(v) for p, v in pairs])
            pending += 1
            if pending == BATCH_ROWS:
                bar.update(pending)
                pending = 0
    bar.update(pending)
    return digest


def copy_rows(
    source: Engine, target: Engine, plans: list[TablePlan], progress: Progress
) -> CopyReport:
    """Copy, then verify. Raises CopyRefused (target rolled back) on any database error."""
    report = CopyReport(display_url(target.url.render_as_string(hide_password=False)))
    copied = [p for p in plans if p.copied]
    with _reading(source) as reader:
        reader.begin()
        totals = {p.table.name: _count(reader, p.table) for p in copied}
        for plan in copied:
            _make_partitions(reader, target, plan.table)
        try:
            with target.begin() as writer, progress(sum(totals.values())) as bar:
                # The migrations seed a few rows (the default organization): the
                # source's own rows take their place.
                for plan in reversed(copied):
                    writer.execute(plan.table.delete())
                for plan in plans:
                    result = TableResult(plan.table.name, plan.copied, plan.why_not)
                    report.tables.append(result)
                    if not plan.copied:
                        continue
                    digest = _copy_table(reader, writer, plan.table, bar)
                    result.source_rows = digest.rows
                    result.source_digest = digest.hexdigest()
                _reset_sequences(writer, copied)
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise CopyRefused(
                f"the copy failed and was undone; the target holds no copied row ({reason})"
            ) from None
    with _reading(target) as checker:
        checker.begin()
        for plan, result in zip(plans, report.tables, strict=True):
            if not plan.copied:
                continue
            digest = TableDigest()
            for row in _rows(checker, plan.table):
                digest.add(row)
            result.target_rows = digest.rows
            result.target_digest = digest.hexdigest()
    return report
