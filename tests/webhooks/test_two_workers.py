"""Two app instances (two engines, as two app servers have) delivering from one database
at once never send the same attempt twice, and each endpoint still gets its events in
order."""

from __future__ import annotations

import json
import threading
import time

from config import TestingConfig
from willow import create_app
from willow.storage.extensions import db
from willow.webhooks.worker import Worker

from .conftest import add_endpoint
from .conftest import add_events

ENDPOINTS = 3
EVENTS = 300


def test_two_app_servers_deliver_each_event_once_and_in_order(app, org, database_url, receiver):
    for index in range(ENDPOINTS):
        add_endpoint(app, org.id, f"{receiver.url}?endpoint={index}")
    other = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    workers = [
        Worker(app, threads=2, poll_interval=0.05),
        Worker(other, threads=2, poll_interval=0.05),
    ]
    for worker in workers:
        worker.start()
    written: list[str] = []

    def write() -> None:
        # Events keep arriving while both servers deliver: many rounds, not one.
        while len(written) < EVENTS:
            written.extend(add_events(app, org.id, ["user.created"] * 5))
            time.sleep(0.01)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        writer.join(120)
        deadline = time.monotonic() + 120
        while len(receiver.received) < EVENTS * ENDPOINTS:
            assert time.monotonic() < deadline, "deliveries did not finish"
            time.sleep(0.05)
        time.sleep(0.5)  # anything sent twice would arrive now
    finally:
        for worker in workers:
            worker.stop(timeout=5)
        with other.app_context():
            db.engine.dispose()
    assert len(receiver.received) == EVENTS * ENDPOINTS  # none sent twice
    by_endpoint: dict[str, list[int]] = {}
    for headers, body in receiver.received:
        by_endpoint.setdefault(headers["x-path"], []).append(json.loads(body)["sequence"])
    assert len(by_endpoint) == ENDPOINTS
    for sequences in by_endpoint.values():
        assert sequences == list(range(1, EVENTS + 1))
