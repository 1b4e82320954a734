"""Request-log benchmark: page renders, CSV export and capture overhead at scale.

    /work/venv/bin/python bench/log_bench.py [--rows 1000000] [--repeat 5]
    WILLOW_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        /work/venv/bin/python bench/log_bench.py

Seeds N log rows (executemany, 10,000 per batch) into a temporary SQLite database built by
the real migrations, and into a temporary PostgreSQL database when
WILLOW_BENCH_POSTGRES_URL is set (created and dropped here). Then, through the Flask test
client, i.e. server time without a network:

* filtered page renders of /monitor/scim-logs (median and worst of --repeat runs),
* the CSV export of every row of the organization: rows/s and resident memory growth
  (sampled from /proc/self/status between chunks; tracemalloc elsewhere),
* the cost capture adds to SCIM requests: the same requests with and without the
  capture hook, interleaved so that drift hits both sides alike.

Targets (issue 7): page < 300 ms, export >= 20,000 rows/s with < 100 MB growth, capture
< 20 % of a SCIM request.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.seed import create_postgres_database  # noqa: E402
from bench.seed import log_rows  # noqa: E402
from config import TestingConfig  # noqa: E402
from willow import create_app  # noqa: E402
from willow.console.organizations import create_organization  # noqa: E402
from willow.console.tokens import create_token  # noqa: E402
from willow.console.users import create_console_user  # noqa: E402
from willow.storage.extensions import db  # noqa: E402
from willow.storage.models import Organization  # noqa: E402
from willow.storage.models import ScimRequestLog  # noqa: E402

PASSWORD = "bench password 123"
BATCH = 10_000
DAYS = 90
TARGET_PAGE_MS = 300
TARGET_EXPORT_ROWS_S = 20_000
TARGET_EXPORT_MB = 100
TARGET_CAPTURE_PCT = 20



class BenchConfig(TestingConfig):
    TESTING = False  # exceptions go through the error handlers, as in production


def make_app(url: str):
    return create_app(BenchConfig, {"SQLALCHEMY_DATABASE_URI": url})


def fake_rows(org_id: int, token_id: int, n: int, start_index: int, total: int, rng: random.Random):
    """``n`` plausible log rows, oldest first, spread evenly over the last DAYS days."""
    return log_rows(org_id, token_id, n, start_index, total, rng, days=DAYS)


def seed(app, rows: int) -> dict:
    """Organization, admin, token and ``rows`` log rows (5 % in a second organization)."""
    rng = random.Random(7)
    with app.app_context():
        upgrade()
        org = db.session.scalars(
            sa.select(Organization).where(Organization.slug == "default")
        ).one()
        other = create_organization("other", "Other")
        create_console_user(org, "bench@example.com", PASSWORD, "admin")
        token, plaintext = create_token(org.id, "Okta SCIM Integration")
        db.session.commit()
        ids = {"org": org.id, "other": other.id, "token": token.id, "plaintext": plaintext}
        started = time.perf_counter()
        done = 0
        insert = sa.insert(ScimRequestLog)
        while done < rows:
            n = min(BATCH, rows - done)
            batch = list(fake_rows(org.id, token.id, n, done, rows, rng))
            for row in batch[::20]:
                row["organization_id"] = other.id
            with db.engine.begin() as conn:
                conn.execute(insert, batch)
            done += n
        with db.engine.connect() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE scim_request_logs"
                )
            else:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        ids["seed_rows_per_s"] = rows / (time.perf_counter() - started)
    return ids


def login(client) -> None:
    rv = client.post("/admin/login", data={"email": "bench@example.com", "password": PASSWORD})
    assert rv.status_code in (302, 303), rv.status_code


def time_pages(app, org_id: int, repeat: int) -> list[tuple[str, float, float, int]]:
    client = app.test_client()
    login(client)
    with app.app_context():
        row = db.session.execute(
            sa.select(ScimRequestLog.id, ScimRequestLog.created_at)
            .where(ScimRequestLog.organization_id == org_id)
            .order_by(ScimRequestLog.id)
            .offset(db.session.scalar(sa.select(sa.func.count(ScimRequestLog.id))) // 2)
            .limit(1)
        ).one()
        label, path = db.session.execute(
            sa.select(ScimRequestLog.resource_label, ScimRequestLog.path).where(
                ScimRequestLog.id == row.id
            )
        ).one()
    middle = f"{row.created_at.isoformat(timespec='microseconds')}_{row.id}"
    scenarios = [
        ("no filter (all 90 days)", "/monitor/scim-logs"),
        ("from=24h", "/monitor/scim-logs?from=24h"),
        ("from=7d&status=4xx", "/monitor/scim-logs?from=7d&status=4xx"),
        ("method=PATCH&resource_type=Group", "/monitor/scim-logs?method=PATCH&resource_type=Group"),
        ("status=5xx", "/monitor/scim-logs?status=5xx"),
        ("method=DELETE&status=4xx&from=7d", "/monitor/scim-logs?method=DELETE&status=4xx&from=7d"),
        (f"q={label} (one resource)", f"/monitor/scim-logs?q={label}"),
        ("q=nomatch&from=7d", "/monitor/scim-logs?q=nomatch&from=7d"),
        ("q=/Groups/0004 (path prefix, ~6 % of rows)", "/monitor/scim-logs?q=/Groups/0004"),
        (
            f"q={path.removeprefix('/scim/v2')[:20]} (path prefix)",
            f"/monitor/scim-logs?q={path.removeprefix('/scim/v2')[:20]}",
        ),
        ("q=User (label prefix, ~70 % of rows)", "/monitor/scim-logs?q=User"),
        ("q=User&status=2xx", "/monitor/scim-logs?q=User&status=2xx"),
        ("q=/Users&status=4xx&method=PUT", "/monitor/scim-logs?q=/Users&status=4xx&method=PUT"),
        ("q=nomatch (all 90 days)", "/monitor/scim-logs?q=nomatch"),
        ("q=User, older page in the middle", f"/monitor/scim-logs?q=User&before={middle}"),
        ("older page in the middle", f"/monitor/scim-logs?before={middle}"),
        ("detail page", f"/monitor/scim-logs/{row.id}"),
    ]
    results = []
    for name, url in scenarios:
        client.get(url)  # warm the template and statement caches
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            rv = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert rv.status_code == 200, (url, rv.status_code)
        results.append((name, statistics.median(times), max(times), rv.status_code))
    return results


def rss_bytes() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def time_export(app, org_id: int, traced_rows: int = 200_000) -> dict:
    """Export every row of the organization, timed, sampling resident memory between
    chunks; then export again under tracemalloc (slower, so untimed) up to
    ``traced_rows`` rows for the Python heap's peak growth."""
    client = app.test_client()
    login(client)
    before = peak = rss_bytes() or 0
    started = time.perf_counter()
    rv = client.get("/monitor/scim-logs/export.csv")
    first_byte = None
    size = lines = 0
    for chunk in rv.response:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\r\n")
        peak = max(peak, rss_bytes() or 0)
    elapsed = time.perf_counter() - started
    rv.close()

    tracemalloc.start()
    heap_before = tracemalloc.get_traced_memory()[0]
    rv = client.get("/monitor/scim-logs/export.csv")
    traced = 0
    for chunk in rv.response:
        traced += chunk.count(b"\r\n")
        if traced >= traced_rows:
            break
    heap_peak = tracemalloc.get_traced_memory()[1]
    rv.close()
    tracemalloc.stop()

    with app.app_context():
        expected = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ScimRequestLog)
            .where(ScimRequestLog.organization_id == org_id)
        )
    return {
        "rows": expected,
        "lines": lines - 1,
        "seconds": elapsed,
        "rows_per_s": expected / elapsed,
        "first_chunk_ms": (first_byte or 0) * 1000,
        "mb": size / 1e6,
        "rss_growth_mb": (peak - before) / 1e6 if before else None,
        "heap_peak_mb": (heap_peak - heap_before) / 1e6,
        "traced_rows": traced,
    }


class TestClientTransport:
    """Requests through the Flask test client: the app's own time, no network."""

    name = "in-process (Flask test client)"

    def __init__(self, app):
        self.client = app.test_client()

    def send(self, method: str, url: str, body, headers: dict) -> tuple[int, dict | None]:
        rv = self.client.open(url, method=method, json=body, headers=headers)
        return rv.status_code, rv.get_json(silent=True)

    def close(self) -> None:
        pass


class HttpTransport:
    """Requests over HTTP to waitress on a free local port, on one keep-alive connection,
    as an IdP sends them."""

    name = "over HTTP (waitress, keep-alive)"

    def __init__(self, app):
        from waitress.server import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=4)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.server.effective_port)

    def send(self, method: str, url: str, body, headers: dict) -> tuple[int, dict | None]:
        data = json.dumps(body) if body is not None else None
        self.conn.request(method, url, body=data, headers=headers)
        rv = self.conn.getresponse()
        payload = rv.read()
        return rv.status, json.loads(payload) if payload else None

    def close(self) -> None:
        self.conn.close()
        # Let the worker threads finish before the trigger they signal is closed.
        self.server.task_dispatcher.shutdown()
        self.server.close()
        self.thread.join(timeout=5)


def request_kinds(key: str, i: int, user_id: str | None):
    """(name, method, url, body) of the SCIM requests an IdP sends most."""
    rv = [
        ("GET /ServiceProviderConfig", "GET", "/scim/v2/ServiceProviderConfig", None),
        (
            'GET /Users?filter=userName eq "…"',
            "GET",
            "/scim/v2/Users?filter=" + quote('userName eq "nobody@example.com"'),
            None,
        ),
        (
            "POST /Users (with password)",
            "POST",
            "/scim/v2/Users",
            {
                "userName": f"b-{key}-{i}-{uuid.uuid4().hex[:8]}@example.com",
                "name": {"givenName": "B", "familyName": "U"},
                "emails": [{"value": "b@example.com", "primary": True}],
                "password": "p4ssw0rd!",
                "active": True,
            },
        ),
    ]
    if user_id:
        rv.append(("GET /Users/{id}", "GET", f"/scim/v2/Users/{user_id}", None))
        rv.append(
            (
                "PATCH /Users/{id} active",
                "PATCH",
                f"/scim/v2/Users/{user_id}",
                {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "value": {"active": i % 2 == 0}}],
                },
            )
        )
    return rv


def time_capture(
    app, plaintext: str, requests: int, transport_class
) -> list[tuple[str, float, float, float]]:
    """Median request time with and without the capture hook, per request kind. The two
    apps share the database; their requests alternate so that drift hits both alike."""
    without_log = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    hooks = without_log.after_request_funcs[None]
    hooks[:] = [h for h in hooks if h.__name__ != "log_scim_request"]
    headers = {
        "Authorization": f"Bearer {plaintext}",
        "Content-Type": "application/scim+json",
        "User-Agent": "Okta SCIM Client 1.0.0",
    }
    transports = {"on": transport_class(app), "off": transport_class(without_log)}
    created = {}
    for key, transport in transports.items():
        body = {"userName": f"capture-{key}-{uuid.uuid4().hex[:6]}@example.com"}
        status, payload = transport.send("POST", "/scim/v2/Users", body, headers)
        created[key] = payload.get("id") if status == 201 and payload else None

    timings: dict[tuple[str, str], list[float]] = {}
    statuses: dict[str, set[int]] = {}
    try:
        for i in range(requests):
            for key in ("on", "off") if i % 2 else ("off", "on"):
                for name, method, url, body in request_kinds(key, i, created[key]):
                    started = time.perf_counter()
                    status, _ = transports[key].send(method, url, body, headers)
                    timings.setdefault((name, key), []).append(time.perf_counter() - started)
                    statuses.setdefault(name, set()).add(status)
    finally:
        for transport in transports.values():
            transport.close()
        with without_log.app_context():
            db.engine.dispose()
    results = []
    for name in dict.fromkeys(name for name, _ in timings):
        off = statistics.median(timings[(name, "off")]) * 1000
        on = statistics.median(timings[(name, "on")]) * 1000
        results.append((f"{name} → {sorted(statuses[name])}", off, on, (on - off) / off * 100))
    return results


def run(backend: str, url: str, rows: int, repeat: int, requests: int) -> dict:
    print(f"\n== {backend}: {rows:,} log rows ==", flush=True)
    app = make_app(url)
    ids = seed(app, rows)
    print(f"seeded at {ids['seed_rows_per_s']:,.0f} rows/s", flush=True)

    print(f"\nPage renders (server time, median / worst of {repeat}; target < {TARGET_PAGE_MS} ms)")
    pages = time_pages(app, ids["org"], repeat)
    for name, median, worst, _ in pages:
        flag = "ok" if worst < TARGET_PAGE_MS else "SLOW"
        print(f"  {name:<48} {median:8.1f} ms {worst:8.1f} ms  {flag}")

    export = time_export(app, ids["org"])
    rss = export["rss_growth_mb"]
    print(
        f"\nCSV export of {export['rows']:,} rows ({export['mb']:.0f} MB): "
        f"{export['rows_per_s']:,.0f} rows/s, first chunk after {export['first_chunk_ms']:.0f} ms; "
        f"resident memory growth {'n/a' if rss is None else f'{rss:.1f} MB'}, Python heap peak "
        f"{export['heap_peak_mb']:.1f} MB over {export['traced_rows']:,} rows (tracemalloc); "
        f"targets >= {TARGET_EXPORT_ROWS_S:,} rows/s, < {TARGET_EXPORT_MB} MB"
    )
    assert export["lines"] == export["rows"], (export["lines"], export["rows"])

    capture = {}
    for transport in (TestClientTransport, HttpTransport):
        print(
            f"\nCapture overhead {transport.name} (median of {requests} each, interleaved; "
            f"target < {TARGET_CAPTURE_PCT} %)"
        )
        capture[transport.name] = time_capture(app, ids["plaintext"], requests, transport)
        for name, off, on, pct in capture[transport.name]:
            print(f"  {name:<58} off {off:6.2f} ms  on {on:6.2f} ms  {pct:+6.1f} %")
    with app.app_context():
        db.engine.dispose()
    return {"pages": pages, "export": export, "capture": capture}


def postgres_database(server_url: str):
    """Create a uniquely named database on the server; returns (url, drop)."""
    return create_postgres_database(server_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200, help="SCIM requests per kind and side")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()

    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run("SQLite", f"sqlite:///{tmp}/bench.sqlite", args.rows, args.repeat, args.requests)
    pg = os.environ.get("WILLOW_BENCH_POSTGRES_URL", "").strip()
    if pg:
        url, drop = postgres_database(pg)
        try:
            run("PostgreSQL", url, args.rows, args.repeat, args.requests)
        finally:
            drop()
    elif args.skip_sqlite:
        print("nothing to do: set WILLOW_BENCH_POSTGRES_URL or drop --skip-sqlite")


if __name__ == "__main__":
    main()
