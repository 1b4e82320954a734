"""Date arithmetic in SQL that SQLite and PostgreSQL spell differently.

Constructs compiled per dialect, so that queries stay single SQL statements on both
databases: ``hour_bucket``/``day_bucket`` (a timestamp truncated, as text, for GROUP BY)
and ``shifted`` (a timestamp plus a number of seconds).

SQLAlchemy stores SQLite datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff`` text, which sorts
like the time itself; ``shifted`` answers in the same shape so comparisons stay correct.
"""

from __future__ import annotations

from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class _Bucket(FunctionElement):
    """A timestamp truncated to its ``unit``, as ``'YYYY-MM-DD HH:00'`` text.

    One class per unit, so that the unit is part of the SQL text and not a bound
    parameter: PostgreSQL only recognises the SELECT expression in the GROUP BY when the
    two are spelled identically.
    """

    type = String()
    inherit_cache = True
    unit = "hour"
    sqlite_format = "%Y-%m-%d %H:00"


class hour_bucket(_Bucket):  # noqa: N801 (reads like the SQL function it is)
    name = "hour_bucket"
    inherit_cache = True


class day_bucket(_Bucket):  # noqa: N801
    name = "day_bucket"
    inherit_cache = True
    unit = "day"
    sqlite_format = "%Y-%m-%d 00:00"


@compiles(_Bucket, "sqlite")
def _bucket_sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"strftime('{element.sqlite_format}', {column})"


@compiles(_Bucket, "postgresql")
def _bucket_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"to_char(date_trunc('{element.unit}', {column}), 'YYYY-MM-DD HH24:00')"


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
