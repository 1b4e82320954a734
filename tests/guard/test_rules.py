"""The guard's counting rule, without an app."""

from __future__ import annotations

import pytest

from willow.guard.rules import DEFAULTS
from willow.guard.rules import Settings
from willow.guard.rules import count_alone_allows
from willow.guard.rules import threshold
from willow.guard.rules import trips
from willow.guard.rules import validate


@pytest.mark.parametrize(
    ("population", "expected"),
    [(0, 10), (50, 10), (100, 10), (109, 10), (110, 11), (1000, 100), (100_000, 10_000)],
)
def test_the_threshold_is_the_count_or_the_percentage_of_active_users_whichever_is_more(
    population, expected
):
    assert threshold(DEFAULTS, population) == expected


@pytest.mark.parametrize(
    ("recent", "population", "tripped"),
    [(1, 100, False), (10, 100, False), (11, 100, True), (11, 200, False), (21, 200, True)],
)
def test_the_guard_trips_when_the_window_exceeds_the_threshold(recent, population, tripped):
    assert trips(DEFAULTS, recent, population) is tripped


def test_a_guard_that_is_off_never_trips():
    assert trips(Settings(enabled=False), 10_000, 100) is False


def test_a_zero_percent_leaves_the_count_alone():
    settings = Settings(count=3, percent=0)
    assert (trips(settings, 3, 1_000_000), trips(settings, 4, 1_000_000)) == (False, True)


def test_within_the_count_the_users_need_not_be_counted():
    assert count_alone_allows(DEFAULTS, 10) and not count_alone_allows(DEFAULTS, 11)


@pytest.mark.parametrize(
    ("count", "percent", "window", "error"),
    [
        (10, 10, 60, None),
        (0, 10, 60, "count"),
        (10, 101, 60, "percent"),
        (10, -1, 60, "percent"),
        (10, 10, 0, "window"),
        (10, 10, 10081, "window"),
    ],
)
def test_settings_out_of_range_are_refused_with_the_reason(count, percent, window, error):
    reason = validate(count, percent, window)
    assert (reason is None) if error is None else error in reason
