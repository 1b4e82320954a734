"""The delivery worker: threads inside each app process (no service to install) that
send every endpoint its organization's events, in order, with retries.

Each thread looks for an endpoint with work (enabled, its cursor behind the
organization's last sequence, its next attempt due, its lease free) and claims it by a
conditional UPDATE of the lease columns, which succeeds for one claimer only on both
databases (PostgreSQL re-checks the condition after a concurrent claimer commits; SQLite
has one writer at a time): two threads, or two app servers on one database, never send
the same attempt. Every write of the holder renews its lease and is conditional on still
holding it; a crashed holder's lease runs out after ``LEASE_S`` and another worker takes
the endpoint over, so pending deliveries resume within a minute of a restart.

The cursor moves past an event only when it was delivered (2xx) or is not subscribed to.
A failed event stays next in line (the later ones wait) until the retry schedule
(``schedule.py``) gives up, which disables the endpoint. Only the endpoint's cursor and
its attempts are written, after the HTTP answer, in one short transaction per event: a
crash between the answer and the commit sends that event again (at-least-once), never
skips it.

The reading bound comes from ``organizations.event_sequence``, read before the events:
every event up to it has committed (a writer takes its numbers by updating that row and
holds it until commit), so an endpoint subscribed to some types can move its cursor past
the unsubscribed events in between without reading them.

Threads wake every ``WILLOW_WEBHOOK_POLL_SECONDS``, and one wakes at once when this
process commits events (``events_committed``, called after the commit by the writers of
events) while any endpoint is enabled. Only ``threading`` is used:
the same under waitress on Linux and Windows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta

from flask import Flask
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Engine

from ..storage.database import READ_ONLY
from ..storage.database import writer_queue
from ..storage.extensions import db
from ..storage.faults import is_unavailable
from ..storage.faults import reason
from ..storage.models import Event
from ..storage.models import Organization
from ..storage.models import utcnow
from . import signing
from .addresses import guarded_session
from .addresses import policy_from_config
from .schedule import RETRY_DELAYS_S
from .schedule import TIMEOUT_S
from .schedule import Outcome
from .schedule import next_attempt_at
from .schedule import outcome
from .store import WebhookAttempt
from .store import WebhookEndpoint
from .store import decrypt
from .store import prune_attempts
from .subscriptions import sql_condition
from .transport import Result
from .transport import post

log = logging.getLogger(__name__)

#: Seconds a claim holds an endpoint; each write of the holder renews it.
LEASE_S = 45
#: Seconds between prunes of old delivery attempts (by the first thread of a process).
PRUNE_EVERY_S = 3600
#: Events read per query.
BATCH = 200
#: Delivered events whose attempts and cursor are written in one transaction, at most,
#: and the longest they wait for it (seconds).
FLUSH_EVENTS = 50
FLUSH_S = 0.25

_endpoints = WebhookEndpoint.__table__
_attempts = WebhookAttempt.__table__
_events = Event.__table__
_orgs = Organization.__table__


class Worker:
    """The delivery threads of one app process."""

    def __init__(
        self,
        app: Flask,
        *,
        threads: int = 2,
        poll_interval: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        delays: tuple[int, ...] = RETRY_DELAYS_S,
        timeout: float = TIMEOUT_S,
        lease_s: int = LEASE_S,
    ) -> None:
        self.app = app
        self.threads = max(1, threads)
        self.poll_interval = poll_interval
        self.clock = clock
        self.delays = delays
        self.timeout = timeout
        self.lease = timedelta(seconds=lease_s)
        self.name = f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.policy = policy_from_config(app.config)
        self.stopped = threading.Event()
        self._wake = threading.Condition()
        self._woken = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._secrets: dict[str, str] = {}
        #: Whether any endpoint was enabled at the last look (every poll); until the
        #: first, assume so.
        self.has_endpoints = True
        with app.app_context():
            self.engine: Engine = db.engine
        self._writers = writer_queue(app) or contextlib.nullcontext()

    # -- life cycle ------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return bool(self._threads)

    def start(self) -> None:
        with self._lock:
            if self._threads or self.stopped.is_set():
                return
            for index in range(self.threads):
                thread = threading.Thread(
                    target=self.run,
                    args=(f"{self.name}/{index}",),
                    name=f"willow-webhooks-{index}",
                    daemon=True,
                )
                # Started, then listed: a stop signal between the two must not leave stop()
                # a thread to join that never started (RuntimeError at shutdown).
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float | None = None) -> None:
        self.stopped.set()
        self.wake()
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(timeout)

    def wake(self, *, every_thread: bool = True) -> None:
        with self._wake:
            self._woken += 1
            if every_thread:
                self._wake.notify_all()
            else:
                self._wake.notify()

    def events_committed(self) -> None:
        """Events were just committed in this process: one thread looks at once (the
        others find them at their next poll). Nothing to do while no endpoint is
        enabled, which is the common case: most SCIM writes then cost no thread wake."""
        if self.has_endpoints:
            self.wake(every_thread=False)

    def run(self, owner: str) -> None:
        session = guarded_session(self.policy)
        pruned_at = 0.0
        unavailable: BaseException | None = None
        with self.app.app_context():
            while not self.stopped.is_set():
                with self._wake:
                    seen = self._woken
                try:
                    if owner.endswith("/0") and time.monotonic() - pruned_at > PRUNE_EVERY_S:
                        pruned_at = time.monotonic()
                        self.prune()
                    busy = self.run_once(owner, session)
                    unavailable = None
                except Exception as exc:
                    # Nothing may end the thread: try again at the next poll. An unavailable
                    # database is said once, in one line, until it is back.
                    busy = False
                    if not is_unavailable(exc):
                        log.exception("webhook delivery failed")
                    elif unavailable is None:
                        log.warning("webhook deliveries wait for the database: %s", reason(exc))
                    unavailable = exc if is_unavailable(exc) else None
                if busy:
                    continue
                with self._wake:
                    if self._woken == seen and not self.stopped.is_set():
                        self._wake.wait(self.poll_interval)

    def prune(self) -> int:
        """Delete delivery attempts older than the events' retention (they are kept as
        long as the events they delivered). Needs an app context."""
        days = self.app.config.get("WILLOW_EVENT_RETENTION_DAYS", 90)
        if days <= 0:
            return 0
        return prune_attempts(self.clock() - timedelta(days=days))

    # -- one round -------------------------------------------------------------------

    def run_once(self, owner: str, session=None) -> bool:
        """Serve each endpoint that has work and can be claimed; True if any attempt
        was made. Needs an app context."""
        session = session or guarded_session(self.policy)
        busy = False
        for endpoint_id in self._due_endpoints(owner):
            if self.stopped.is_set():
                break
            if not self._claim(endpoint_id, owner):
                continue
            try:
                busy = self._serve(endpoint_id, owner, session) or busy
            finally:
                self._release(endpoint_id, owner)
        return busy

    def _due_endpoints(self, owner: str) -> list[int]:
        now = self.clock()
        query = (
            select(_endpoints.c.id)
            .join(_orgs, _orgs.c.id == _endpoints.c.organization_id)
            .where(
                _endpoints.c.enabled.is_(True),
                _endpoints.c.last_sequence < _orgs.c.event_sequence,
                or_(_endpoints.c.next_attempt_at.is_(None), _endpoints.c.next_attempt_at <= now),
                or_(
                    _endpoints.c.lease_owner.is_(None),
                    _endpoints.c.lease_until < now,
                    _endpoints.c.lease_owner == owner,
                ),
            )
            .order_by(_endpoints.c.next_attempt_at.is_not(None), _endpoints.c.id)
        )
        # A read: on SQLite it must neither take the write lock nor queue with the
        # request threads' writers (it runs at every poll and every wake).
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            self.has_endpoints = (
                conn.scalar(select(_endpoints.c.id).where(_endpoints.c.enabled.is_(True)).limit(1))
                is not None
            )
            due = list(conn.scalars(query)) if self.has_endpoints else []
            # COMMIT ends the reads as the close's ROLLBACK would, but psycopg forgets every
            # prepared statement of the connection on a ROLLBACK: this runs every second.
            conn.commit()
            return due

    def _claim(self, endpoint_id: int, owner: str) -> bool:
        now = self.clock()
        with self._writers, self.engine.begin() as conn:
            claimed = conn.execute(
                update(_endpoints)
                .where(
                    _endpoints.c.id == endpoint_id,
                    _endpoints.c.enabled.is_(True),
                    or_(
                        _endpoints.c.lease_owner.is_(None),
                        _endpoints.c.lease_until < now,
                        _endpoints.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + self.lease)
            )
            return claimed.rowcount == 1

    def _release(self, endpoint_id: int, owner: str) -> None:
        with self._writers, self.engine.begin() as conn:
            conn.execute(
                update(_endpoints)
                .where(_endpoints.c.id == endpoint_id, _endpoints.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def _serve(self, endpoint_id: int, owner: str, session) -> bool:
        """Deliver the endpoint's events in order until it is done, fails, or the lease
        is lost; True if an attempt was made."""
        attempted = False
        while not self.stopped.is_set():
            with self._writers, self.engine.begin() as conn:
                endpoint = conn.execute(
                    select(_endpoints).where(
                        _endpoints.c.id == endpoint_id, _endpoints.c.lease_owner == owner
                    )
                ).one_or_none()
                if endpoint is None or not endpoint.enabled:
                    return attempted
                if endpoint.next_attempt_at is not None and endpoint.next_attempt_at > self.clock():
                    return attempted
                bound = conn.scalar(
                    select(_orgs.c.event_sequence).where(_orgs.c.id == endpoint.organization_id)
                )
                query = (
                    select(_events.c.sequence, _events.c.event_id, _events.c.type, _events.c.body)
                    .where(
                        _events.c.organization_id == endpoint.organization_id,
                        _events.c.sequence > endpoint.last_sequence,
                        _events.c.sequence <= bound,
                    )
                    .order_by(_events.c.sequence)
                    .limit(BATCH)
                )
                types = [t for t in endpoint.event_types.split(",") if t]
                condition = sql_condition(types, _events.c.type)
                if condition is not None:
                    query = query.where(condition)
                batch = conn.execute(query).all()
                if not batch:
                    # Nothing subscribed up to the bound: the cursor moves past it all.
                    conn.execute(
                        update(_endpoints)
                        .where(_endpoints.c.id == endpoint_id, _endpoints.c.lease_owner == owner)
                        .values(last_sequence=bound)
                    )
                    return attempted
            secrets = self._signing_secrets(endpoint)
            failures = endpoint.failures
            done: list[dict] = []
            flushed_at = time.monotonic()
            for sequence, event_id, event_type, body in batch:
                if self.stopped.is_set():
                    break
                timestamp = int(time.time())
                result = post(
                    session,
                    endpoint.url,
                    body,
                    signing.headers(secrets, event_id, timestamp, body),
                    timeout=self.timeout,
                )
                attempted = True
                row = self._attempt_row(endpoint, sequence, event_id, event_type, failures, result)
                done.append(row)
                if not row["succeeded"]:
                    self._record(endpoint, owner, done, failures + 1)
                    return attempted
                failures = 0
                if len(done) >= FLUSH_EVENTS or time.monotonic() - flushed_at > FLUSH_S:
                    if not self._record(endpoint, owner, done, 0):
                        return attempted
                    done, flushed_at = [], time.monotonic()
            if done and not self._record(endpoint, owner, done, 0):
                return attempted
            if self.stopped.is_set():
                return attempted
            if len(batch) < BATCH:
                # Every subscribed event up to the bound is delivered.
                with self._writers, self.engine.begin() as conn:
                    conn.execute(
                        update(_endpoints)
                        .where(
                            _endpoints.c.id == endpoint_id,
                            _endpoints.c.lease_owner == owner,
                            _endpoints.c.last_sequence < bound,
                        )
                        .values(last_sequence=bound)
                    )
        return attempted

    def _attempt_row(
        self, endpoint, sequence, event_id, event_type, failures: int, result: Result
    ) -> dict:
        now = self.clock()
        verdict = outcome(result.status)
        retry_at = None
        if verdict is Outcome.RETRY:
            retry_at = next_attempt_at(failures + 1, now, self.delays)
        return {
            "organization_id": endpoint.organization_id,
            "endpoint_id": endpoint.id,
            "event_id": event_id,
            "event_type": event_type,
            "sequence": sequence,
            "attempt": failures + 1,
            "kind": "event",
            "attempted_at": now,
            "status_code": result.status,
            "succeeded": verdict is Outcome.SUCCESS,
            "duration_ms": result.duration_ms,
            "response_excerpt": result.excerpt,
            "error": (result.error or "")[:300] or None,
            "next_attempt_at": retry_at,
            "gone": verdict is Outcome.GONE,
        }

    def _record(self, endpoint, owner: str, rows: list[dict], failures: int) -> bool:
        """Store attempts (successes, and at most one failure, last) and move the
        endpoint on, in one transaction; True while the lease is still held.

        Successes are written in groups (``FLUSH_EVENTS`` or ``FLUSH_S``, whichever comes
        first): a crash before the write sends those events again, which at-least-once
        allows, and the write costs one transaction per group instead of per event."""
        now = self.clock()
        values: dict = {"lease_until": now + self.lease}
        delivered = [row for row in rows if row["succeeded"]]
        if delivered:
            values.update(last_sequence=delivered[-1]["sequence"])
        failed = rows[-1] if not rows[-1]["succeeded"] else None
        if failed is None:
            values.update(failures=0, next_attempt_at=None)
        else:
            values.update(failures=failures, next_attempt_at=failed["next_attempt_at"])
            if failed["next_attempt_at"] is None:
                reason = (
                    "the endpoint answered 410 Gone"
                    if failed["gone"]
                    else f"{failures} attempts in a row failed"
                )
                values.update(
                    enabled=False,
                    disabled_reason=f"Disabled by Willow: {reason} (event {failed['event_id']}).",
                    disabled_at=now,
                    needs_attention=True,
                )
                log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
        with self._writers, self.engine.begin() as conn:
            held = conn.execute(
                update(_endpoints)
                .where(_endpoints.c.id == endpoint.id, _endpoints.c.lease_owner == owner)
                .values(**values)
            ).rowcount
            # The attempts were made and are recorded even if the lease ran out meanwhile,
            # unless an admin deleted the endpoint.
            exists = held or conn.scalar(
                select(_endpoints.c.id).where(_endpoints.c.id == endpoint.id)
            )
            if exists:
                conn.execute(
                    insert(_attempts),
                    [{k: v for k, v in row.items() if k != "gone"} for row in rows],
                )
        return held == 1

    def _signing_secrets(self, endpoint) -> list[str]:
        rv = [self._decrypted(endpoint.secret_encrypted)]
        until = endpoint.previous_secret_until
        if endpoint.previous_secret_encrypted and until is not None and until > self.clock():
            rv.append(self._decrypted(endpoint.previous_secret_encrypted))
        return rv

    def _decrypted(self, ciphertext: str) -> str:
        # Key derivation and decryption for every event would cost more than the send.
        try:
            return self._secrets[ciphertext]
        except KeyError:
            plaintext = self._secrets[ciphertext] = decrypt(ciphertext)
            return plaintext
