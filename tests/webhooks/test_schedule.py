from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest

from willow.webhooks.schedule import RETRY_DELAYS_S
from willow.webhooks.schedule import Outcome
from willow.webhooks.schedule import next_attempt_at
from willow.webhooks.schedule import outcome

NOW = datetime(2026, 12, 7, 10, 42)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Outcome.SUCCESS),
        (204, Outcome.SUCCESS),
        (299, Outcome.SUCCESS),
        (301, Outcome.RETRY),
        (400, Outcome.RETRY),
        (404, Outcome.RETRY),
        (410, Outcome.GONE),
        (500, Outcome.RETRY),
        (None, Outcome.RETRY),
    ],
)
def test_only_2xx_succeeds_and_410_means_gone(status, expected):
    assert outcome(status) is expected


def test_retries_follow_the_issue_schedule_then_give_up():
    expected = [
        timedelta(0),
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=10),
    ]
    # After the first attempt failed the second comes 5 s later, and so on.
    got = [next_attempt_at(n, NOW) - NOW for n in range(1, 8)]
    assert got == expected[1:]
    assert next_attempt_at(8, NOW) is None
    assert len(RETRY_DELAYS_S) == 8
    assert sum(RETRY_DELAYS_S) / 3600 == pytest.approx(27.6, abs=0.1)
