"""Console sign-in throttling: failed password sign-ins slow down the address that makes
them, and never lock an account.

Two counters are kept for every attempt, in the database so that every app server sees
the same ones:

- **per client address and email**: after ``WILLOW_SIGN_IN_ACCOUNT_FAILURES`` failures in a
  row, each further attempt from that address at that email waits 1, 2, 4, … seconds, up
  to ``WILLOW_SIGN_IN_MAX_DELAY_SECONDS``. A right password resets it.
- **per client address**, whatever email it tries: the same backoff after
  ``WILLOW_SIGN_IN_ADDRESS_FAILURES`` failures. It bounds password spraying (one password
  tried at many accounts) from one address. A right password does not reset it: otherwise
  whoever knows one password could wash away the failures they made at every other account.

A counter forgets its failures after ``FORGET_AFTER`` without one. Nothing is keyed by
the account alone, so an outsider cannot keep an admin out: the admin signing in from
another address meets counters of their own. The per-email counter is kept whether or
not the account exists, so being throttled says nothing about which addresses exist.

A throttled attempt is refused before any password is checked, and is not counted: at the
longest delay an address gets one guess per ``WILLOW_SIGN_IN_MAX_DELAY_SECONDS``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..storage import models
from ..storage.extensions import db
from ..storage.models import SignInThrottle

#: A counter with no failure for this long starts again from zero, and its row is deleted.
FORGET_AFTER = timedelta(hours=24)
#: Doublings beyond this are past any sensible cap; stops 2**n from growing without end.
MAX_DOUBLINGS = 40


def backoff_seconds(failures: int, free: int, cap: int) -> int:
    """How long the next attempt waits after ``failures`` failures in a row: nothing for
    the first ``free`` ones, then 1, 2, 4, … seconds, never more than ``cap``."""
    if failures <= free or cap <= 0:
        return 0
    return min(cap, 2 ** min(failures - free - 1, MAX_DOUBLINGS))


def seconds_to_wait(
    failures: int, last_failure_at: datetime | None, free: int, cap: int, now: datetime
) -> int:
    """Whole seconds until a counter lets the next attempt through (0: now)."""
    delay = backoff_seconds(failures, free, cap)
    if not delay or last_failure_at is None or now - last_failure_at >= FORGET_AFTER:
        return 0
    ready_at = last_failure_at + timedelta(seconds=delay)
    return max(0, math.ceil((ready_at - now).total_seconds()))


def failures_after_one_more(
    failures: int, last_failure_at: datetime | None, now: datetime
) -> int:
    """The count once this failure is added (a forgotten run starts again at one)."""
    if last_failure_at is None or now - last_failure_at >= FORGET_AFTER:
        return 1
    return failures + 1


def address_key(address: str | None) -> str:
    return _key("address", address or "unknown")


def account_key(address: str | None, email: str) -> str:
    return _key("account", address or "unknown", email)


def _key(*parts: str) -> str:
    # NUL cannot occur in an address or a form field, so the parts cannot run together.
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


@dataclass
class Attempt:
    """One sign-in attempt's two counters, locked until the caller commits."""

    by_address: SignInThrottle
    by_account: SignInThrottle
    #: Seconds the client must still wait; 0 when the attempt may check its password.
    retry_after: int


def begin_attempt(address: str | None, email: str) -> Attempt:
    """Lock this attempt's counters in the caller's transaction, and say whether it may go
    ahead.

    The rows are created first (``ON CONFLICT DO NOTHING``) and then locked, so that
    concurrent attempts from one address queue behind each other and each sees the
    failures of the one before; a burst of parallel guesses cannot slip in before the
    first failure is written. On SQLite the sign-in POST holds the write lock already.
    Keys are locked in sorted order so two attempts never wait for each other's rows.
    """
    config = current_app.config
    keys = sorted({address_key(address), account_key(address, email)})
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(SignInThrottle)
        .values([{"key": key, "failures": 0} for key in keys])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    rows = {
        row.key: row
        for row in db.session.scalars(
            select(SignInThrottle)
            .where(SignInThrottle.key.in_(keys))
            .order_by(SignInThrottle.key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    # Read after the locks are held: the attempt before may have just written its failure.
    now = models.utcnow()
    by_address = rows[address_key(address)]
    by_account = rows[account_key(address, email)]
    cap = config["WILLOW_SIGN_IN_MAX_DELAY_SECONDS"]
    wait = max(
        seconds_to_wait(
            by_address.failures,
            by_address.last_failure_at,
            config["WILLOW_SIGN_IN_ADDRESS_FAILURES"],
            cap,
            now,
        ),
        seconds_to_wait(
            by_account.failures,
            by_account.last_failure_at,
            config["WILLOW_SIGN_IN_ACCOUNT_FAILURES"],
            cap,
            now,
        ),
    )
    return Attempt(by_address, by_account, wait)


def record_failure(attempt: Attempt) -> None:
    """Count a wrong email or password on both counters (the caller commits), and delete
    counters that have forgotten their failures, so the table holds only recent ones."""
    now = models.utcnow()
    for row in (attempt.by_address, attempt.by_account):
        row.failures = failures_after_one_more(row.failures, row.last_failure_at, now)
        row.last_failure_at = now
    db.session.flush()
    db.session.execute(
        delete(SignInThrottle).where(SignInThrottle.last_failure_at <= now - FORGET_AFTER)
    )


def record_success(attempt: Attempt) -> None:
    """A right password resets its address-and-email counter; the address's own counter
    keeps its failures (see the module docstring). The caller commits."""
    attempt.by_account.failures = 0
    attempt.by_account.last_failure_at = None
    drop_unused(attempt)


def drop_unused(attempt: Attempt) -> None:
    """Delete the attempt's counters that hold no failure (``begin_attempt`` creates them
    for every attempt), so that refused or successful attempts leave no rows behind. The
    caller commits."""
    for row in (attempt.by_address, attempt.by_account):
        if row.last_failure_at is None:
            db.session.delete(row)
