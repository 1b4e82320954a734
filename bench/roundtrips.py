"""Statements, round trips and CPU per SCIM request, on SQLite and PostgreSQL in one run.

    python -m bench.roundtrips --postgres postgresql://postgres@127.0.0.1:5432/postgres
    python -m bench.roundtrips --postgres URL --ops get_user,put_user --requests 300

Seeds a SQLite file and a fresh PostgreSQL database the same way (``bench.seed``), then
for each database runs the application in-process (``bench.instructions.drive``: the
benchmark's own requests through the whole WSGI stack, request log on) in a child
process, one thread, no network client:

- **CPU per request**: the child's CPU time (every thread: the request log's writer and
  the token-use update included) over ``--requests`` requests, after a warm-up. One
  client thread, so it is the server's work alone, not contention.
- **Statements and round trips per request** (PostgreSQL): libpq's own trace of every
  connection the process holds (the request's, the session's, the log writer's) during
  ``--traced`` more requests. A statement is a simple ``Query`` or an extended-protocol
  ``Bind``; a round trip is a run of messages to the server followed by its answer;
  ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` are counted apart, as is the pool's pre-ping (``;``).
  The log writer's batch shows as a fraction of a statement per request.

The figures say where a request's database work goes; ``python -m bench run --postgres``
says what a client sees.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from collections import Counter
from pathlib import Path

from . import operations as ops
from .instructions import call
from .instructions import environ_from
from .run import SCIM_HEADERS
from .seed import Scale
from .seed import create_postgres_database
from .seed import seed_directory
from .servers import ROOT
from .servers import flask_cli
from .servers import willow_env

DEFAULT_OPS = [
    "post_user",
    "filter_hit",
    "get_user",
    "put_user",
    "patch_deactivate",
    "service_provider_config",
    "group_member_10",
    "get_group_excl_1000",
]
WARM_UP = 60
_MESSAGE = re.compile(r"^([FB])\t\d+\t(\w+)\t?\s*(.*)$")


def count_trace(text: str) -> Counter:
    """Statements, round trips and transaction commands in one connection's libpq trace."""
    counts: Counter = Counter()
    previous = None
    for line in text.splitlines():
        match = _MESSAGE.match(line)
        if match is None:
            continue
        direction, message, rest = match.groups()
        if direction == "F" and previous == "B":
            counts["round trips"] += 1
        if direction == "F" and previous is None:
            counts["round trips"] += 1
        previous = direction
        if direction != "F":
            continue
        if message == "Query":
            word = rest.strip('"').split(None, 1)[0].upper() if rest.strip('"') else ""
            if word in ("BEGIN", "COMMIT", "ROLLBACK"):
                counts[word] += 1
            elif rest.strip('"') in (";", "SELECT 1"):  # psycopg's dialect pings with ";"
                counts["pre-ping"] += 1
            else:
                counts["statements"] += 1
                counts[f"q:{rest[:80]}"] += 1
        elif message == "Bind":
            counts["statements"] += 1
            fields = rest.split('"')
            if len(fields) > 3 and fields[3]:
                counts[f"n:{fields[3]}"] += 1
        elif message == "Parse":
            counts[f"q:{rest[:80]}"] += 1
    return counts


class Tracer:
    """libpq traces of every PostgreSQL connection the process opens, switched on and off."""

    def __init__(self, workdir: Path) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        self.workdir = workdir
        self.connections: weakref.WeakSet = weakref.WeakSet()
        self.files: list[tuple[object, Path, object]] = []
        self.on = False
        event.listen(Engine, "connect", self._connected)

    def _connected(self, dbapi_connection, _record) -> None:
        if hasattr(dbapi_connection, "pgconn"):
            self.connections.add(dbapi_connection)
            if self.on:
                self._trace(dbapi_connection)

    def _trace(self, connection) -> None:
        import psycopg

        path = self.workdir / f"trace-{len(self.files)}.txt"
        handle = open(path, "w")  # noqa: SIM115 - closed in stop()
        connection.pgconn.trace(handle.fileno())
        connection.pgconn.set_trace_flags(
            psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE
        )
        self.files.append((connection, path, handle))

    def start(self) -> None:
        self.on = True
        for connection in list(self.connections):
            self._trace(connection)

    def stop(self) -> Counter:
        self.on = False
        total: Counter = Counter()
        for connection, path, handle in self.files:
            try:
                connection.pgconn.untrace()
            except Exception:  # noqa: S110 - a connection closed meanwhile
                pass
            handle.close()
            counts = count_trace(path.read_text(errors="replace"))
            # Prepared statements are bound by name: name them by their text again.
            names = {
                name.decode(): key[0].decode(errors="replace")
                for key, name in connection._prepared._names.items()  # noqa: SLF001
            }
            for key in [k for k in counts if k.startswith("n:")]:
                text = names.get(key[2:], key[2:])
                total[f"q:(prepared) {text[:80]}"] += counts.pop(key)
            total += counts
        self.files = []
        return total


def drive(key: str, requests: int, traced: int, token: str, users: int, spare: int) -> dict:
    """The child process: warm up, time ``requests``, trace ``traced`` more."""
    from willow import create_app

    app = create_app()
    tracer = Tracer(Path(tempfile.mkdtemp(prefix="willow-trace-")))
    ctx = {
        "base": "/scim/v2",
        "host": "127.0.0.1:8000",
        "tag": uuid.uuid4().hex[:8],
        "headers": {**SCIM_HEADERS, "Authorization": f"Bearer {token}"},
        "users": users,
        "spare_start": users,
        "spare": spare,
        "clients": 1,
    }
    total = WARM_UP + requests + traced
    environs = [environ_from(ops.request(key, ctx, i)) for i in range(total)]
    writer = app.extensions["willow_request_log"]
    statuses: Counter = Counter()
    for environ in environs[:WARM_UP]:
        statuses[call(app, environ)] += 1
    writer.flush()
    started = time.process_time()
    for environ in environs[WARM_UP : WARM_UP + requests]:
        statuses[call(app, environ)] += 1
    writer.flush()
    cpu = time.process_time() - started
    tracer.start()
    for environ in environs[WARM_UP + requests :]:
        statuses[call(app, environ)] += 1
    writer.flush()
    counts = tracer.stop()
    shutil.rmtree(tracer.workdir, ignore_errors=True)
    return {
        "cpu_ms": cpu * 1000 / requests,
        "statuses": dict(statuses),
        "per_request": {k: v / traced for k, v in counts.items() if not k.startswith("q:")},
        "queries": {k[2:]: v / traced for k, v in counts.most_common() if k.startswith("q:")},
    }


def _run_child(url: str, key: str, args, token: str, env_extra: dict) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.roundtrips",
        "--drive",
        key,
        "--requests",
        str(args.requests),
        "--traced",
        str(args.traced),
        "--token",
        token,
        "--users",
        str(args.users),
        "--spare",
        str(args.spare),
    ]
    done = subprocess.run(
        command, cwd=ROOT, env=willow_env(url, **env_extra), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{key} failed:\n{done.stderr[-3000:]}")
    line = [x for x in done.stdout.splitlines() if x.startswith("ROUNDTRIPS ")][-1]
    return json.loads(line[len("ROUNDTRIPS ") :])


def _prepare(url: str, scale: Scale) -> str:
    env = willow_env(url)
    flask_cli(["db", "upgrade"], env)
    seed_directory(url, scale)
    return flask_cli(["token", "create", "--name", "roundtrips"], env).strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server URL")
    parser.add_argument("--ops", default=",".join(DEFAULT_OPS))
    parser.add_argument("--requests", type=int, default=300, help="timed requests (300)")
    parser.add_argument("--traced", type=int, default=40, help="traced requests (40)")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--spare", type=int, default=200)
    parser.add_argument("--log-rows", type=int, default=20_000)
    parser.add_argument("--queries", action="store_true", help="also list the statements")
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.drive:
        result = drive(args.drive, args.requests, args.traced, args.token, args.users, args.spare)
        print("ROUNDTRIPS " + json.dumps(result))
        return 0

    scale = Scale(
        users=args.users, groups=(10, 1000), spare=args.spare, log_rows=args.log_rows, log_days=30
    )
    keys = [k for k in args.ops.split(",") if k]
    workdir = Path(tempfile.mkdtemp(prefix="willow-roundtrips-"))
    drop = None
    try:
        databases = {"SQLite": f"sqlite:///{(workdir / 'bench.sqlite').as_posix()}"}
        if args.postgres:
            databases["PostgreSQL"], drop = create_postgres_database(args.postgres)
        tokens = {name: _prepare(url, scale) for name, url in databases.items()}
        results: dict[str, dict] = {}
        for key in keys:
            for name, url in databases.items():
                results[f"{key}/{name}"] = _run_child(url, key, args, tokens[name], {})
        print(
            f"{args.users:,} users; {args.requests} timed and {args.traced} traced requests "
            "per operation, one thread, in-process\n"
        )
        header = "| operation | CPU ms SQLite | CPU ms PG | PG/SQLite | PG statements | "
        header += "PG round trips | BEGIN | COMMIT | ROLLBACK | pre-ping |"
        print(header)
        print("|---" * (header.count("|") - 1) + "|")
        for key in keys:
            lite = results[f"{key}/SQLite"]
            pg = results.get(f"{key}/PostgreSQL")
            if pg is None:
                print(f"| {key} | {lite['cpu_ms']:.2f} | | | | | | | | |")
                continue
            per = pg["per_request"]
            print(
                f"| {key} | {lite['cpu_ms']:.2f} | {pg['cpu_ms']:.2f} | "
                f"{pg['cpu_ms'] / lite['cpu_ms']:.2f} | {per.get('statements', 0):.2f} | "
                f"{per.get('round trips', 0):.2f} | {per.get('BEGIN', 0):.2f} | "
                f"{per.get('COMMIT', 0):.2f} | {per.get('ROLLBACK', 0):.2f} | "
                f"{per.get('pre-ping', 0):.2f} |"
            )
        if args.queries:
            for key in keys:
                pg = results.get(f"{key}/PostgreSQL")
                if pg:
                    print(f"\n{key}: statuses {pg['statuses']}")
                    for query, n in pg["queries"].items():
                        print(f"  {n:5.2f}  {query}")
        (workdir.parent / "roundtrips-last.json").write_text(json.dumps(results, indent=1))
    finally:
        if drop is not None:
            drop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
