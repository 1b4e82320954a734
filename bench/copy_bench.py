"""``python -m bench.copy_bench``: time and peak memory of ``flask --app app db copy``
from a seeded SQLite install into a fresh PostgreSQL database.

    python -m bench.copy_bench --postgres postgresql://postgres@127.0.0.1:5432/test \\
        --users 100000 --log-rows 1000000

The source is seeded straight into its tables (bench/seed.py); the copy runs as the admin
would run it, in a child process, whose wall time and peak resident memory are reported.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from .seed import Scale
from .seed import create_postgres_database
from .seed import database_url
from .seed import seed_directory

ROOT = Path(__file__).resolve().parents[1]


def migrated_sqlite(folder: Path) -> str:
    from flask_migrate import upgrade

    from config import TestingConfig
    from willow import create_app
    from willow.storage.extensions import db

    url = f"sqlite:///{(folder / 'source.sqlite').as_posix()}"
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    app.extensions["willow_request_log"].stop()
    return url


def _children_peak_kb() -> int | None:
    """Peak resident memory of the finished child processes, in KB (POSIX's getrusage;
    None on Windows, which has no ``resource`` module)."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--postgres", required=True, metavar="URL", help="PostgreSQL server URL")
    args.add_argument("--users", type=int, default=100_000)
    args.add_argument("--log-rows", type=int, default=1_000_000)
    options = args.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        source = migrated_sqlite(Path(tmp))
        started = time.perf_counter()
        seed_directory(
            source,
            Scale(users=options.users, groups=(10, 1_000), spare=0, log_rows=options.log_rows),
        )
        print(f"seeded {options.users:,} users, {options.log_rows:,} log rows "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
        target, drop = create_postgres_database(options.postgres, "willow_copy_bench")
        try:
            env = {**os.environ, "WILLOW_DATABASE_URL": source}
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "flask", "--app", "app", "db", "copy", "--to", target],
                cwd=ROOT, env=env, capture_output=True, text=True,
            )
            seconds = time.perf_counter() - started
            peak_kb = _children_peak_kb()
            print(done.stdout)
            if done.returncode != 0:
                print(done.stderr[-3000:])
                raise SystemExit(f"db copy failed (exit {done.returncode})")
            engine = sa.create_engine(database_url(target))
            with engine.connect() as conn:
                log = conn.exec_driver_sql("SELECT count(*) FROM scim_request_logs").scalar()
            engine.dispose()
            peak = f"{peak_kb / 1024:.0f} MB" if peak_kb is not None else "not measured here"
            print(f"db copy: {seconds:.1f} s wall, peak memory {peak}, "
                  f"{log:,} log rows copied, "
                  f"{(options.users + log) / seconds:,.0f} rows/s (users + log)")
        finally:
            drop()


if __name__ == "__main__":
    main()
