"""Benchmark: what an operation costs inside /Bulk against the same request sent alone.

    python -m bench.bulk_cost [--ops 300] [--batch 100] [--repeats 3] [--database-url URL]

In-process, through the Flask test client (bearer check, parsing, SQL, events, request
log; no sockets), on a fresh database per round (a temporary SQLite file, or a database
created on the PostgreSQL server ``--database-url`` names and dropped after). For each
kind of operation it sends ``--ops`` single requests, then the same number of operations
in /Bulk requests of ``--batch``, and reports wall and process-CPU milliseconds per
operation (median of the rounds), beside ``GET /healthz`` (the do-nothing baseline of the
same run). The CPU includes the request log's writer thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from .events_cost import _database

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _round(args) -> dict[str, tuple[float, float]]:
    from flask_migrate import upgrade

    from bench.operations import user_id
    from bench.seed import insert_users
    from config import TestingConfig
    from willow import create_app
    from willow.console.tokens import create_token
    from willow.storage.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        url, drop = _database(args, Path(tmp))
        app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": url})
        try:
            with app.app_context():
                upgrade()
                insert_users(db.session.connection(), 1, 0, 2 * args.ops, emails=False)
                _, token = create_token(1, "bench", ["scim"])
                db.session.commit()
            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
            writer = app.extensions["willow_request_log"]

            def send(method: str, path: str, body=None):
                data = None if body is None else json.dumps(body)
                rv = client.open(path, method=method, headers=headers, data=data)
                if rv.status_code >= 400:
                    raise SystemExit(f"{method} {path}: {rv.status_code} {rv.get_data()[:300]}")
                return rv

            def timed(requests, operations: int) -> tuple[float, float]:
                wall, cpu = time.perf_counter(), time.process_time()
                for method, path, body in requests:
                    send(method, path, body)
                writer.flush()
                return (
                    (time.perf_counter() - wall) * 1000 / operations,
                    (time.process_time() - cpu) * 1000 / operations,
                )

            def in_bulk(operations: list[dict]):
                for i in range(0, len(operations), args.batch):
                    chunk = operations[i : i + args.batch]
                    yield "POST", "/scim/v2/Bulk", {"schemas": [BULK], "Operations": chunk}

            group = send("POST", "/scim/v2/Groups", {"displayName": "bench"}).get_json()["id"]
            n = args.ops
            rv = {"healthz": timed([("GET", "/healthz", None)] * n, n)}

            def user(i: int) -> dict:
                return {"schemas": [USER], "userName": f"new{i}@example.com"}

            rv["post_user"] = timed([("POST", "/scim/v2/Users", user(i)) for i in range(n)], n)
            ops = [
                {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user(n + i)}
                for i in range(n)
            ]
            rv["post_user_in_bulk"] = timed(in_bulk(ops), n)

            def add(i: int) -> dict:
                return {
                    "schemas": [PATCH_OP],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": user_id(i)}]}
                    ],
                }

            path = f"/Groups/{group}"
            rv["group_add"] = timed([("PATCH", f"/scim/v2{path}", add(i)) for i in range(n)], n)
            ops = [{"method": "PATCH", "path": path, "data": add(n + i)} for i in range(n)]
            rv["group_add_in_bulk"] = timed(in_bulk(ops), n)
            return rv
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            if drop:
                drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    rounds = [_round(args) for _ in range(args.repeats)]
    base_wall = statistics.median(r["healthz"][0] for r in rounds)
    print(f"{'operation':<20}{'wall ms/op':>12}{'CPU ms/op':>12}{'x healthz':>11}")
    for key in rounds[0]:
        wall = statistics.median(r[key][0] for r in rounds)
        cpu = statistics.median(r[key][1] for r in rounds)
        print(f"{key:<20}{wall:>12.3f}{cpu:>12.3f}{base_wall / wall:>11.2f}")


if __name__ == "__main__":
    main()
