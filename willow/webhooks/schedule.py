"""When a delivery is tried again, and what an answer means.

Retries follow the schedule the issue sets (close to Svix's): at once, then after 5 s,
5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight attempts over about 28 hours, after which
the endpoint is disabled. A 2xx answer is success; 410 Gone means the consumer removed
the endpoint, which is disabled at once; anything else (another status, a timeout, a
refused connection, a redirect, which is never followed) is a failure to retry.

Pure: times are passed in, so the tests need not wait minutes.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from enum import Enum

#: Seconds before attempt n + 1 (the first is at once).
RETRY_DELAYS_S: tuple[int, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
#: Seconds a delivery may wait for the connection and for each read of the answer.
TIMEOUT_S = 15


class Outcome(Enum):
    SUCCESS = "success"
    RETRY = "retry"
    GONE = "gone"


def outcome(status: int | None) -> Outcome:
    """What an answer means; ``None`` is no answer (timeout, connection refused)."""
    if status is not None and 200 <= status < 300:
        return Outcome.SUCCESS
    if status == 410:
        return Outcome.GONE
    return Outcome.RETRY


def next_attempt_at(
    failures: int, now: datetime, delays: tuple[int, ...] = RETRY_DELAYS_S
) -> datetime | None:
    """When to try again after ``failures`` failed attempts in a row, or None when the
    schedule is used up (the endpoint is then disabled)."""
    if failures >= len(delays):
        return None
    return now + timedelta(seconds=delays[failures])
