"""SQL constructs that SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from sqlalchemy import JSON
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
