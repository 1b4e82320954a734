"""``kill -9`` of a ``python app.py`` while it delivers: after a restart every event is
delivered, none out of order (duplicates allowed, and counted)."""

from __future__ import annotations

import json
import threading
import time

from tests.hardening.live import LiveServer

from .conftest import add_endpoint
from .conftest import add_events

EVENTS = 400


def check_order(sequences: list[int]) -> int:
    """Each new sequence comes right after the highest one seen (nothing skipped or
    reordered); a repeat is a duplicate. Returns the number of duplicates."""
    highest = 0
    duplicates = 0
    for sequence in sequences:
        if sequence <= highest:
            duplicates += 1
        else:
            assert sequence == highest + 1, f"{sequence} delivered after {highest}"
            highest = sequence
    return duplicates


def test_after_kill_9_every_event_is_delivered_in_order(app, org, database_url, receiver, tmp_path):
    app.config["SECRET_KEY"] = "live-test-secret-key"  # the live server's, which decrypts
    add_endpoint(app, org.id, receiver.url)
    receiver.delay = 0.002
    env = {
        "WILLOW_WEBHOOK_THREADS": "2",
        "WILLOW_WEBHOOK_POLL_SECONDS": "1",
        "WILLOW_WEBHOOK_LEASE_SECONDS": "3",
        "WILLOW_ACCESS_LOG": "0",
    }
    server = LiveServer(database_url, tmp_path / "server.log", threads=2, env=env).start()
    written: list[str] = []

    def write() -> None:
        while len(written) < EVENTS:
            written.extend(add_events(app, org.id, ["user.created"] * 4))
            time.sleep(0.005)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while len(receiver.received) < EVENTS // 4:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.01)
        server.kill()  # in the middle of deliveries, with events still being written
        killed_at = len(receiver.received)
        writer.join(60)
        server = LiveServer(database_url, tmp_path / "server.log", threads=2, env=env).start()
        restarted = time.monotonic()
        while len({h["webhook-id"] for h, _ in receiver.received}) < EVENTS:
            assert time.monotonic() - restarted < 60, "deliveries did not resume within a minute"
            time.sleep(0.05)
    finally:
        server.kill()
        writer.join(60)
    sequences = [json.loads(body)["sequence"] for _, body in receiver.received]
    duplicates = check_order(sequences)
    assert set(receiver.ids()) == set(written)
    assert killed_at < EVENTS
    print(f"kill -9 after {killed_at} deliveries; {EVENTS} events, {duplicates} duplicates")


def test_when_one_of_two_servers_is_killed_the_other_takes_its_endpoints_over(
    app, org, database_url, receiver, tmp_path
):
    app.config["SECRET_KEY"] = "live-test-secret-key"
    for index in range(2):
        add_endpoint(app, org.id, f"{receiver.url}?endpoint={index}")
    receiver.delay = 0.002
    env = {
        "WILLOW_WEBHOOK_THREADS": "2",
        "WILLOW_WEBHOOK_POLL_SECONDS": "1",
        "WILLOW_WEBHOOK_LEASE_SECONDS": "3",
        "WILLOW_ACCESS_LOG": "0",
    }
    servers = [
        LiveServer(database_url, tmp_path / f"server{i}.log", threads=2, env=env).launch()
        for i in range(2)
    ]
    for server in servers:
        server.wait_ready()
    written: list[str] = []

    def write() -> None:
        while len(written) < EVENTS:
            written.extend(add_events(app, org.id, ["user.created"] * 4))
            time.sleep(0.005)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while len(receiver.received) < EVENTS // 2:
            assert time.monotonic() < deadline, servers[0].log()
            time.sleep(0.01)
        servers[0].kill()
        killed = time.monotonic()
        writer.join(60)
        while len(receiver.received) < 2 * EVENTS or _missing(receiver, written):
            assert time.monotonic() - killed < 60, "the other server did not take over"
            time.sleep(0.05)
    finally:
        for server in servers:
            server.kill()
        writer.join(60)
    by_endpoint: dict[str, list[int]] = {}
    for headers, body in receiver.received:
        by_endpoint.setdefault(headers["x-path"], []).append(json.loads(body)["sequence"])
    duplicates = sum(check_order(sequences) for sequences in by_endpoint.values())
    assert len(by_endpoint) == 2
    print(f"two servers, one killed: {2 * EVENTS} deliveries due, {duplicates} duplicates")


def _missing(receiver, written) -> bool:
    got: dict[str, set[str]] = {}
    for headers, _ in receiver.received:
        got.setdefault(headers["x-path"], set()).add(headers["webhook-id"])
    return len(got) < 2 or any(set(written) - ids for ids in got.values())
