"""The guard's counting rule. Pure: numbers in, a decision out."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: What counts as a deprovisioning (the SCIM operation recorded for the request).
DEPROVISIONING_OPERATIONS = ("deactivate", "delete")


@dataclass(frozen=True)
class Settings:
    enabled: bool = True
    #: 10: a small team's normal offboarding (a few leavers a day) never reaches it within
    #: an hour, while an emptied "Everyone" group passes it within the first seconds.
    count: int = 10
    #: 10 %: Okta's import safeguard defaults to 20 % of assignments; a SCIM burst is one
    #: organization's whole directory moving at once, so half that, and past ``count``
    #: only for organizations large enough that 10 % is more than 10 people.
    percent: int = 10
    #: 60 minutes: an IdP pushes a bad rule's deactivations within one provisioning cycle
    #: (Entra's is 40 minutes), so one cycle fits in the window.
    window_minutes: int = 60


DEFAULTS = Settings()


def threshold(settings: Settings, population: int) -> int:
    """The most deprovisionings allowed in one window: ``max(count, percent × population)``
    (rounded down: the guard errs towards holding)."""
    return max(settings.count, math.floor(settings.percent * population / 100))


def count_alone_allows(settings: Settings, recent: int) -> bool:
    """Whether ``recent`` deprovisionings (this one included) are within the count alone:
    then the guard need not count the organization's users at all, the cheap path."""
    return recent <= settings.count


def trips(settings: Settings, recent: int, population: int) -> bool:
    """Whether a deprovisioning trips the guard.

    ``recent`` counts the deprovisionings in the window, this one included; ``population``
    is the organization's active users before the window's deprovisionings (the active
    users now plus those already counted), so the percentage does not shrink as the
    burst goes on.
    """
    if not settings.enabled:
        return False
    return recent > threshold(settings, population)


def validate(count: int, percent: int, window_minutes: int) -> str | None:
    """Why these settings cannot be stored, or None."""
    if not 1 <= count <= 1_000_000:
        return "count must be between 1 and 1000000"
    if not 0 <= percent <= 100:
        return "percent must be between 0 and 100"
    if not 1 <= window_minutes <= 7 * 24 * 60:
        return "window must be between 1 minute and 7 days (10080 minutes)"
    return None
