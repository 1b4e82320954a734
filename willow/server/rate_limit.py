"""Abuse limits on /scim: failed bearer authentications per client address, and an
optional request rate per API token. Both answer 429 with ``Retry-After`` and a SCIM Error.

``enforce(token)`` is called once per request by the bearer check, with the valid token
or None.

- **Failed authentications** (no token, an unknown, revoked or expired one) are counted per
  client address in one-minute windows; past ``WILLOW_AUTH_FAILURE_LIMIT`` the address gets
  429 instead of 401 until the window ends. Only failures are counted and only failures are
  refused: a request with a valid token always goes through, so a scanner sharing an
  address (or a NAT) with the IdP cannot lock the IdP out. That gives away nothing: a
  token is 256 random bits, so the limit is not what stops guessing; it bounds the work and
  the log rows a misbehaving client or scanner can cause. The counters live in the
  database (``rate_limit_counters``), so the limit holds across every app server; a
  failure costs one small upsert, and the success path never writes.
- **Per-token rate** (``WILLOW_TOKEN_RATE_LIMIT`` requests per minute, 0 = off, the
  default). On PostgreSQL it is counted in the database, so every app server on it shares
  one count: one upsert per request (``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on
  the token's row), run in autocommit on the request's own connection before its
  transaction begins, so it is one round trip and the row is locked for that statement
  only, not for the request. On SQLite it is counted in the process's memory: there a
  write on every request, reads included, would queue every GET behind the write lock,
  and a SQLite file is served by one app process.

A request refused past either limit is not logged row by row: it carries a
``CountedRefusal`` on its record, and the request log keeps one entry per client address
(or token) and window whose count says how many were refused (``monitor/capture.py``).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import Flask
from flask import current_app
from flask import request
from sqlalchemy import DateTime
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import literal_column
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..scim import audit
from ..scim import transaction
from ..scim.protocol.errors import TooManyRequests
from ..storage import models
from ..storage.extensions import db
from ..storage.models import ApiToken
from ..storage.models import RateLimitCounter
from ..storage.prepared import Prepared

WINDOW = timedelta(minutes=1)
#: Counters of windows older than this are deleted as failures are counted.
KEEP_COUNTERS = 10 * WINDOW


@dataclass(frozen=True)
class CountedRefusal:
    """A request refused past a limit, as the request log counts it: one entry per
    ``key`` and window, ``number`` the refusals of that window so far (this one included),
    ``text`` what the entry says to the admin."""

    key: str
    window_start: datetime
    number: int
    text: str


def enforce(token: ApiToken | None) -> None:
    """Count this request against the limits; raise ``TooManyRequests`` past one.

    ``token`` is the request's valid token, or None when authentication failed (the
    caller raises its 401 when this returns).
    """
    if token is None:
        _count_failed_authentication()
    else:
        _count_token_request(token.id)


def _retry_after(window_start: datetime, now: datetime) -> int:
    return max(1, math.ceil((window_start + WINDOW - now).total_seconds()))


def _count_failed_authentication() -> None:
    limit = current_app.config["WILLOW_AUTH_FAILURE_LIMIT"]
    if limit <= 0:
        return
    now = models.utcnow()
    key = f"auth-failure:{request.remote_addr or 'unknown'}"
    # The request is refused either way: end its transaction first, so that the counter's
    # own short transaction never waits for a lock the request holds (SQLite).
    db.session.close()
    with db.engine.begin() as conn:
        count, window_start = conn.execute(_increment(conn.dialect.name, key, now)).one()
        conn.execute(
            delete(RateLimitCounter).where(RateLimitCounter.window_start < now - KEEP_COUNTERS)
        )
    if count > limit:
        address = request.remote_addr or "an unknown address"
        audit.current().counted = CountedRefusal(
            key,
            window_start,
            count - limit,
            f"Past the limit of {limit} failed authentications a minute "
            f"(WILLOW_AUTH_FAILURE_LIMIT): the requests refused from {address} in the minute "
            f"from {window_start:%H:%M:%S} UTC are counted in this entry, not stored one by one.",
        )
        raise TooManyRequests(
            "Too many failed authentications from this address; retry later.",
            retry_after=_retry_after(window_start, now),
        )


def _increment(dialect: str, key: str, now: datetime):
    """One atomic upsert: a new window starts at 1, a running one counts up."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = RateLimitCounter.__table__
    stale = table.c.window_start <= now - WINDOW
    stmt = insert(table).values(key=key, window_start=now, count=1)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((stale, 1), else_=table.c.count + 1),
            "window_start": case((stale, now), else_=table.c.window_start),
        },
    ).returning(table.c.count, table.c.window_start)


class WindowCounter:
    """Fixed one-minute windows counted in this process's memory."""

    #: Past this many keys, windows that have ended are dropped.
    SWEEP_AT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[object, tuple[datetime, int]] = {}

    def hit(self, key: object, now: datetime) -> tuple[int, datetime]:
        """Count one event; the count so far in the current window and its start."""
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= WINDOW:
                start, count = now, 0
            count += 1
            self._windows[key] = (start, count)
            if len(self._windows) > self.SWEEP_AT:
                self._windows = {k: v for k, v in self._windows.items() if now - v[0] < WINDOW}
            return count, start


def _shared_increment() -> Prepared:
    """``_increment`` for PostgreSQL with its values as parameters, compiled once: it runs
    on every SCIM request of a rate-limited token."""
    table = RateLimitCounter.__table__
    now = bindparam("now", type_=DateTime())
    stale = table.c.window_start <= bindparam("stale_at", type_=DateTime())
    one = literal_column("1")  # not a parameter: the compiled statement takes only these
    stmt = postgresql_insert(table).values(key=bindparam("key"), window_start=now, count=one)
    return Prepared(
        stmt.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((stale, one), else_=table.c.count + one),
                "window_start": case((stale, now), else_=table.c.window_start),
            },
        ).returning(table.c.count, table.c.window_start)
    )


_SHARED_INCREMENT = _shared_increment()


def _count_in_database(key: str, now: datetime) -> tuple[int, datetime]:
    """Count one request of ``key`` in the shared counter row; the window's count so far
    and its start. The request's connection is in autocommit until its transaction begins
    (``scim.transaction``): the upsert commits by itself and holds the row's lock only
    while it runs, so the token's concurrent requests do not wait for each other."""
    conn = transaction.reader()
    row = _SHARED_INCREMENT.first(conn, {"key": key, "now": now, "stale_at": now - WINDOW})
    return row["count"], row["window_start"]


def _count_token_request(token_id: int) -> None:
    limit = current_app.config["WILLOW_TOKEN_RATE_LIMIT"]
    if limit <= 0:
        return
    now = models.utcnow()
    key = f"token-rate:{token_id}"
    if transaction.reader().dialect.name == "postgresql":
        count, window_start = _count_in_database(key, now)
        by_whom = "every app server"
    else:
        count, window_start = current_app.extensions["willow_token_rate"].hit(token_id, now)
        by_whom = "this app server"
    if count > limit:
        audit.current().counted = CountedRefusal(
            key,
            window_start,
            count - limit,
            f"Past this token's limit of {limit} requests a minute (WILLOW_TOKEN_RATE_LIMIT): "
            f"its requests refused by {by_whom} in the minute from "
            f"{window_start:%H:%M:%S} UTC are counted in this entry, not stored one by one.",
        )
        raise TooManyRequests(
            f"This API token is limited to {limit} requests per minute; retry later.",
            retry_after=_retry_after(window_start, now),
        )


def init_app(app: Flask) -> None:
    app.extensions["willow_token_rate"] = WindowCounter()
