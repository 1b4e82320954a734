"""What the events partitioning migration (5e51256f432a) costs per million events.

    python -m bench.events_migration --postgres postgresql://postgres@127.0.0.1:5432/postgres \
        [--events 500000] [--days 90] [--orgs 4]

Makes a fresh database at the revision before, fills ``events`` with ``--events`` events
spread evenly over ``--days`` days and ``--orgs`` organizations by ``INSERT … SELECT
generate_series`` (bodies of a user.updated event's size, about 500 bytes), runs
``flask --app app db upgrade`` as an administrator would (its Python start-up, about a
second, included), checks that every event is kept, and prints the times. The database is
dropped at the end.
"""

from __future__ import annotations

import argparse
import time

import sqlalchemy as sa

from .seed import create_postgres_database
from .seed import database_url
from .servers import flask_cli
from .servers import willow_env

BEFORE = "0ee60c342316"

_FILL = """
INSERT INTO events (event_id, organization_id, sequence, type, occurred_at, request_id,
                    actor, body)
SELECT 'evt_' || md5(i::text), o.id, (i / :orgs) + 1, 'user.updated',
       now() AT TIME ZONE 'UTC' - (:days * interval '1 day') * (:n - i) / :n,
       substr(md5(i::text), 1, 32), 'okta',
       '{"id":"evt_' || md5(i::text) || '","sequence":' || ((i / :orgs) + 1)
       || ',"type":"user.updated","data":{"user":{"id":"' || md5(i::text || 'u')
       || '","userName":"person' || i || '@example.com"},"changes":[{"path":"title",'
       || '"before":"' || repeat('x', 120) || '","after":"' || repeat('y', 120) || '"}]}}'
FROM generate_series(0, :n - 1) AS i
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM organizations) AS o
  ON o.k = i % :orgs
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--postgres", metavar="URL", required=True)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--orgs", type=int, default=4)
    args = parser.parse_args()
    url, drop = create_postgres_database(args.postgres, prefix="willow_bench_events")
    try:
        env = willow_env(url)
        flask_cli(["db", "upgrade", BEFORE], env)
        engine = sa.create_engine(database_url(url))
        with engine.begin() as conn:
            for k in range(1, args.orgs):
                conn.execute(
                    sa.text(
                        "INSERT INTO organizations (slug, name, created_at) "
                        "VALUES (:slug, :slug, now())"
                    ),
                    {"slug": f"org{k}"},
                )
            started = time.perf_counter()
            conn.execute(sa.text(_FILL), {"n": args.events, "days": args.days, "orgs": args.orgs})
            conn.execute(
                sa.text(
                    "UPDATE organizations o SET event_sequence = "
                    "(SELECT coalesce(max(sequence), 0) FROM events e "
                    "WHERE e.organization_id = o.id)"
                )
            )
        fill = time.perf_counter() - started
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE events")
            size = conn.scalar(sa.text("SELECT pg_total_relation_size('events')"))
            before = conn.scalar(sa.text("SELECT count(*) FROM events"))
        started = time.perf_counter()
        flask_cli(["db", "upgrade"], env)
        migration = time.perf_counter() - started
        with engine.connect() as conn:
            after = conn.scalar(sa.text("SELECT count(*) FROM events"))
            partitions = conn.scalar(
                sa.text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass")
            )
        engine.dispose()
        assert after == before == args.events, (before, after)
        per_million = migration * 1_000_000 / args.events
        print(
            f"{args.events:,} events over {args.days} days, {args.orgs} organizations, "
            f"{size / 1024 / 1024:.0f} MB with indexes (filled in {fill:.0f} s)"
        )
        print("| events | partitions | migration | per million events |")
        print("| ---: | ---: | ---: | ---: |")
        print(f"| {after:,} | {partitions} | {migration:.1f} s | {per_million:.0f} s |")
    finally:
        drop()


if __name__ == "__main__":
    main()
