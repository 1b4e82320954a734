"""Instructions per SCIM request, counted by callgrind: a figure the machine's load cannot move.

    python -m bench.instructions
    python -m bench.instructions --ops get_user,service_provider_config --requests 400

Linux with valgrind only; ``--postgres URL`` measures on PostgreSQL (the app process's
instructions: psycopg's included, the database server's not). On a shared machine two runs
of ``python -m bench run`` differ by up to 15 %, too much to see a change of a few per cent;
instruction counts of the same code repeat to within about 3 %. It seeds a SQLite file in a
temporary folder (default 20,000 users and 100,000 log rows, as ``bench run`` seeds),
creates an API token with the CLI, and for each operation runs the application in-process
under ``valgrind --tool=callgrind`` twice: after the same warm-up, once with no measured
requests and once with ``--requests``. The difference, divided by the requests, is what one
request costs through the whole WSGI stack, request log on (its writer thread and the access
log included). The requests are the benchmark's own (``bench.operations``). Kernel time
(system calls) is not counted: time is what ``bench run`` measures. About a minute per
operation.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

from . import operations as ops
from .run import SCIM_HEADERS
from .seed import Scale
from .seed import create_postgres_database
from .seed import seed_directory
from .servers import ROOT
from .servers import flask_cli
from .servers import willow_env

#: The SCIM user operations measured by default (the list walk renders 100 users a request,
#: minutes under callgrind).
DEFAULT_OPS = [op.key for op in ops.USER_OPS if op.key != "list_walk"]
WARM_UP = 50
#: Users in no group, added to and removed from the seeded group by ``group_member_10``.
SPARE = 100
_COLLECTED = re.compile(r"Collected : (\d+)")


def environ_from(raw: bytes) -> dict:
    """The WSGI environ of one HTTP/1.1 request as ``bench.wire`` writes it."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, protocol = lines[0].split(" ", 2)
    path, _, query = target.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": protocol,
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value.strip()
        else:
            environ[f"HTTP_{key}"] = value.strip()
    return environ


def call(app, environ: dict) -> int:
    """Send one request through the WSGI app; its status code."""
    status: list[str] = []

    def start_response(line, headers, exc_info=None):  # noqa: ARG001
        status.append(line)

    body = app(environ, start_response)
    try:
        for _ in body:
            pass
    finally:
        if hasattr(body, "close"):
            body.close()
    return int(status[0].split(" ", 1)[0])


def drive(app, key: str, count: int, token: str, users: int) -> Counter:
    """The warm-up, then ``count`` requests of operation ``key``, in this thread; the
    statuses of the counted ones. The request log is written out before returning."""
    ctx = {
        "base": "/scim/v2", "host": "127.0.0.1:8000", "tag": uuid.uuid4().hex[:8],
        "headers": {**SCIM_HEADERS, "Authorization": f"Bearer {token}"},
        "users": users, "spare_start": users, "spare": SPARE, "clients": 1,
    }
    for i in range(WARM_UP):
        call(app, environ_from(ops.request(key, ctx, i)))
    requests = [environ_from(ops.request(key, ctx, WARM_UP + i)) for i in range(count)]
    statuses = Counter(call(app, environ) for environ in requests)
    app.extensions["willow_request_log"].flush()
    return statuses


def _count_instructions(url: str, token: str, users: int, key: str, count: int,
                        workdir: Path) -> int:
    out = workdir / "callgrind.out"
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        sys.executable, "-m", "bench.instructions", "--drive", key, "--requests", str(count),
        "--database-url", url, "--token", token, "--users", str(users),
    ]
    done = subprocess.run(command, cwd=ROOT, env=willow_env(url, WILLOW_ACCESS_LOG="1"),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    match = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"callgrind run of {key} failed:\n{done.stderr[-2000:]}")
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", default=",".join(DEFAULT_OPS),
                        help="operation keys, comma-separated (default: %(default)s)")
    parser.add_argument("--requests", type=int, default=400, help="measured requests (400)")
    parser.add_argument("--users", type=int, default=20_000, help="seeded users (20000)")
    parser.add_argument("--log-rows", type=int, default=100_000, help="seeded log rows")
    parser.add_argument("--postgres", metavar="URL",
                        help="PostgreSQL server URL: measure on a fresh database there "
                             "(dropped afterwards) instead of a SQLite file; only the app "
                             "process's instructions are counted, not PostgreSQL's")
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.drive:  # the process callgrind runs
        from willow import create_app

        statuses = drive(create_app(), args.drive, args.requests, args.token, args.users)
        print(dict(statuses))
        return 0

    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Linux: apt install valgrind).", file=sys.stderr)
        return 2
    keys = [key.strip() for key in args.ops.split(",") if key.strip()]
    unknown = sorted(set(keys) - {op.key for op in [*ops.USER_OPS, *ops.group_ops([10])]})
    if unknown:
        print(f"unknown operations: {', '.join(unknown)}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="willow-instructions-"))
    drop = None
    try:
        if args.postgres:
            url, drop = create_postgres_database(args.postgres)
        else:
            url = f"sqlite:///{(workdir / 'bench.sqlite').as_posix()}"
        env = willow_env(url)
        flask_cli(["db", "upgrade"], env)
        seed_directory(url, Scale(users=args.users, groups=(10,), spare=SPARE,
                                  log_rows=args.log_rows, log_days=30))
        token = flask_cli(["token", "create", "--name", "instructions"], env).strip()
        token = token.splitlines()[-1]
        database = "PostgreSQL" if args.postgres else "SQLite"
        print(f"{database}, {args.users:,} users, {args.log_rows:,} log rows; "
              f"{args.requests} requests per operation after {WARM_UP} to warm up", flush=True)
        print("| operation | instructions per request |\n|---|---|", flush=True)
        for key in keys:
            base = _count_instructions(url, token, args.users, key, 0, workdir)
            total = _count_instructions(url, token, args.users, key, args.requests, workdir)
            per_request = (total - base) / args.requests
            print(f"| {key} | {per_request / 1000:,.0f} k |", flush=True)
    finally:
        if drop is not None:
            drop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
