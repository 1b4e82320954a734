"""How much the SCIM request log stores per 10,000 requests (SQLite, in process).

The mix: Okta-like traffic (create a user, look it up by userName, read it, PATCH it,
list a page) plus 20 % anonymous ``POST /Users`` with a wrong token and a 200 KB body,
spread over 10 client addresses. Prints the log table's size (its pages and its indexes',
from SQLite's ``dbstat``), the bytes of its bodies, what the size budget counts, the rows,
and the time taken. How many anonymous requests get 401 rather than 429 depends on how
many minutes the run spans (WILLOW_AUTH_FAILURE_LIMIT is per address and minute).

    python bench/log_size.py [--requests 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

from config import TestingConfig  # noqa: E402
from willow import create_app  # noqa: E402
from willow.console.tokens import create_token  # noqa: E402
from willow.storage.extensions import db  # noqa: E402
from willow.storage.models import Organization  # noqa: E402

SCIM = "application/scim+json"
ANONYMOUS_BODY = json.dumps(
    {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "x",
        "pad": "a" * 200_000,
    }
)


def run(requests: int, folder: Path) -> dict:
    path = folder / "log_size.sqlite"
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path.as_posix()}"})
    with app.app_context():
        upgrade()
        org_id = db.session.query(Organization.id).filter_by(slug="default").scalar()
        _, token = create_token(org_id, "Okta SCIM Integration")
        db.session.commit()
    client = app.test_client()
    good = {"Authorization": f"Bearer {token}", "Content-Type": SCIM, "Accept": SCIM}
    bad = {"Authorization": "Bearer wsk_wrong-token", "Content-Type": SCIM}
    started = time.perf_counter()
    user_id = None
    n = 0
    for i in range(requests):
        if i % 5 == 4:
            client.post(
                "/scim/v2/Users",
                data=ANONYMOUS_BODY,
                headers=bad,
                environ_base={"REMOTE_ADDR": f"203.0.113.{i // 5 % 10}"},
            )
            continue
        step = n % 5
        if step == 0:
            rv = client.post(
                "/scim/v2/Users",
                headers=good,
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": f"user{n}@example.com",
                    "name": {"givenName": "Test", "familyName": f"User {n}"},
                    "emails": [{"value": f"user{n}@example.com", "primary": True, "type": "work"}],
                    "displayName": f"Test User {n}",
                    "active": True,
                },
            )
            user_id = rv.get_json()["id"]
        elif step == 1:
            client.get(f'/scim/v2/Users?filter=userName eq "user{n - 1}@example.com"', headers=good)
        elif step == 2:
            client.get(f"/scim/v2/Users/{user_id}", headers=good)
        elif step == 3:
            client.patch(
                f"/scim/v2/Users/{user_id}",
                headers=good,
                json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "value": {"active": False}}],
                },
            )
        else:
            client.get("/scim/v2/Users?startIndex=1&count=20", headers=good)
        n += 1
    assert app.extensions["willow_request_log"].flush(60)
    seconds = time.perf_counter() - started
    with app.app_context():
        db.engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    table, indexes = conn.execute(
        "SELECT sum(CASE WHEN name = 'scim_request_logs' THEN pgsize END),"
        " sum(CASE WHEN name LIKE 'ix_scim_logs%' THEN pgsize END) FROM dbstat"
    ).fetchone()
    rows, bodies = conn.execute(
        "SELECT count(*), coalesce(sum(coalesce(length(CAST(request_body AS BLOB)), 0)"
        " + coalesce(length(CAST(response_body AS BLOB)), 0)), 0) FROM scim_request_logs"
    ).fetchone()
    columns = [row[1] for row in conn.execute("PRAGMA table_info(scim_request_logs)")]
    budget = None
    if "stored_bytes" in columns:
        budget = conn.execute("SELECT sum(stored_bytes) FROM scim_request_logs").fetchone()[0]
    statuses = dict(
        conn.execute("SELECT status_code, count(*) FROM scim_request_logs GROUP BY 1").fetchall()
    )
    conn.close()
    return {
        "requests": requests,
        "seconds": round(seconds, 1),
        "log_rows": rows,
        "rows_by_status": statuses,
        "log_table_mb": round(table / 1e6, 2),
        "log_indexes_mb": round((indexes or 0) / 1e6, 2),
        "stored_body_mb": round(bodies / 1e6, 2),
        # What the size budget (WILLOW_LOG_MAX_MB) counts, where it exists.
        "budget_mb": round(budget / 1e6, 2) if budget is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="keep the database in this folder")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        print(json.dumps(run(args.requests, args.keep)))
        return
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(run(args.requests, Path(folder))))


if __name__ == "__main__":
    main()
