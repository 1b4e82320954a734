"""Which day partitions a table needs and which retention drops whole (pure)."""

from __future__ import annotations

from datetime import date
from datetime import datetime

import pytest

from willow.partitions import rules

T = "scim_request_logs"


def test_a_day_partition_holds_its_utc_day_from_midnight_to_midnight():
    assert rules.partition_name(T, date(2026, 12, 7)) == "scim_request_logs_p20261207"
    assert rules.day_bounds(date(2026, 12, 31)) == (
        datetime(2026, 12, 31),
        datetime(2027, 1, 1),
    )


def test_partitions_are_made_for_today_and_the_days_ahead():
    assert rules.days_ahead(date(2026, 12, 30), 3) == [
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2027, 1, 2),
    ]


def test_only_the_missing_days_are_made():
    names = ["scim_request_logs_p20261207", "scim_request_logs_default"]
    days = [date(2026, 12, 7), date(2026, 12, 8)]
    assert rules.missing(T, names, days) == [date(2026, 12, 8)]


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("scim_request_logs_p20261207", date(2026, 12, 7)),
        ("scim_request_logs_default", None),
        ("scim_request_logs_p20261307", None),  # no 13th month
        ("scim_request_logs_p2026120", None),
        ("events_p20261207", None),
        ("scim_request_logs_pk", None),
    ],
)
def test_the_day_is_read_back_from_a_partition_name_only(name, day):
    assert rules.day_of(T, name) == day


def test_retention_drops_only_partitions_that_end_before_the_cutoff_oldest_first():
    names = [
        "scim_request_logs_p20261203",
        "scim_request_logs_p20261201",
        "scim_request_logs_p20261202",
        "scim_request_logs_default",
    ]
    # The 3rd straddles the cut-off: its older rows are deleted, the partition stays.
    cutoff = datetime(2026, 12, 3, 12, 0)
    assert rules.wholly_before(T, names, cutoff) == [
        "scim_request_logs_p20261201",
        "scim_request_logs_p20261202",
    ]
    assert rules.wholly_before(T, names, datetime(2026, 12, 3)) == [
        "scim_request_logs_p20261201",
        "scim_request_logs_p20261202",
    ]


@pytest.mark.parametrize(
    ("name", "kind", "included"),
    [
        ("scim_request_logs_p20261207", "table", False),
        ("scim_request_logs_default", "table", False),
        ("scim_request_logs", "table", True),
        ("users", "table", True),
        ("scim_request_logs_p20261207", "index", True),
        ("events_p20261207", "table", False),
        ("events_default", "table", False),
        ("events", "table", True),
    ],
)
def test_autogenerate_compares_the_parent_tables_not_their_partitions(name, kind, included):
    assert rules.include_name(name, kind, {}) is included


def test_each_partitioned_table_is_split_by_its_own_time_column():
    assert rules.partition_key("scim_request_logs") == "created_at"
    assert rules.partition_key("events") == "occurred_at"
    assert rules.day_of("events", "events_p20261207") == date(2026, 12, 7)
    assert rules.day_of("events", "scim_request_logs_p20261207") is None
