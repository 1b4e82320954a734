"""The partitioned request log at scale on PostgreSQL (issue 24, item 1).

    python -m bench.log_partitions --postgres postgresql://postgres@127.0.0.1:5432/postgres \\
        [--rows 10000000] [--days 90] [--repeat 5] [--writes 300]

Two fresh databases on that server (dropped at the end), seeded alike with ``--rows`` log
rows over ``--days`` days by ``INSERT … SELECT generate_series`` (not HTTP), at the
revision before the partitioning:

* ``plain`` is at head with the log as one table (made so before the seeding): the
  DELETE of one day's rows is timed on it (in a transaction rolled back, so both
  databases keep the same rows);
* ``partitioned`` is upgraded to head: the migration's time (per million rows), then
  every row is checked to be there, the log page's scenarios (bench/log_bench.py) and the
  CSV export are timed, EXPLAIN of the first page's queries is printed, and retention's
  DROP of the same day's partition is timed.

Then SCIM writes (POST /Users, PATCH of a user) through the Flask test client,
interleaved between the two databases, for the write throughput with and without
partitions in the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.log_bench import PASSWORD  # noqa: E402
from bench.log_bench import make_app  # noqa: E402
from bench.log_bench import time_export  # noqa: E402
from bench.log_bench import time_pages  # noqa: E402
from bench.seed import create_postgres_database  # noqa: E402
from willow.console.organizations import create_organization  # noqa: E402
from willow.console.tokens import create_token  # noqa: E402
from willow.console.users import create_console_user  # noqa: E402
from willow.partitions import store as partitions  # noqa: E402
from willow.storage.extensions import db  # noqa: E402
from willow.storage.models import Organization  # noqa: E402
from willow.storage.models import utcnow  # noqa: E402

BEFORE_PARTITIONS = "57b305710859"
TABLE = "scim_request_logs"
CHUNK = 1_000_000

#: One log row per ``i`` of generate_series: the mix of bench/seed.py's log_rows (methods,
#: statuses, Users/Groups, items and collections, bodies), drawn from hashes of ``i``.
_SEED = """
INSERT INTO scim_request_logs (created_at, organization_id, token_id, token_name, request_id,
    method, path, query_string, resource_type, resource_id, resource_label, resource_label_key,
    operation, status_code, duration_ms, client_ip, user_agent, request_headers, request_body,
    response_body, error_detail, stored_bytes)
SELECT :now - make_interval(secs => :span * (1 - (i + 1)::float8 / (:total + 1))),
    CASE WHEN i % 20 = 0 THEN :other ELSE :org END, :token, 'Okta SCIM Integration',
    md5(i::text), m, '/scim/v2/' || coll || CASE WHEN item THEN '/' || rid ELSE '' END,
    CASE WHEN item THEN NULL ELSE 'filter=userName eq "x"&startIndex=1&count=100' END,
    kind, CASE WHEN item THEN rid END, label, lower(label),
    CASE m WHEN 'GET' THEN CASE WHEN item THEN 'read' ELSE 'query' END
           WHEN 'POST' THEN 'create' WHEN 'DELETE' THEN 'delete' ELSE 'update' END,
    st, ((i * 613) % 40000) / 1000.0 + 1, '203.0.113.7', 'Okta SCIM Client 1.0.0',
    '{"Accept": "application/scim+json", "User-Agent": "Okta"}'::json,
    CASE WHEN m IN ('POST', 'PUT', 'PATCH') THEN
      '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "' || label
      || '", "name": {"givenName": "Bench", "familyName": "User ' || i || '"}, "emails": '
      || '[{"value": "' || label || '", "primary": true, "type": "work"}], "active": true}' END,
    '{"id": "' || rid || '", "userName": "' || label || '", "active": true, "meta": {}}',
    CASE WHEN st >= 400 THEN 'uniqueness: error ' || st || ' for ' || left(rid, 8) END,
    1200
FROM (
  SELECT i, m, kind, coll, rid, st,
         CASE WHEN kind = 'Group' THEN 'team-' || left(rid, 8)
              ELSE 'user' || left(rid, 8) || '@example.com' END AS label,
         m <> 'POST' AND NOT (m = 'GET' AND (i * 17) % 2 = 0) AS item
  FROM (
    SELECT i,
      CASE WHEN i % 20 < 12 THEN 'GET' WHEN i % 20 < 14 THEN 'POST'
           WHEN i % 20 < 18 THEN 'PATCH' WHEN i % 20 < 19 THEN 'PUT' ELSE 'DELETE' END AS m,
      CASE WHEN (i * 31) % 10 < 3 THEN 'Group' ELSE 'User' END AS kind,
      CASE WHEN (i * 31) % 10 < 3 THEN 'Groups' ELSE 'Users' END AS coll,
      lpad(((i * 48271) % 50000)::text, 8, '0') || '-0000-4000-8000-000000000000' AS rid,
      CASE WHEN (i * 7919) % 100 < 80 THEN 200 WHEN (i * 7919) % 100 < 88 THEN 201
           WHEN (i * 7919) % 100 < 90 THEN 204 WHEN (i * 7919) % 100 < 92 THEN 400
           WHEN (i * 7919) % 100 < 94 THEN 401 WHEN (i * 7919) % 100 < 97 THEN 404
           WHEN (i * 7919) % 100 < 99 THEN 409 ELSE 500 END AS st
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i
  ) AS drawn
) AS r
"""


def seed(app, rows: int, days: int, now, *, partition_later: bool) -> dict:
    """Organization, admin, token, then ``rows`` log rows in chunks of a million (5 % in a
    second organization). ``partition_later``: at the revision before the partitioning, for
    the migration to convert; otherwise at head with the log made one table again (the
    partitioning migration's own downgrade step, on the empty table), so that today's code
    reads both databases."""
    with app.app_context():
        if partition_later:
            upgrade(revision=BEFORE_PARTITIONS)
        else:
            upgrade()
            with db.engine.begin() as conn:
                _partitioning_migration()._unpartition(conn)
        org = db.session.scalars(
            sa.select(Organization).where(Organization.slug == "default")
        ).one()
        other = create_organization("other", "Other")
        create_console_user(org, "bench@example.com", PASSWORD, "admin")
        token, plaintext = create_token(org.id, "Okta SCIM Integration")
        db.session.commit()
        ids = {"org": org.id, "other": other.id, "token": token.id, "plaintext": plaintext}
        params = {
            "now": now,
            "span": days * 86400.0,
            "total": rows,
            "org": org.id,
            "other": other.id,
            "token": token.id,
        }
        started = time.perf_counter()
        for first in range(0, rows, CHUNK):
            with db.engine.begin() as conn:
                conn.execute(
                    sa.text(_SEED), {**params, "first": first, "last": min(rows, first + CHUNK) - 1}
                )
            print(
                f"  seeded {min(rows, first + CHUNK):,} rows "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        _vacuum(db.engine)
        ids["seed_s"] = time.perf_counter() - started
    return ids


def _partitioning_migration():
    path = next((ROOT / "migrations" / "versions").glob("0f6b4b2f089f_*.py"))
    spec = importlib.util.spec_from_file_location("partitioning_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _vacuum(engine) -> None:
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f"VACUUM ANALYZE {TABLE}"
        )


def time_day_delete(app, day_start) -> dict:
    """DELETE of one day's rows on the unpartitioned table, rolled back afterwards."""
    with app.app_context(), db.engine.connect() as conn:
        started = time.perf_counter()
        with conn.begin() as tx:
            deleted = conn.execute(
                sa.text(f"DELETE FROM {TABLE} WHERE created_at >= :a AND created_at < :b"),
                {"a": day_start, "b": day_start + timedelta(days=1)},
            ).rowcount
            elapsed = time.perf_counter() - started
            tx.rollback()
    return {"rows": deleted, "seconds": elapsed}


def time_day_retention(app, day_start) -> dict:
    """The same day's rows deleted the way retention deletes them on an unpartitioned
    table (willow/pruning.delete_oldest: 1,000 per transaction, committed)."""
    from willow.storage.models import ScimRequestLog as Log
    from willow.storage.pruning import delete_oldest

    day = sa.and_(Log.created_at >= day_start, Log.created_at < day_start + timedelta(days=1))
    with app.app_context():
        started = time.perf_counter()
        deleted = delete_oldest(Log.id, day, Log.created_at, 1000)
        return {"rows": deleted, "seconds": time.perf_counter() - started}


def time_migration(app, rows: int) -> dict:
    with app.app_context():
        started = time.perf_counter()
        upgrade()
        elapsed = time.perf_counter() - started
        with db.engine.connect() as conn:
            kept = conn.scalar(sa.text(f"SELECT count(*) FROM {TABLE}"))
            parts = len(partitions.partition_names(conn, TABLE))
        # As the plain table was after its seeding (autovacuum would get there in time):
        # index-only scans need the visibility map that VACUUM sets.
        started = time.perf_counter()
        _vacuum(db.engine)
        vacuum = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "vacuum_s": vacuum,
        "s_per_million": elapsed / rows * 1e6,
        "rows_kept": kept,
        "rows_expected": rows,
        "partitions": parts,
    }


def time_pages_counting_exactly(app, org_id: int, repeat: int) -> list:
    """The pages as they were before the match count stopped at queries.COUNT_LIMIT:
    every match counted, in the same run for comparison."""
    from willow.monitor import queries

    kept = queries.COUNT_LIMIT
    queries.COUNT_LIMIT = 10**15
    try:
        return time_pages(app, org_id, repeat)
    finally:
        queries.COUNT_LIMIT = kept


def time_day_drop(app, day_start) -> dict:
    with app.app_context():
        started = time.perf_counter()
        dropped = partitions.drop_before(db.engine, TABLE, day_start + timedelta(days=1))
        elapsed = time.perf_counter() - started
    return {"rows": dropped, "seconds": elapsed}


def explain(app, org_id: int) -> list[tuple[str, str]]:
    """The plans of the first page, a ``q`` page part, a detail lookup and the export."""
    from willow.monitor import queries

    f = queries.LogFilter(org_id)
    stmts = {
        "first page": sa.select(*queries.LIST_COLUMNS)
        .where(*queries.conditions(f))
        .order_by(queries.Log.created_at.desc(), queries.Log.id.desc())
        .limit(51),
        "q=user1 (label part)": sa.select(*queries.LIST_COLUMNS)
        .where(*queries.conditions(f), queries.text_terms("user1", org_id)[0][0])
        .order_by(queries.Log.created_at.desc(), queries.Log.id.desc())
        .limit(51),
        "detail by id": sa.select(queries.Log).where(
            queries.Log.id == 12345, queries.Log.organization_id == org_id
        ),
        "export (7 days)": sa.select(*queries.EXPORT_COLUMNS)
        .where(*queries.conditions(queries.LogFilter(org_id, start=utcnow() - timedelta(days=7))))
        .order_by(queries.Log.created_at.desc(), queries.Log.id.desc()),
    }
    rv = []
    with app.app_context(), db.engine.connect() as conn:
        for name, stmt in stmts.items():
            sql = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            plan = conn.exec_driver_sql(f"EXPLAIN (COSTS OFF) {sql}").scalars().all()
            rv.append((name, "\n".join(plan)))
    return rv


def time_writes(apps: dict, plaintext: dict, requests: int) -> dict[str, list[float]]:
    """POST /Users then PATCH of that user, alternating between the databases per request
    pair, so that the machine's drift hits both sides alike; milliseconds per pair."""
    clients = {name: app.test_client() for name, app in apps.items()}
    times: dict[str, list[float]] = {name: [] for name in apps}
    for i in range(requests):
        for name, client in clients.items():
            headers = {
                "Authorization": f"Bearer {plaintext[name]}",
                "Content-Type": "application/scim+json",
            }
            started = time.perf_counter()
            rv = client.post(
                "/scim/v2/Users",
                headers=headers,
                json={
                    "userName": f"w{i}@example.com",
                    "name": {"givenName": "W", "familyName": "U"},
                    "active": True,
                },
            )
            assert rv.status_code == 201, rv.status_code
            rv = client.patch(
                f"/scim/v2/Users/{rv.get_json()['id']}",
                headers=headers,
                json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "active", "value": False}],
                },
            )
            assert rv.status_code in (200, 204), rv.status_code
            times[name].append((time.perf_counter() - started) * 1000)
    for app in apps.values():
        app.extensions["willow_request_log"].flush(timeout=30)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, metavar="URL")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--writes", type=int, default=300, help="POST+PATCH pairs per database")
    args = parser.parse_args(argv)
    now = utcnow()
    urls, drops = {}, []
    try:
        for name in ("plain", "partitioned"):
            urls[name], drop = create_postgres_database(args.postgres, "willow_partbench")
            drops.append(drop)
        apps = {name: make_app(url) for name, url in urls.items()}
        ids = {}
        for name, app in apps.items():
            print(f"seeding {name}: {args.rows:,} rows over {args.days} days", flush=True)
            ids[name] = seed(app, args.rows, args.days, now, partition_later=name != "plain")
        # The oldest whole day: the one retention drops next.
        day = (now - timedelta(days=args.days - 1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        delete = time_day_delete(apps["plain"], day)
        print(
            f"DELETE of one day on the plain table: {delete['rows']:,} rows in "
            f"{delete['seconds']:.2f} s",
            flush=True,
        )
        migration = time_migration(apps["partitioned"], args.rows)
        print(
            f"migration: {migration['seconds']:.1f} s for {args.rows:,} rows = "
            f"{migration['s_per_million']:.1f} s per million; rows kept "
            f"{migration['rows_kept']:,}/{migration['rows_expected']:,}; "
            f"{migration['partitions']} partitions; VACUUM ANALYZE after it "
            f"{migration['vacuum_s']:.1f} s",
            flush=True,
        )
        for name, plan in explain(apps["partitioned"], ids["partitioned"]["org"]):
            lines = plan.splitlines()
            print(f"--- EXPLAIN {name} ({len(lines)} lines)\n" + "\n".join(lines[:6]))
        pages = {name: time_pages(app, ids[name]["org"], args.repeat) for name, app in apps.items()}
        part_org = ids["partitioned"]["org"]
        exact = time_pages_counting_exactly(apps["partitioned"], part_org, args.repeat)
        print(
            "| log page | plain p50 ms | partitioned p50 ms | partitioned max ms "
            "| partitioned, exact count p50 ms |"
        )
        print("| --- | ---: | ---: | ---: | ---: |")
        for plain, part, whole in zip(pages["plain"], pages["partitioned"], exact, strict=True):
            print(
                f"| {part[0]} | {plain[1]:.0f} | {part[1]:.0f} | {part[2]:.0f} | {whole[1]:.0f} |"
            )
        for name, app in apps.items():
            export = time_export(app, ids[name]["org"])
            print(
                f"CSV export ({name}): {export['rows']:,} rows in {export['seconds']:.1f} s = "
                f"{export['rows_per_s']:,.0f} rows/s (RSS growth "
                f"{export['rss_growth_mb'] or 0:.0f} MB)",
                flush=True,
            )
        dropped = time_day_drop(apps["partitioned"], day)
        print(
            f"DROP of the same day's partition: {dropped['rows']:,} rows in "
            f"{dropped['seconds']:.3f} s",
            flush=True,
        )
        # Both databases are at head, the plain one with its log as one table: these
        # writes' log rows are the same INSERTs on both.
        writes = time_writes(apps, {n: ids[n]["plaintext"] for n in apps}, args.writes)
        print("| SCIM writes (POST+PATCH pair) | p50 ms | mean ms | pairs/s |")
        print("| --- | ---: | ---: | ---: |")
        for name, ms in writes.items():
            print(
                f"| {name} | {statistics.median(ms):.2f} | {statistics.mean(ms):.2f} | "
                f"{1000 / statistics.mean(ms):.0f} |"
            )
        # Last: it deletes rows of the plain database for good.
        retention = time_day_retention(apps["plain"], day)
        print(
            f"retention's batched DELETE of the same day on the plain table: "
            f"{retention['rows']:,} rows in {retention['seconds']:.2f} s",
            flush=True,
        )
        for app in apps.values():
            with app.app_context():
                db.engine.dispose()
            app.extensions["willow_request_log"].stop()
    finally:
        for drop in drops:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
