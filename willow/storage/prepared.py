"""Statements compiled once and run straight on the DBAPI cursor.

``Connection.execute`` of SQLAlchemy Core costs about 60 µs a call before the database
sees anything (execution context, cache key, result metadata) — four times the whole
SQLite read of an API token. The statements that every SCIM request runs are compiled
once per dialect here; parameters go through the columns' own bind processors and rows
through their result processors (SQLite's booleans, datetimes and JSON), so what goes in
and comes out is what Core would have sent and returned.

A statement runs on the DBAPI connection of a Core ``Connection``, inside its transaction
when one is open: a writing request opens its transaction first (``willow.scim.
transaction``). Errors are the driver's own (``sqlite3.IntegrityError``,
``psycopg.errors.UniqueViolation``): catch ``dbapi_errors(conn).IntegrityError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable


class _Compiled:
    __slots__ = ("sql", "order", "binds", "results", "keys")

    def __init__(
        self, statement: Executable, dialect: Dialect, column_keys: Sequence[str] | None
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = str(compiled)
        names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        #: Parameter names in the order of a positional driver's placeholders, or None.
        self.order = names if compiled.positional else None
        processors = compiled._bind_processors  # noqa: SLF001 - the columns' own conversions
        self.binds = [(name, processors[name]) for name in set(names) if name in processors]
        columns = compiled._result_columns  # noqa: SLF001 - names and types of the row
        self.keys = tuple(column[0] for column in columns)
        self.results = [
            (index, processor)
            for index, column in enumerate(columns)
            if (processor := column[3]._cached_result_processor(dialect, None))  # noqa: SLF001
        ]

    def parameters(self, params: dict[str, Any]) -> Any:
        if self.binds:
            params = dict(params)
            for name, processor in self.binds:
                params[name] = processor(params[name])
        return [params[name] for name in self.order] if self.order is not None else params


class Prepared:
    """One statement, compiled on first use per dialect. ``column_keys``: the columns an
    INSERT or UPDATE sets (its VALUES or SET clause), as Core would take them from the
    parameters' keys."""

    def __init__(self, statement: Executable, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = _Compiled(self.statement, dialect, self.column_keys)
            self._compiled[dialect.name] = found
        return found

    def rows(self, conn: Connection, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The statement's rows, as dicts keyed by column name."""
        compiled = self._compile(conn.dialect)
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(params))
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        keys = compiled.keys
        if compiled.results:
            fetched = [list(row) for row in fetched]
            for row in fetched:
                for index, processor in compiled.results:
                    row[index] = processor(row[index])
        return [dict(zip(keys, row, strict=True)) for row in fetched]

    def first(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any] | None:
        rows = self.rows(conn, params)
        return rows[0] if rows else None

    def execute(self, conn: Connection, params: dict[str, Any]) -> int:
        """Run a statement without rows (INSERT, UPDATE, DELETE); the rows it touched."""
        compiled = self._compile(conn.dialect)
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(params))
            return cursor.rowcount
        finally:
            cursor.close()

    def execute_many(self, conn: Connection, params: Sequence[dict[str, Any]]) -> None:
        """Run the statement once per parameter set, in one driver call."""
        compiled = self._compile(conn.dialect)
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.executemany(compiled.sql, [compiled.parameters(p) for p in params])
        finally:
            cursor.close()


def dbapi_errors(conn: Connection) -> Any:
    """The driver module whose exceptions ``Prepared`` statements raise."""
    return conn.dialect.loaded_dbapi
