"""SQL constructs that SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class json_rows(FunctionElement):  # noqa: N801 - an SQL function, named like one
    """An aggregate: the group's rows as a JSON array of arrays, one per row, so that a
    resource and its child rows come back in one round trip. NULL (PostgreSQL) or an
    empty array (SQLite) when there are none."""

    type = JSON()
    inherit_cache = True


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element, compiler, **kw):
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element, compiler, **kw):
    return f"json_agg(json_build_array({compiler.process(element.clauses, **kw)}))"


def insert_unless_conflict(conn: Connection, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING``: a row that would break a unique index is not
    inserted (with RETURNING, no row comes back) and the transaction goes on, with no
    savepoint and no pre-check."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()
