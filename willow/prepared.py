"""Statements compiled once and run straight on the DBAPI cursor.

``Connection.execute`` of SQLAlchemy Core costs about 60 µs a call before the database
sees anything (execution context, cache key, result metadata) — four times the whole
SQLite read of an API token. The few statements that every SCIM request runs are
compiled once per dialect here, and their rows converted by the columns' own result
processors (SQLite's datetimes and JSON), so what they return is what Core would have.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable


class Prepared:
    """One SELECT (or any statement with rows), compiled on first use per dialect."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, list, tuple[str, ...]]] = {}

    def _compile(self, dialect: Dialect):
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            order = tuple(compiled.positiontup) if compiled.positional else None
            columns = compiled._result_columns  # noqa: SLF001 - names and types of the row
            keys = tuple(column[0] for column in columns)
            processors = [
                (index, processor)
                for index, column in enumerate(columns)
                if (processor := column[3]._cached_result_processor(dialect, None))
            ]
            found = self._compiled[dialect.name] = (str(compiled), order, processors, keys)
        return found

    def rows(self, conn: Connection, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The statement's rows on ``conn``'s DBAPI connection, in its transaction if one
        is open, as dicts keyed by column name."""
        sql, order, processors, keys = self._compile(conn.dialect)
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(sql, [params[name] for name in order] if order else params)
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        if processors:
            fetched = [list(row) for row in fetched]
            for row in fetched:
                for index, processor in processors:
                    row[index] = processor(row[index])
        return [dict(zip(keys, row, strict=True)) for row in fetched]

    def first(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any] | None:
        rows = self.rows(conn, params)
        return rows[0] if rows else None
