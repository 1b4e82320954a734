"""``python -m bench run``: seed a fresh database, start the servers, measure, report.

The steps, in order: a fresh SQLite file in a temporary folder (or a fresh database on the
``--postgres`` server, dropped at the end); ``flask --app app db upgrade``; bulk seeding
(bench/seed.py); a console admin and an API token through the product's CLI; ``python
app.py`` on a free port with the ``WILLOW_*`` variables; the do-nothing endpoint (and
with ``--peer`` scim2-server) beside it; then every operation, each bounded in requests
and seconds, with the server's CPU time read before and after. Results go to a JSON file
and a markdown table.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from datetime import datetime
from pathlib import Path

import psutil

from . import operations as ops
from .load import ClientPool
from .load import Sample
from .report import render
from .seed import Scale
from .seed import create_postgres_database
from .seed import seed_directory
from .servers import ROOT
from .servers import ConsoleSession
from .servers import DatabaseCpu
from .servers import Server
from .servers import flask_cli
from .servers import start_noop
from .servers import start_peer
from .servers import start_willow
from .servers import willow_env

ADMIN_EMAIL = "bench-admin@bench.example.com"
ADMIN_PASSWORD = "bench password " + uuid.uuid4().hex[:8]
SCIM_HEADERS = {
    "Accept": "application/scim+json",
    "Accept-Charset": "utf-8",
    "Content-Type": "application/scim+json; charset=utf-8",
    "User-Agent": "Okta SCIM Client 1.0.0",
}


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Bench:
    """Runs operations against the servers and collects their figures."""

    def __init__(self, args, pool: ClientPool, database_cpu: DatabaseCpu | None = None):
        self.args = args
        self.pool = pool
        self.database_cpu = database_cpu
        self.clients_cpu = [psutil.Process(pid) for pid in pool.pids]

    def client_cpu_seconds(self) -> float:
        total = 0.0
        for process in self.clients_cpu:
            times = process.cpu_times()
            total += times.user + times.system
        return total

    def measure(self, servers: list[Server], ctx: dict, op: ops.Op) -> dict:
        """Run ``op`` against ``servers`` (one, or several app processes on one database:
        the clients are spread over them and their CPU times added up)."""
        clients = 1 if op.solo else self.args.clients
        seconds = self.args.seconds
        ports = tuple(server.port for server in servers)
        settle = max(server.settle for server in servers)
        # Warm-up: one request per client (opens the connections, fills the caches).
        self.pool.run("127.0.0.1", ports, op.key, ctx, clients=clients, start=0,
                      count=clients, seconds=seconds)
        time.sleep(settle)
        server_before = sum(server.cpu_seconds() for server in servers)
        database_before = self._database_cpu(servers)
        client_before = self.client_cpu_seconds()
        sample = self.pool.run("127.0.0.1", ports, op.key, ctx, clients=clients,
                               start=clients, count=self.args.requests, seconds=seconds)
        client_after = self.client_cpu_seconds()
        time.sleep(settle)
        server_after = sum(server.cpu_seconds() for server in servers)
        database_after = self._database_cpu(servers)
        for server in servers:
            server.rss()
        figures = self._figures(op, clients, sample, server_after - server_before,
                                client_after - client_before)
        if database_before is not None and database_after is not None and sample.count:
            spent = DatabaseCpu.spent(database_before, database_after)
            figures["db_cpu_ms"] = spent * 1000 / sample.count
        return figures

    def _database_cpu(self, servers: list[Server]) -> dict[int, float] | None:
        if self.database_cpu is None or not any(s.name.startswith("willow") for s in servers):
            return None
        return self.database_cpu.cpu_seconds()

    @staticmethod
    def _figures(op: ops.Op, clients: int, sample: Sample, server_cpu: float,
                 client_cpu: float) -> dict:
        ordered = sorted(sample.latencies)
        count = sample.count
        errors = sum(n for status, n in sample.statuses.items() if status not in op.ok)
        return {
            "key": op.key,
            "label": op.label,
            "unit": op.unit,
            "clients": clients,
            "count": count,
            "seconds": round(sample.seconds, 3),
            "rate": count / sample.seconds if count else 0.0,
            "p50_ms": _percentile(ordered, 0.50),
            "p95_ms": _percentile(ordered, 0.95),
            "p99_ms": _percentile(ordered, 0.99),
            "server_cpu_ms": server_cpu * 1000 / count if count else None,
            "client_cpu_ms": client_cpu * 1000 / count if count else None,
            "errors": errors,
            "statuses": {str(k): v for k, v in sorted(sample.statuses.items())},
        }


def _machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), "
            f"{memory:.0f} GiB RAM, Python {platform.python_version()}")


def _commit() -> str | None:
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return done.stdout.strip() or None


def _peer_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('scim2-server'))"],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SystemExit(
            f"--peer: {python} cannot import scim2-server; install it there "
            "(pip install scim2-server==0.8.3 waitress) or name another interpreter with "
            "--peer-python"
        )
    return done.stdout.strip()


def _selected(args, key: str) -> bool:
    return not args.ops or any(key.startswith(prefix) for prefix in args.ops)


def run(args) -> dict:
    scale = Scale(users=args.users, groups=tuple(args.groups), spare=args.spare,
                  log_rows=args.log_rows, log_days=args.log_days)
    workdir = Path(tempfile.mkdtemp(prefix="willow-bench-"))
    peer_version = _peer_version(args.peer_python) if args.peer else None
    drop = None
    database_cpu = None
    servers: list[Server] = []
    pool: ClientPool | None = None
    started = time.perf_counter()
    try:
        if args.postgres:
            url, drop = create_postgres_database(args.postgres)
            database = "PostgreSQL"
        else:
            url = f"sqlite:///{(workdir / 'bench.sqlite').as_posix()}"
            database = "SQLite"
        env = willow_env(url)
        timings: dict[str, float] = {}
        step = time.perf_counter()
        flask_cli(["db", "upgrade"], env)
        timings["migrate"] = time.perf_counter() - step
        _say(f"{database}: migrated in {timings['migrate']:.1f} s; seeding {scale.users:,} users, "
             f"groups {list(scale.groups)}, {scale.log_rows:,} log rows ...")
        timings.update(seed_directory(
            url, scale, progress=lambda done: _say(f"  {done:,} log rows")))
        _say("seeded: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        # Two independent CLI commands: run side by side (each spends seconds importing).
        with ThreadPoolExecutor(2) as executor:
            admin = executor.submit(flask_cli, ["admin", "create", "--email", ADMIN_EMAIL,
                                                "--password", ADMIN_PASSWORD], env)
            created = executor.submit(flask_cli, ["token", "create", "--name",
                                                  "Okta SCIM Integration"], env)
            admin.result()
            token = created.result().strip().splitlines()[-1]

        willows = [
            start_willow(url, args.threads, workdir, "willow" if n == 0 else f"willow-{n + 1}")
            for n in range(args.app_processes)
        ]
        willow = willows[0]
        for server in willows:
            # Long enough for the request-log writer to commit what the last requests queued
            # (it gathers a batch for 0.1 s): its CPU is charged to the operation behind it.
            server.settle = args.settle
        noop = start_noop(args.threads, workdir)
        servers += [*willows, noop]
        peer_token = uuid.uuid4().hex
        peer = None
        peer_users = min(args.peer_users or args.users, args.users)
        if args.peer:
            peer = start_peer(args.peer_python, args.threads, workdir, peer_users,
                              list(scale.groups), scale.spare, peer_token)
            servers.append(peer)
        pool = ClientPool(args.client_procs)
        for server in servers:
            server.wait_ready(timeout=600)
        _say(f"servers ready: willow :{', :'.join(str(w.port) for w in willows)}, "
             f"do-nothing :{noop.port}"
             + (f", scim2-server {peer_version} :{peer.port}" if peer else ""))

        database_cpu = DatabaseCpu(url) if args.postgres else None
        bench = Bench(args, pool, database_cpu)
        tag = uuid.uuid4().hex[:8]
        # The spare users follow the main ones: indexes users .. users + spare - 1.
        willow_ctx = {
            "base": "/scim/v2", "host": f"127.0.0.1:{willow.port}", "tag": tag,
            "headers": {**SCIM_HEADERS, "Authorization": f"Bearer {token}"},
            "users": scale.users, "spare_start": scale.users, "spare": scale.spare,
        }
        peer_ctx = {**willow_ctx, "base": "/v2", "tag": "p" + tag, "users": peer_users,
                    "spare_start": peer_users,
                    "headers": {**SCIM_HEADERS, "Authorization": f"Bearer {peer_token}"}}
        if peer:
            peer_ctx["host"] = f"127.0.0.1:{peer.port}"
        noop_ctx = {"base": "", "host": f"127.0.0.1:{noop.port}", "headers": {}, "users": 1}

        result: dict = {"ops": []}
        noop_first = bench.measure([noop], noop_ctx, ops.NOOP)
        _say(f"do-nothing: {noop_first['rate']:,.0f} req/s")

        scim_ops = ops.USER_OPS + ops.group_ops(list(scale.groups))
        for op in scim_ops:
            if not _selected(args, op.key):
                continue
            figures = bench.measure(willows, willow_ctx, op)
            if peer and op.scim:
                figures["peer"] = bench.measure([peer], peer_ctx, op)
            result["ops"].append(figures)
            _say(_line(figures))

        session = ConsoleSession(willow.port, ADMIN_EMAIL, ADMIN_PASSWORD)
        console_ctx = {**willow_ctx, "headers": {"Accept": "text/html", "Cookie": session.cookie}}
        for op in ops.CONSOLE_OPS:
            if _selected(args, op.key):
                result["ops"].append(bench.measure(willows, console_ctx, op))
                _say(_line(result["ops"][-1]))
        if _selected(args, ops.CSV.key):
            result["ops"].append(_measure_csv(willow, session, args.csv_seconds))
            _say(_line(result["ops"][-1]))

        noop_last = bench.measure([noop], noop_ctx, ops.NOOP)
        noop_rate = (noop_first["rate"] + noop_last["rate"]) / 2
        result["noop"] = {**noop_last, "rate": noop_rate, "rate_start": noop_first["rate"],
                          "rate_end": noop_last["rate"],
                          "server_cpu_ms": _mean(noop_first, noop_last, "server_cpu_ms"),
                          "client_cpu_ms": _mean(noop_first, noop_last, "client_cpu_ms"),
                          "errors": noop_first["errors"] + noop_last["errors"]}
        for figures in result["ops"]:
            same_load = figures["clients"] == args.clients and figures["unit"] == "req"
            figures["ratio_noop"] = figures["rate"] / noop_rate if same_load else None
            other = figures.get("peer")
            figures["ratio_peer"] = figures["rate"] / other["rate"] if other and other[
                "rate"] else None

        result["servers"] = {
            server.name: {"peak_rss_mb": server.peak_rss() / 2**20, "rss_mb": server.rss() / 2**20}
            for server in servers
        }
        result["meta"] = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": _machine(),
            "commit": _commit(),
            "database": database,
            "scale": {"users": scale.users, "spare": scale.spare, "groups": list(scale.groups),
                      "log_rows": scale.log_rows, "log_days": scale.log_days},
            "threads": args.threads,
            "app_processes": args.app_processes,
            "clients": args.clients,
            "client_procs": args.client_procs,
            "requests": args.requests,
            "seconds": args.seconds,
            "timings": timings,
            "peer": (f"scim2-server {peer_version} under waitress, in memory, seeded in its own "
                     f"process through its storage (no bulk API): {peer_users:,} users"
                     if peer else None),
            "total_seconds": None,
        }
    finally:
        if pool is not None:
            pool.close()
        for server in servers:
            server.interrupt()
        for server in servers:
            server.stop()
        if database_cpu is not None:
            database_cpu.close()
        if drop is not None:
            drop()
        if args.keep:
            _say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result["meta"]["total_seconds"] = round(time.perf_counter() - started, 1)
    return result


def _mean(a: dict, b: dict, key: str) -> float | None:
    if a.get(key) is None or b.get(key) is None:
        return a.get(key) or b.get(key)
    return (a[key] + b[key]) / 2


def _measure_csv(willow: Server, session: ConsoleSession, seconds: float) -> dict:
    """The CSV export of every row, one download, cut after ``seconds``: rows per second."""
    time.sleep(willow.settle)
    before = willow.cpu_seconds()
    status, elapsed, rows = session.export_csv(seconds)
    time.sleep(willow.settle)
    cpu = willow.cpu_seconds() - before
    willow.rss()
    return {
        "key": ops.CSV.key, "label": ops.CSV.label, "unit": "row", "clients": 1, "count": rows,
        "seconds": round(elapsed, 3), "rate": rows / elapsed if elapsed else 0.0,
        "p50_ms": None, "p95_ms": None, "p99_ms": None,
        "server_cpu_ms": cpu * 1000 / rows if rows else None,  # per row here
        "client_cpu_ms": None, "errors": 0 if status == 200 else 1,
        "statuses": {str(status): 1},
        "truncated_after_s": seconds if elapsed >= seconds else None,
    }


def _line(figures: dict) -> str:
    unit = "req" if figures["unit"] == "req" else figures["unit"] + "s"
    text = (f"  {figures['label']:<48} {figures['rate']:>9,.0f} {unit}/s  "
            f"p50 {figures['p50_ms'] or 0:7.1f} ms  errors {figures['errors']}")
    peer = figures.get("peer")
    if peer:
        text += f"  | peer {peer['rate']:,.0f} req/s"
    return text


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(args) -> int:
    result = run(args)
    out = Path(args.out or f"bench-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.json")
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(render(result))
    print(f"results: {out}")
    errors = sum(op["errors"] for op in result["ops"]) + result["noop"]["errors"]
    return 1 if errors else 0
