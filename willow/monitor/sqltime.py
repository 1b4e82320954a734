"""Date arithmetic in SQL that SQLite and PostgreSQL spell differently.

Constructs compiled per dialect, so that queries stay single SQL statements on both
databases: ``hour_bucket`` (a timestamp truncated to the hour, for GROUP BY) and
``shifted`` (a timestamp plus a number of seconds).

SQLAlchemy stores SQLite datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff`` text, which sorts
like the time itself; ``shifted`` answers in the same shape so comparisons stay correct.
"""

from __future__ import annotations

from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class hour_bucket(FunctionElement):  # noqa: N801 (reads like the SQL function it is)
    """A timestamp truncated to the hour, for GROUP BY.

    SQLite answers ``'YYYY-MM-DD HH:00'`` text by cutting the stored text (far cheaper
    per row than strftime); PostgreSQL answers ``date_trunc('hour', ...)``, a timestamp.
    """

    inherit_cache = True
    name = "hour_bucket"


@compiles(hour_bucket, "sqlite")
def _hour_sqlite(element, compiler, **kw):
    return f"(substr({compiler.process(element.clauses, **kw)}, 1, 13) || ':00')"


@compiles(hour_bucket, "postgresql")
def _hour_postgresql(element, compiler, **kw):
    return f"date_trunc('hour', {compiler.process(element.clauses, **kw)})"


class shifted(FunctionElement):  # noqa: N801
    """``shifted(column, seconds)``: the timestamp moved by a number of seconds."""

    type = DateTime()
    inherit_cache = True
    name = "shifted"

    def __init__(self, column: ColumnElement, seconds: int):
        super().__init__(column, literal(int(seconds), Integer()))


@compiles(shifted, "sqlite")
def _shifted_sqlite(element, compiler, **kw):
    column, seconds = (compiler.process(c, **kw) for c in element.clauses)
    # %f gives milliseconds where the stored text has microseconds: a comparison may be
    # off by under a millisecond, which no caller cares about.
    return f"strftime('%Y-%m-%d %H:%M:%f', {column}, {seconds} || ' seconds')"


@compiles(shifted, "postgresql")
def _shifted_postgresql(element, compiler, **kw):
    column, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} + {seconds} * interval '1 second')"


class iso_utc(FunctionElement):  # noqa: N801
    """A naive-UTC timestamp as ISO 8601 text with milliseconds and a Z
    (``2026-01-31T14:00:05.123Z``), formatted by the database: the CSV export then never
    parses and re-formats a datetime per row in Python."""

    inherit_cache = True
    name = "iso_utc"


@compiles(iso_utc, "sqlite")
def _iso_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m-%dT%H:%M:%fZ', {compiler.process(element.clauses, **kw)})"


@compiles(iso_utc, "postgresql")
def _iso_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f'to_char({column}, \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\')'
