"""Benchmark: a cursor walk's pages cost the same at any depth; an index walk's grow.

    python -m bench.cursor_walk [--users 100000] [--count 100] [--repeats 3]
                                [--postgres SERVER_URL] [--clock wall|cpu] [--out FILE.json]

Seeds ``--users`` users (bench/seed.py, straight into the tables) in a fresh database (a
temporary SQLite file, or a new database on ``--postgres``'s server, dropped afterwards),
then walks all of them through the full Flask stack (bearer check, parsing, SQL,
rendering, request log) at ``count`` per page: by cursor (RFC 9865, following
``nextCursor``) and by index (``startIndex``), ``--repeats`` times each, alternating. A
page's time is its fastest over the repeats (the machine is noisy; the fastest is the
cost, the rest is other load). The do-nothing Flask view is timed in the same run, and
every time is also given as a multiple of it.
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

from bench.noop_app import create_noop_app
from bench.seed import create_postgres_database
from bench.seed import insert_users
from config import TestingConfig
from willow import create_app
from willow.console.tokens import create_token
from willow.storage.extensions import db
from willow.storage.models import Organization

#: "wall" (perf_counter) or "cpu" (this process's CPU time: the whole stack on SQLite, the
#: client side only on PostgreSQL, whose server runs elsewhere).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = CLOCKS["wall"]


def _get(client, url: str, headers: dict) -> tuple[float, dict]:
    start = _clock()
    rv = client.get(url, headers=headers)
    elapsed = (_clock() - start) * 1000
    if rv.status_code != 200:
        raise SystemExit(f"GET {url} answered {rv.status_code}: {rv.get_data(as_text=True)}")
    return elapsed, rv.get_json()


def cursor_walk(client, headers: dict, count: int) -> list[float]:
    times, url = [], f"/scim/v2/Users?cursor=&count={count}"
    while True:
        elapsed, body = _get(client, url, headers)
        times.append(elapsed)
        if "nextCursor" not in body:
            return times
        url = f"/scim/v2/Users?cursor={body['nextCursor']}&count={count}"


def index_walk(client, headers: dict, count: int, users: int) -> list[float]:
    return [
        _get(client, f"/scim/v2/Users?startIndex={start}&count={count}", headers)[0]
        for start in range(1, users + 1, count)
    ]


def noop_ms(repeats: int = 2000) -> float:
    client = create_noop_app().test_client()
    samples = []
    for _ in range(repeats):
        start = _clock()
        client.get("/noop")
        samples.append((_clock() - start) * 1000)
    return statistics.median(samples)


def summary(pages: list[float], noop: float) -> dict:
    """First page, the deciles' medians, the slowest page, and ratios to the first."""
    tenth = max(1, len(pages) // 10)
    first = pages[0]
    return {
        "pages": len(pages),
        "first_ms": round(first, 2),
        "first_decile_median_ms": round(statistics.median(pages[:tenth]), 2),
        "last_decile_median_ms": round(statistics.median(pages[-tenth:]), 2),
        "median_ms": round(statistics.median(pages), 2),
        "max_ms": round(max(pages), 2),
        "slowest_page": pages.index(max(pages)) + 1,
        "max_over_first": round(max(pages) / first, 2),
        "last_decile_over_first_decile": round(
            statistics.median(pages[-tenth:]) / statistics.median(pages[:tenth]), 2
        ),
        "pages_over_1_5x_first": sum(1 for p in pages if p > 1.5 * first),
        "median_in_noops": round(statistics.median(pages) / noop, 1),
    }


def table(results: dict) -> str:
    rows = [
        "| walk | pages | first page ms | first 10% median | last 10% median | slowest page ms "
        "(page #) | slowest / first | pages > 1.5x first | median / do-nothing |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ("cursor", "index"):
        r = results[name]
        rows.append(
            f"| {name} | {r['pages']} | {r['first_ms']} | {r['first_decile_median_ms']} | "
            f"{r['last_decile_median_ms']} | {r['max_ms']} (#{r['slowest_page']}) | "
            f"{r['max_over_first']}x | {r['pages_over_1_5x_first']} | "
            f"{r['median_in_noops']}x |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", metavar="SERVER_URL", default=None)
    parser.add_argument("--out", metavar="FILE", default=None)
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="wall", help="what a page's time is"
    )
    args = parser.parse_args()
    global _clock
    _clock = CLOCKS[args.clock]

    drop = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            url, drop = create_postgres_database(args.postgres, "willow_cursor_bench")
        else:
            url = f"sqlite:///{(Path(tmp) / 'bench.sqlite').as_posix()}"
        try:
            results = run(url, args)
        finally:
            if drop is not None:
                drop()
    print(table(results))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


def run(url: str, args) -> dict:
    app = create_app(
        TestingConfig,
        {"SQLALCHEMY_DATABASE_URI": url, "WILLOW_SCIM_MAX_RESULTS": max(args.count, 1000)},
    )
    with app.app_context():
        upgrade()
        org_id = db.session.scalars(
            select(Organization.id).where(Organization.slug == "default")
        ).one()
        started = time.perf_counter()
        insert_users(db.session.connection(), org_id, 0, args.users)
        db.session.commit()
        _, token = create_token(org_id, "bench")
        db.session.commit()
        if url.startswith("postgresql"):
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
    print(
        f"database: {url.split('://')[0]}; seeded {args.users} users in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    _get(client, "/scim/v2/Users?count=1", headers)  # warm the caches and the pool
    noop = noop_ms()
    walks: dict[str, list[list[float]]] = {"cursor": [], "index": []}
    for i in range(args.repeats):
        walks["cursor"].append(cursor_walk(client, headers, args.count))
        walks["index"].append(index_walk(client, headers, args.count, args.users))
        print(f"repeat {i + 1}/{args.repeats} done", flush=True)
    results: dict = {
        "database": url.split("://")[0],
        "users": args.users,
        "count": args.count,
        "repeats": args.repeats,
        "clock": args.clock,
        "noop_ms": round(noop, 3),
    }
    for name, runs in walks.items():
        pages = [min(samples) for samples in zip(*runs, strict=True)]
        results[name] = summary(pages, noop)
        results[name]["per_page_ms"] = [round(p, 2) for p in pages]
    return results


if __name__ == "__main__":
    main()
