"""Webhook delivery throughput of one app process: ``python -m bench.webhook_delivery``.

Seeds N events in a fresh database (a SQLite file, or ``--postgres URL``: a new database
there, dropped afterwards), adds one endpoint subscribed to everything that points at a
receiver on 127.0.0.1 (``http.server`` in a process of its own, keep-alive, answering 200
at once; in the measuring process it would take the interpreter lock from the worker), starts one
process's delivery worker and times it until every event is delivered. The target of
issue 21 is at least 500 events/s per app process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import secrets
import tempfile
import time
import uuid
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from config import Config
from willow import create_app
from willow.storage.extensions import db
from willow.storage.models import Event
from willow.storage.models import Organization
from willow.storage.models import utcnow
from willow.webhooks import store
from willow.webhooks.worker import Worker


def _serve_receiver(port_out, count) -> None:
    class Handler(_Handler):
        def do_POST(self) -> None:  # noqa: N802
            super().do_POST()
            with count.get_lock():
                count.value += 1

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.put(server.server_address[1])
    server.serve_forever()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the second waits
    # for the client's delayed ACK (40 ms), which would be all that is measured.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def _seed(app, events: int) -> int:
    with app.app_context(), db.engine.begin() as conn:
        org_id = conn.scalar(sa.select(Organization.id).where(Organization.slug == "default"))
        conn.execute(
            sa.update(Organization).where(Organization.id == org_id).values(event_sequence=events)
        )
        rows = []
        for sequence in range(1, events + 1):
            event_id = "evt_" + secrets.token_hex(16)
            body = {"id": event_id, "sequence": sequence, "type": "user.created",
                    "occurred_at": "2026-12-07T10:42:00Z", "organization": "default",
                    "request_id": uuid.uuid4().hex, "actor": "Okta",
                    "data": {"id": str(uuid.uuid4()), "userName": f"user{sequence}@example.com",
                             "active": True, "meta": {"version": 'W/"1"'}}}
            rows.append({"event_id": event_id, "organization_id": org_id, "sequence": sequence,
                         "type": "user.created", "occurred_at": utcnow(), "actor": "Okta",
                         "request_id": body["request_id"], "body": json.dumps(body)})
        conn.execute(sa.insert(Event), rows)
    return org_id


def measure(url: str, events: int, threads: int) -> float:
    app = create_app(Config, {"SQLALCHEMY_DATABASE_URI": url, "WILLOW_WEBHOOK_THREADS": 0})
    with app.app_context():
        upgrade()
    org_id = _seed(app, events)
    ports, count = multiprocessing.Queue(), multiprocessing.Value("l", 0)
    receiver = multiprocessing.Process(target=_serve_receiver, args=(ports, count), daemon=True)
    receiver.start()
    port = ports.get(timeout=30)
    with app.app_context():
        endpoint, _ = store.create_endpoint(
            org_id, f"http://127.0.0.1:{port}/hook"
        )
        endpoint.last_sequence = 0  # deliver the seeded events
        db.session.commit()
        endpoint_id = endpoint.id
    worker = Worker(app, threads=threads, poll_interval=0.05)
    started = time.perf_counter()
    worker.start()
    done = sa.select(store.WebhookEndpoint.last_sequence).where(
        store.WebhookEndpoint.id == endpoint_id
    )
    with app.app_context():
        while db.session.scalar(done) < events:
            db.session.rollback()
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        worker.stop(timeout=5)
        db.engine.dispose()
    receiver.terminate()
    assert count.value >= events
    return events / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=2, help="WILLOW_WEBHOOK_THREADS")
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    if args.postgres:
        admin = sa.create_engine(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1),
                                 isolation_level="AUTOCOMMIT")
        name = f"willow_bench_webhooks_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        try:
            rate = measure(url, args.events, args.threads)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        where = "PostgreSQL"
    else:
        with tempfile.TemporaryDirectory() as folder:
            rate = measure(f"sqlite:///{(Path(folder) / 'bench.sqlite').as_posix()}",
                           args.events, args.threads)
        where = "SQLite"
    print(f"{where}: {args.events} events delivered to one local endpoint "
          f"at {rate:,.0f} events/s (one app process, {args.threads} delivery threads)")


if __name__ == "__main__":
    main()
