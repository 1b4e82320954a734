"""Benchmark: what provisioning events cost SCIM writes (issue 21), in-process.

    python -m bench.events_cost [--members 50000] [--repeats 3] [--ops 200]
                                [--database-url URL]

Run it in two checkouts (before and with events) one after the other, or through
``--compare DIR``, which runs the same measurement in the checkout DIR in a subprocess,
alternating rounds, so both are measured side by side in one run. Each round builds a
fresh database (a temporary SQLite file unless ``--database-url`` names an empty
PostgreSQL server URL, on which a database per round is created and dropped), then times
through the Flask test client (auth, parsing, SQL, request log, events):

- ``patch_50k``: one PATCH adding ``--members`` members to an empty group (median);
- ``post_user``, ``patch_deactivate``, ``group_add_member``: ``--ops`` requests each
  (median ms per request).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def _database(args, tmp: Path):
    import sqlalchemy as sa

    if not args.database_url:
        return f"sqlite:///{(tmp / 'bench.sqlite').as_posix()}", None
    name = f"willow_events_bench_{uuid.uuid4().hex[:8]}"
    url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return sa.engine.make_url(url).set(database=name).render_as_string(False), drop


def measure(args) -> dict:
    from flask_migrate import upgrade

    from bench.operations import user_id
    from bench.seed import insert_users
    from config import TestingConfig
    from willow import create_app
    from willow.console.tokens import create_token
    from willow.storage.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        url, drop = _database(args, Path(tmp))
        app = create_app(
            TestingConfig, {"SQLALCHEMY_DATABASE_URI": url, "MAX_CONTENT_LENGTH": 64 << 20}
        )
        try:
            with app.app_context():
                upgrade()
                insert_users(db.session.connection(), 1, 0, args.members + args.ops, emails=False)
                _, token = create_token(1, "bench", ["scim"])
                db.session.commit()
            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

            def send(method, path, body):
                rv = client.open(f"/scim/v2{path}", method=method, headers=headers,
                                 data=json.dumps(body))
                if rv.status_code not in (200, 201, 204):
                    raise SystemExit(f"{method} {path}: {rv.status_code} {rv.get_data()[:300]}")
                return rv

            def timed(method, path, body) -> float:
                start = time.perf_counter()
                send(method, path, body)
                return (time.perf_counter() - start) * 1000

            rv = {}
            group = send("POST", "/Groups", {"displayName": "bench-small"}).get_json()["id"]
            posts, deactivations, adds = [], [], []
            for i in range(args.ops):
                posts.append(timed("POST", "/Users", {"schemas": [USER_SCHEMA],
                                                      "userName": f"new{i}@example.com"}))
            for i in range(args.ops):
                deactivations.append(timed("PATCH", f"/Users/{user_id(args.members + i)}", {
                    "schemas": [PATCH_OP], "Operations": [{"op": "replace",
                                                           "value": {"active": False}}]}))
            for i in range(args.ops):
                adds.append(timed("PATCH", f"/Groups/{group}", {
                    "schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members",
                        "value": [{"value": user_id(i)}]}]}))
            rv["post_user"] = statistics.median(posts)
            rv["patch_deactivate"] = statistics.median(deactivations)
            rv["group_add_member"] = statistics.median(adds)
            big = send("POST", "/Groups", {"displayName": "bench-big"}).get_json()["id"]
            members = [{"value": user_id(i)} for i in range(args.members)]
            rv["patch_50k"] = timed("PATCH", f"/Groups/{big}", {
                "schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members",
                                                       "value": members}]})
            if args.api:
                rv["api_events_per_s"] = _api_rate(app, client)
            return rv
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            if drop:
                drop()


def _api_rate(app, client) -> float:
    """Events per second the events API serves, reading every event at limit=500."""
    from willow.console.tokens import create_token
    from willow.storage.extensions import db

    with app.app_context():
        _, token = create_token(1, "bench-reader", ["events"])
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    cursor, count = None, 0
    start = time.perf_counter()
    while True:
        query = {"limit": 500, **({"after": cursor} if cursor else {})}
        page = client.get("/api/v1/events", query_string=query, headers=headers).get_json()
        count += len(page["data"])
        cursor = page["next_cursor"]
        if not page["data"]:
            break
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--ops", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--compare", default=None, help="the other checkout (before events)")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(measure(args)))
        return
    command = [sys.executable, "-m", "bench.events_cost", "--once", "--members",
               str(args.members), "--ops", str(args.ops)]
    if args.database_url:
        command += ["--database-url", args.database_url]
    here = Path(__file__).resolve().parents[1]
    checkouts = {"here": here}
    if args.compare:
        checkouts = {"before": Path(args.compare).resolve(), "here": here}
    results: dict[str, list[dict]] = {name: [] for name in checkouts}
    for _ in range(args.repeats):
        for name, path in checkouts.items():
            extra = ["--api"] if name == "here" else []
            out = subprocess.run(
                command + extra, cwd=path, capture_output=True, text=True, check=True
            )
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    keys = ["post_user", "patch_deactivate", "group_add_member", "patch_50k"]
    print(f"{'operation':<20}" + "".join(f"{n + ' ms':>14}" for n in checkouts)
          + ("   ratio" if args.compare else ""))
    for key in keys:
        medians = {n: statistics.median(r[key] for r in results[n]) for n in checkouts}
        line = f"{key:<20}" + "".join(f"{medians[n]:>14.2f}" for n in checkouts)
        if args.compare:
            line += f"   {medians['here'] / medians['before']:.2f}x"
        print(line)
    rates = [r["api_events_per_s"] for r in results["here"]]
    print(f"events API, limit=500: {statistics.median(rates):,.0f} events/s (median)")


if __name__ == "__main__":
    main()
