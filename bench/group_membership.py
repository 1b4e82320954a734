"""Benchmark: the cost of adding/removing one group member must not grow with the group.

    python -m bench.group_membership [--members 100000] [--repeats 50] [--database-url URL]

Builds a 10-member and a ``--members``-member group in a fresh database (a temporary SQLite
file unless ``--database-url`` names an empty PostgreSQL database), then times SCIM PATCH
requests that add one member and remove it again, through the full Flask stack (auth,
PATCH parsing, SQL, request log), alternating between the two groups. Prints medians and
95th percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import select

from bench.operations import group_id
from bench.operations import user_id
from bench.seed import insert_group
from bench.seed import insert_users
from config import TestingConfig
from willow import create_app
from willow.console.tokens import create_token
from willow.storage.extensions import db
from willow.storage.models import Organization

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SPARE = 200


def seed(org_id: int, members: int) -> tuple[str, str, list[str]]:
    """Two groups (10 and ``members`` members) and a pool of spare users to add."""
    conn = db.session.connection()
    insert_users(conn, org_id, 0, members + SPARE, emails=False)
    insert_group(conn, org_id, 10, range(10))
    insert_group(conn, org_id, members, range(members))
    db.session.commit()
    return group_id(10), group_id(members), [user_id(members + i) for i in range(SPARE)]


def timed(client, method: str, url: str, headers: dict, body: dict | None = None) -> float:
    start = time.perf_counter()
    rv = client.open(
        url, method=method, headers=headers, data=json.dumps(body) if body is not None else None
    )
    elapsed = (time.perf_counter() - start) * 1000
    if rv.status_code not in (200, 204):
        raise SystemExit(f"{method} {url} answered {rv.status_code}: {rv.get_data(as_text=True)}")
    return elapsed


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{(Path(tmp) / 'bench.sqlite').as_posix()}"
        app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            org_id = db.session.scalars(
                select(Organization.id).where(Organization.slug == "default")
            ).one()
            started = time.perf_counter()
            small, large, spare = seed(org_id, args.members)
            print(
                f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}; "
                f"seeded {args.members} members in {time.perf_counter() - started:.1f} s"
            )
            _, token = create_token(org_id, "bench")
            db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        results: dict[str, list[float]] = {
            k: []
            for k in (
                "add small",
                "add large",
                "remove small",
                "remove large",
                "get large excl. members",
            )
        }
        for i in range(args.repeats):
            uid = spare[i % len(spare)]
            for name, gid in (("small", small), ("large", large)):
                url = f"/scim/v2/Groups/{gid}"
                add = {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}],
                }
                remove = {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "remove", "path": f'members[value eq "{uid}"]'}],
                }
                results[f"add {name}"].append(timed(client, "PATCH", url, headers, add))
                results[f"remove {name}"].append(timed(client, "PATCH", url, headers, remove))
            results["get large excl. members"].append(
                timed(client, "GET", f"/scim/v2/Groups/{large}?excludedAttributes=members", headers)
            )
        full = timed(client, "GET", f"/scim/v2/Groups/{large}", headers)
        for name, samples in results.items():
            print(f"{name:<26} {summary(samples)}")
        print(f"{'full GET of large group':<26} {full:7.2f} ms (one request, all members)")


if __name__ == "__main__":
    main()
