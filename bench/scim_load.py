"""Load run: concurrent IdP-like SCIM traffic against a live waitress server.

    python -m bench.scim_load [--seconds 20] [--workers 16] [--database-url URL]

Starts Willow under waitress on 127.0.0.1 (a free port) on a fresh temporary SQLite file,
or on ``--database-url`` (an empty PostgreSQL database), then runs ``--workers`` client
threads, each repeating an Okta-like provisioning cycle: create a user, read it, look it up
by userName, deactivate it (no-path PATCH), add it to one shared group, list users. Prints
throughput, latency, and every non-2xx status: under load there must be none.
``--without-request-log`` runs the same load with the request log's hook removed, to
measure what logging costs under load.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import waitress
from flask_migrate import upgrade
from sqlalchemy import select

from config import Config
from willow import create_app
from willow.console.tokens import create_token
from willow.storage.extensions import db
from willow.storage.models import Organization

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Client:
    def __init__(self, port: int, token: str, stats: collections.Counter, latencies: list):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        self.stats = stats
        self.latencies = latencies

    def send(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        started = time.perf_counter()
        self.conn.request(
            method,
            "/scim/v2" + path,
            body=json.dumps(body) if body is not None else None,
            headers=self.headers,
        )
        response = self.conn.getresponse()
        data = response.read()
        resource = path.split("/")[1].split("?")[0]
        self.stats[(method, resource, response.status)] += 1
        self.latencies.append(time.perf_counter() - started)
        return response.status, data


def cycle(client: Client, group_id: str) -> None:
    name = f"load-{uuid.uuid4().hex[:12]}@example.com"
    status, data = client.send(
        "POST",
        "/Users",
        {
            "userName": name,
            "name": {"givenName": "Load", "familyName": "Test"},
            "emails": [{"value": name, "type": "work", "primary": True}],
        },
    )
    if status != 201:
        return
    user_id = json.loads(data)["id"]
    client.send("GET", f"/Users/{user_id}")
    client.send("GET", f"/Users?filter=userName%20eq%20%22{name}%22&startIndex=1&count=100")
    client.send(
        "PATCH",
        f"/Users/{user_id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    client.send(
        "PATCH",
        f"/Groups/{group_id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
        },
    )
    client.send("GET", "/Users?startIndex=1&count=2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--without-request-log",
        action="store_true",
        help="remove the request-log hook: the same run without logging, to compare",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{(Path(tmp) / 'load.sqlite').as_posix()}"
        app = create_app(
            Config,
            {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load", "WILLOW_LOG_PRUNE_INTERVAL": 0},
        )
        with app.app_context():
            upgrade()
            org_id = db.session.scalars(
                select(Organization.id).where(Organization.slug == "default")
            ).one()
            _, token = create_token(org_id, f"load-{uuid.uuid4().hex[:6]}")
            db.session.commit()
        if args.without_request_log:
            hooks = app.after_request_funcs[None]
            hooks[:] = [h for h in hooks if h.__name__ != "log_scim_request"]
        server = waitress.create_server(app, host="127.0.0.1", port=0, threads=args.threads)
        port = server.effective_port
        threading.Thread(target=server.run, daemon=True).start()

        stats: collections.Counter = collections.Counter()
        latencies: list[float] = []
        setup = Client(port, token, stats, latencies)
        _, data = setup.send("POST", "/Groups", {"displayName": f"Load {uuid.uuid4().hex[:6]}"})
        group_id = json.loads(data)["id"]
        deadline = time.time() + args.seconds

        def worker() -> None:
            client = Client(port, token, stats, latencies)
            while time.time() < deadline:
                cycle(client, group_id)

        threads = [threading.Thread(target=worker) for _ in range(args.workers)]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - started
        server.close()

    total = sum(stats.values())
    ordered = sorted(latencies)
    print(
        f"database: {url.split('://')[0]}; {args.workers} clients, {args.threads} "
        f"waitress threads, {elapsed:.1f} s; request log "
        f"{'off' if args.without_request_log else 'on'}"
    )
    print(
        f"{total} requests = {total / elapsed:.0f} req/s; latency median "
        f"{statistics.median(ordered) * 1000:.1f} ms, p95 "
        f"{ordered[int(len(ordered) * 0.95)] * 1000:.1f} ms"
    )
    failures = {k: v for k, v in stats.items() if k[2] >= 300}
    print("non-2xx responses:", failures or "none")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
