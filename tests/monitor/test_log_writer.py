"""The background log writer: batches, flush, back-pressure, failures, stop and restart."""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from willow.storage.extensions import db
from willow.storage.models import utcnow


def row(org_id: int | None, request_id: str, **fields) -> dict:
    values = {name: None for name in ("query_string", "resource_type", "resource_id")}
    values.update(
        {
            "created_at": utcnow(),
            "organization_id": org_id,
            "token_id": None,
            "token_name": "Okta",
            "request_id": request_id,
            "method": "GET",
            "path": "/scim/v2/Users",
            "resource_label": None,
            "resource_label_key": None,
            "operation": "query",
            "status_code": 200,
            "duration_ms": 1.0,
            "client_ip": "127.0.0.1",
            "user_agent": None,
            "request_headers": {"Accept": "application/scim+json"},
            "request_body": None,
            "response_body": "{}",
            "error_detail": None,
            "warnings": None,
            "changes": None,
            "notes": None,
            "fingerprint": None,
        }
    )
    values.update(fields)
    return values


@pytest.fixture
def writer(app):
    return app.extensions["willow_request_log"]


def test_submitted_rows_are_written_by_the_writer_thread_and_flush_waits_for_them(
    app, org, writer, logged
):
    names: set[str] = set()
    original = writer._insert

    def insert(params):
        names.add(threading.current_thread().name)
        original(params)

    writer._insert = insert
    for i in range(30):
        writer.submit(row(org.id, f"r{i}"))
    assert writer.flush(timeout=10)
    assert [r["request_id"] for r in logged()] == [f"r{i}" for i in range(30)]
    assert names == {"willow-request-log-writer"}
    assert logged()[0]["request_headers"] == {"Accept": "application/scim+json"}


def test_a_row_that_cannot_be_written_is_reported_and_the_rest_of_its_batch_is_kept(
    app, org, writer, logged, caplog
):
    gate = threading.Event()
    original = writer._insert

    def insert(params):
        gate.wait(10)  # hold the first batch back so that the next three queue up together
        original(params)

    writer._insert = insert
    writer.submit(row(org.id, "first"))
    writer.submit(row(org.id, "before"))
    writer.submit(row(999_999, "orphan"))  # no such organization: a foreign key violation
    writer.submit(row(org.id, "after"))
    with caplog.at_level(logging.ERROR):
        gate.set()
        assert writer.flush(timeout=10)
    assert [r["request_id"] for r in logged()] == ["first", "before", "after"]
    [report] = [r for r in caplog.records if "could not write the SCIM request log" in r.message]
    assert "request id orphan" in report.getMessage()


def test_a_full_queue_makes_the_request_wait_for_room_instead_of_dropping_rows(
    app, org, writer, logged
):
    writer.max_pending = 2
    gate = threading.Event()
    original = writer._insert

    def insert(params):
        gate.wait(10)
        original(params)

    writer._insert = insert
    writer.submit(row(org.id, "taken"))  # the thread takes it and waits at the gate
    assert writer.flush(timeout=0.2) is False
    writer.submit(row(org.id, "queued-1"))
    writer.submit(row(org.id, "queued-2"))
    third = threading.Thread(target=writer.submit, args=(row(org.id, "waits"),))
    third.start()
    third.join(timeout=0.3)
    assert third.is_alive()  # blocked: the queue holds max_pending rows
    gate.set()
    third.join(timeout=10)
    assert not third.is_alive()
    assert writer.flush(timeout=10)
    assert sorted(r["request_id"] for r in logged()) == ["queued-1", "queued-2", "taken", "waits"]


def test_stop_writes_what_is_queued_and_the_next_row_starts_the_thread_again(
    app, org, writer, logged
):
    writer.submit(row(org.id, "one"))
    writer.stop(timeout=10)
    assert not writer._thread.is_alive()
    assert [r["request_id"] for r in logged()] == ["one"]
    writer.submit(row(org.id, "two"))
    assert writer._thread.is_alive()
    assert [r["request_id"] for r in logged()] == ["one", "two"]


def test_after_the_final_stop_rows_are_written_by_the_thread_that_submits_them(
    app, org, writer, logged
):
    writer.stop(timeout=10, final=True)
    writer.submit(row(org.id, "late"))
    assert [r["request_id"] for r in logged()] == ["late"]


def test_disposing_of_the_application_engine_stops_the_writer(app, org, writer, logged):
    writer.submit(row(org.id, "one"))
    with app.app_context():
        db.engine.dispose()
    assert not writer._thread.is_alive()
    assert [r["request_id"] for r in logged()] == ["one"]


def test_rows_without_an_organization_get_the_only_one_of_a_single_organization_install(
    app, org, writer, logged
):
    writer.submit(row(None, "anonymous", status_code=401))
    [logged_row] = logged()
    assert logged_row["organization_id"] == org.id


@pytest.mark.parametrize("backend", ["postgresql"])  # a server-side disconnect needs a server
def test_a_connection_lost_while_idle_is_replaced_and_the_row_written(app, org, writer, logged):
    writer.submit(row(org.id, "before"))
    assert writer.flush(timeout=10)
    with app.app_context(), db.engine.connect() as conn:
        # Ends the writer's idle connection, as a server restart or idle timeout would.
        terminated = conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = 'willow-request-log'"
            )
        ).scalars()
        assert list(terminated) == [True]
    writer.submit(row(org.id, "after"))
    assert [r["request_id"] for r in logged()] == ["before", "after"]


def test_a_batch_keeps_every_value_as_a_row_written_on_its_own_keeps_it(
    app, org, writer, logged
):
    """On SQLite a batch is one INSERT of a JSON array of rows: text of any kind, the
    float duration, timestamps, NULLs and JSON columns read back as the row-by-row INSERT
    stores them."""
    when = utcnow()
    fields = {
        "created_at": when,
        "path": "/scim/v2/Users/123",
        "resource_id": "123",
        "resource_label": "Zoë 😀 \u2028 \"quoted\" \\ back",
        "query_string": "filter=userName eq \"a\tb\"\n",
        "duration_ms": 12.345678,
        "request_headers": {"User-Agent": "Okta ✓", "X-Empty": ""},
        "request_body": '{"userName":"zoë"}',
        "warnings": ["first", "second ✓"],
        "changes": [{"attribute": "name.givenName", "before": None, "after": "Zoë"}],
        "status_code": 201,
    }
    writer.submit(row(org.id, "alone", **fields))
    assert writer.flush(timeout=10)
    writer.stop()  # the next three are handed over before the thread starts: one batch
    batches: list[int] = []
    original = writer._insert

    def insert(params):
        batches.append(len(params))
        original(params)

    writer._insert = insert
    for name in ("batch-1", "batch-2", "batch-3"):
        writer._pending.append(row(org.id, name, **fields))
        writer._submitted += 1
    writer.submit(row(org.id, "batch-4", **fields))
    assert writer.flush(timeout=10)
    assert batches == [4]
    rows = {r["request_id"]: r for r in logged()}
    # The weight counts the request id's characters too.
    differ = ("id", "request_id", "stored_bytes")
    alone = {k: v for k, v in rows.pop("alone").items() if k not in differ}
    assert len(rows) == 4
    for batched in rows.values():
        assert {k: v for k, v in batched.items() if k not in differ} == alone
    assert alone["resource_label"] == fields["resource_label"]
    assert alone["duration_ms"] == fields["duration_ms"]
    assert alone["request_headers"] == fields["request_headers"]


class Outage:
    """The writer's database unavailable (a lost connection on every insert) until
    ``end()``: the writer's own retries then reach the real database."""

    def __init__(self, writer) -> None:
        self.down = True
        self.tries = 0
        original = writer._insert

        def insert(params):
            if self.down:
                self.tries += 1
                orig = psycopg.OperationalError("server closed the connection unexpectedly")
                raise sa_exc.OperationalError("INSERT", {}, orig)
            original(params)

        writer._insert = insert

    def end(self) -> None:
        self.down = False


def _written(logged, writer, timeout: float = 10.0) -> list[str]:
    """Request ids in the log once the writer has written every held row (flush says
    False at once while the database is unavailable)."""
    deadline = time.monotonic() + timeout
    while not writer.flush(timeout=1.0):
        assert time.monotonic() < deadline, "the held rows were never written"
        time.sleep(0.05)
    return [r["request_id"] for r in logged()]


def test_rows_are_held_while_the_database_is_unavailable_and_written_when_it_is_back(
    app, org, writer, logged, caplog
):
    outage = Outage(writer)
    with caplog.at_level(logging.WARNING):
        for i in range(5):
            writer.submit(row(org.id, f"r{i}"))
        deadline = time.monotonic() + 10
        while outage.tries < 2:  # it tried, and tried again
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert writer.flush(timeout=5) is False  # at once: the rows are held, not lost
        writer.submit(row(org.id, "r5"))
        outage.end()
        assert _written(logged, writer) == [f"r{i}" for i in range(6)]
    messages = [r.getMessage() for r in caplog.records]
    assert any("the database is unavailable (server closed the connection" in m for m in messages)
    assert any("the database is back after" in m and "(0 dropped" in m for m in messages)
    assert not any("could not write" in m for m in messages)
    assert writer.dropped == 0


def test_past_the_bound_rows_are_dropped_while_down_and_requests_never_wait(
    app, org, writer, logged, caplog
):
    writer.max_pending = 3
    outage = Outage(writer)
    with caplog.at_level(logging.WARNING):
        writer.submit(row(org.id, "first"))
        deadline = time.monotonic() + 10
        while True:
            with writer._cond:  # the writer thread cannot take rows meanwhile
                if writer._down_since is not None and writer._pending:
                    started = time.monotonic()
                    for i in range(10):
                        writer.submit(row(org.id, f"r{i}"))  # at once: held or dropped
                    # Not a wait for room: that would last as long as the outage.
                    assert time.monotonic() - started < 1.0
                    break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        outage.end()
        assert _written(logged, writer) == ["first", "r0", "r1"]
    assert writer.dropped == 8
    warnings = [r.getMessage() for r in caplog.records if "queue is full" in r.getMessage()]
    assert len(warnings) == 1 and "request id r2" in warnings[0]
    assert any("(8 dropped: the queue was full)" in r.getMessage() for r in caplog.records)


def test_a_final_stop_while_the_database_is_unavailable_says_how_many_rows_are_lost(
    app, org, writer, caplog
):
    Outage(writer)
    writer.submit(row(org.id, "one"))
    writer.submit(row(org.id, "two"))
    with caplog.at_level(logging.WARNING):
        writer.stop(timeout=10, final=True)
    assert not writer._thread.is_alive()  # a stop does not wait for the database
    assert any(
        "2 SCIM request log rows were not written: the database is unavailable"
        in r.getMessage()
        for r in caplog.records
    )
def test_a_counted_entry_keeps_the_highest_count_whatever_order_it_arrives_in(
    writer, logged, org
):
    """Two app servers count one address's refusals (the counter is in the database) and
    their writers may commit out of order: the entry's count never goes down."""
    # Dated at the window's start, as capture dates them: the key and time find the entry.
    counted = {"status_code": 429, "count_key": "k" * 64, "created_at": utcnow()}
    writer.submit(row(org.id, "first", repeat_count=1, **counted))
    writer.submit(row(org.id, "third", repeat_count=3, **counted))
    assert writer.flush(timeout=10)
    writer.submit(row(org.id, "second", repeat_count=2, **counted))
    writer.submit(row(org.id, "other", repeat_count=1, status_code=429, count_key="o" * 64))
    assert writer.flush(timeout=10)
    rows = logged()
    assert [(r["request_id"], r["repeat_count"]) for r in rows] == [("first", 3), ("other", 1)]
