"""Fixtures for webhook tests: events written straight into the outbox (as willow/events
writes them in a SCIM transaction), a local receiver, and a worker driven by hand."""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import Event
from willow.storage.models import Organization
from willow.storage.models import utcnow
from willow.webhooks import store
from willow.webhooks.worker import Worker


def add_events(app, org_id: int, types, *, request_id: str | None = None) -> list[str]:
    """Write events of ``types`` in one transaction, numbered through the organization
    row like the emitter does; returns their event ids."""
    types = list(types)
    with app.app_context(), db.engine.begin() as conn:
        last = conn.execute(
            sa.update(Organization)
            .where(Organization.id == org_id)
            .values(event_sequence=Organization.event_sequence + len(types))
            .returning(Organization.event_sequence)
        ).scalar_one()
        org = conn.execute(sa.select(Organization.slug).where(Organization.id == org_id)).scalar()
        rows = []
        for offset, event_type in enumerate(types):
            sequence = last - len(types) + 1 + offset
            event_id = "evt_" + secrets.token_hex(16)
            body = json.dumps(
                {
                    "id": event_id,
                    "sequence": sequence,
                    "type": event_type,
                    "occurred_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "organization": org,
                    "request_id": request_id,
                    "actor": "tests",
                    "data": {},
                }
            )
            rows.append(
                {
                    "event_id": event_id,
                    "organization_id": org_id,
                    "sequence": sequence,
                    "type": event_type,
                    "occurred_at": utcnow(),
                    "request_id": request_id,
                    "actor": "tests",
                    "body": body,
                }
            )
        conn.execute(sa.insert(Event), rows)
    return [row["event_id"] for row in rows]


def add_endpoint(app, org_id: int, url: str, types: str = "") -> tuple[int, str]:
    with app.app_context():
        endpoint, secret = store.create_endpoint(org_id, url, event_types=types)
        db.session.commit()
        return endpoint.id, secret


def endpoint_row(app, endpoint_id: int):
    with app.app_context():
        endpoint = db.session.get(store.WebhookEndpoint, endpoint_id)
        db.session.expunge(endpoint)
        return endpoint


class Receiver:
    """A consumer on 127.0.0.1: answers each delivery with the next status of
    ``statuses`` (the last one repeats), optionally after ``delay`` seconds, and keeps
    what it received."""

    def __init__(self) -> None:
        self.statuses = [200]
        self.delay = 0.0
        self.body = b"ok"
        self.received: list[tuple[dict, bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms wait between headers and body

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                data = self.rfile.read(length)
                if len(data) < length:
                    return  # the sender died mid-request (test_crash): not a delivery
                headers = {k.lower(): v for k, v in self.headers.items()}
                headers["x-path"] = self.path
                with receiver.lock:
                    receiver.received.append((headers, data))
                    status = (
                        receiver.statuses.pop(0)
                        if len(receiver.statuses) > 1
                        else receiver.statuses[0]
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(receiver.body)))
                    if 300 <= status < 400:
                        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                    self.end_headers()
                    self.wfile.write(receiver.body)
                except OSError:
                    pass  # the worker gave up waiting

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A client killed mid-request (test_crash) resets its connection: not an error here.
        self.server.handle_error = lambda request, client_address: None
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ids(self) -> list[str]:
        with self.lock:
            return [headers["webhook-id"] for headers, _ in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(app, clock):
    """A worker without threads: the test calls ``deliver()`` for one round."""
    w = Worker(app, threads=1, clock=clock, timeout=1.0)

    def deliver() -> bool:
        with app.app_context():
            return w.run_once("test-worker")

    w.deliver = deliver
    yield w
    w.stop(timeout=2)
