"""Which day partitions a table needs and which lie wholly before a retention cut-off.

Pure: names and bounds only, no database. A partition ``<table>_pYYYYMMDD`` holds the
rows of one UTC day, ``[day 00:00, next day 00:00)`` in the naive UTC times every
timestamp column stores; ``<table>_default`` holds whatever no day partition covers.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

#: Days created ahead of today: the pruner runs hourly by default, so several of its
#: rounds (or a few days without any app server running) pass before a day is needed.
AHEAD_DAYS = 3
#: Tables partitioned by day, and the timestamp column each is partitioned by (the
#: migration that converts each one names them too).
PARTITION_KEYS = {"scim_request_logs": "created_at", "events": "occurred_at"}
PARTITIONED_TABLES = tuple(PARTITION_KEYS)

_DAY_SUFFIX = re.compile(r"_p(\d{8})$")


def partition_key(table: str) -> str:
    """The column whose UTC day puts a row of ``table`` in its partition."""
    return PARTITION_KEYS[table]


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def default_name(table: str) -> str:
    return f"{table}_default"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The partition's range: from the day's midnight (inclusive) to the next one's."""
    start = datetime.combine(day, time.min)
    return start, start + timedelta(days=1)


def days_ahead(today: date, ahead: int = AHEAD_DAYS) -> list[date]:
    """Today and the ``ahead`` days after it."""
    return [today + timedelta(days=n) for n in range(ahead + 1)]


def day_of(table: str, name: str) -> date | None:
    """The day a partition of ``table`` holds; None for the DEFAULT partition or any
    other name."""
    if not name.startswith(table + "_p"):
        return None
    match = _DAY_SUFFIX.search(name)
    if match is None or len(name) != len(table) + 10:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def wholly_before(table: str, names: list[str], cutoff: datetime) -> list[str]:
    """The day partitions among ``names`` whose every row is older than ``cutoff``
    (their range ends at or before it), oldest first: retention drops these whole. The
    partition that straddles the cut-off is not among them (its older rows are deleted)."""
    days = sorted(
        (day, name)
        for name in names
        if (day := day_of(table, name)) is not None and day_bounds(day)[1] <= cutoff
    )
    return [name for _day, name in days]


def missing(table: str, names: list[str], days: list[date]) -> list[date]:
    """The days among ``days`` that have no partition yet."""
    present = set(names)
    return [day for day in days if partition_name(table, day) not in present]


def is_partition(name: str) -> bool:
    """Whether ``name`` is one of the partitions (not the parent) of a partitioned table:
    the migrations' autogenerate compares the parents only (migrations/env.py)."""
    return any(
        name == default_name(table) or day_of(table, name) is not None
        for table in PARTITIONED_TABLES
    )


def include_name(name: str | None, type_: str, parent_names: object) -> bool:  # noqa: ARG001
    """Alembic's ``include_name`` hook: leave the partitions out of autogenerate."""
    return not (type_ == "table" and name is not None and is_partition(name))
