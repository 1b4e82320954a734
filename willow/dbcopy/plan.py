"""What ``db copy`` copies, in which order, and how a table's rows are compared across
databases: pure functions over SQLAlchemy metadata and row values, no connection."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy import MetaData
from sqlalchemy import Table

#: Short-lived state, left behind: it is rebuilt by use, and copying it would carry
#: sessions and counters over to a database the admins have not signed in to yet.
LEFT_BEHIND: dict[str, str] = {
    "console_sessions": "console sign-in sessions (everyone signs in again)",
    "sign_in_throttles": "sign-in backoff counters",
    "rate_limit_counters": "per-token rate-limit windows",
}
#: Left behind with ``--without-log``. Events keep their request_id, so an event whose
#: log entry stayed behind says so on its page instead of linking to it.
LOG_TABLES = ("scim_request_logs",)
#: Alembic's own table: the target is migrated to head before the copy.
MIGRATION_TABLE = "alembic_version"


@dataclass(frozen=True)
class TablePlan:
    table: Table
    copied: bool
    why_not: str = ""


def plan_tables(metadata: MetaData, *, with_log: bool = True) -> list[TablePlan]:
    """Every table of the models, parents before children (foreign keys), with whether
    it is copied and, if not, why."""
    plans = []
    for table in metadata.sorted_tables:
        if table.name in LEFT_BEHIND:
            plans.append(TablePlan(table, False, LEFT_BEHIND[table.name]))
        elif table.name in LOG_TABLES and not with_log:
            plans.append(TablePlan(table, False, "the request log (--without-log)"))
        else:
            plans.append(TablePlan(table, True))
    return plans


def canonical(value: object) -> str:
    """One text for a column value whatever database it was read from: SQLite and
    PostgreSQL return the same Python values through the models' types, except that
    time zones, JSON key order and numeric types may differ."""
    if value is None:
        return "\x00"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


class TableDigest:
    """Row count and a checksum of a table's rows that does not depend on the order they
    are read in: the sum, modulo 2**256, of each canonical row's SHA-256. The two
    databases sort text differently (SQLite by bytes, PostgreSQL by its collation), so
    a digest over an ordered stream would differ for equal tables."""

    def __init__(self) -> None:
        self.rows = 0
        self._sum = 0

    def add(self, row: Iterable[object]) -> None:
        self.rows += 1
        line = "\x1f".join(canonical(v) for v in row).encode("utf-8", "surrogatepass")
        self._sum = (self._sum + int.from_bytes(hashlib.sha256(line).digest(), "big")) % _MOD

    def hexdigest(self) -> str:
        return f"{self._sum:064x}"


_MOD = 2**256


def switch_line(url_for_display: str) -> str:
    """The settings line, in the ``postgresql://`` form admins write (Willow picks the
    driver itself)."""
    url = url_for_display.replace("postgresql+psycopg://", "postgresql://", 1)
    return f"WILLOW_DATABASE_URL={url}"
