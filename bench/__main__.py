"""``python -m bench run`` (measure) and ``python -m bench compare A.json B.json``.

See docs/benchmarks.md for what is measured and what each column means.
"""

from __future__ import annotations

import argparse
import os
import sys

QUICK = {"users": 2_000, "groups": [10, 100, 1_000], "spare": 100, "log_rows": 20_000,
         "requests": 300, "seconds": 3.0, "csv_seconds": 5.0}


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="seed a fresh database, start the servers, measure")
    run.add_argument("--postgres", metavar="URL",
                     help="PostgreSQL server URL; a fresh database is created there and dropped "
                          "afterwards (default: a SQLite file in a temporary folder)")
    run.add_argument("--users", type=int, default=100_000, help="seeded users (default 100000)")
    run.add_argument("--groups", type=_sizes, default=[10, 10_000, 100_000],
                     help="member counts of the seeded groups (default 10,10000,100000)")
    run.add_argument("--spare", type=int, default=1_000,
                     help="extra users in no group, for the membership operations (default 1000)")
    run.add_argument("--log-rows", type=int, default=1_000_000,
                     help="seeded request-log rows (default 1000000)")
    run.add_argument("--log-days", type=int, default=30, help="days the log rows span (30)")
    run.add_argument("--requests", type=int, default=2_000,
                     help="most requests per operation (default 2000)")
    run.add_argument("--seconds", type=float, default=10.0,
                     help="most seconds per operation (default 10)")
    run.add_argument("--csv-seconds", type=float, default=60.0,
                     help="most seconds for the CSV export (default 60)")
    run.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    run.add_argument("--client-procs", type=int, default=min(2, os.cpu_count() or 1),
                     help="processes the clients are spread over (default: 2, or 1 on one CPU)")
    run.add_argument("--settle", type=float, default=0.4,
                     help="seconds to let Willow's request-log writer finish after each "
                          "operation before its CPU time is read (default 0.4)")
    run.add_argument("--threads", type=int, default=8,
                     help="waitress threads of every server (WILLOW_THREADS, default 8)")
    run.add_argument("--app-processes", type=int, default=1,
                     help="Willow processes (python app.py) on the one database; the clients "
                          "are spread over them (default 1)")
    run.add_argument("--quick", action="store_true",
                     help="a small smoke run: 2000 users, groups 10/100/1000, 20000 log rows, "
                          "300 requests / 3 s per operation")
    run.add_argument("--ops", type=lambda s: [p for p in s.split(",") if p],
                     help="only the operations whose keys start with these (comma-separated)")
    run.add_argument("--peer", action="store_true",
                     help="also measure scim2-server (the reference in-memory SCIM server)")
    run.add_argument("--peer-python", default=sys.executable, metavar="PATH",
                     help="interpreter that has scim2-server and waitress (default: this one)")
    run.add_argument("--peer-users", type=int,
                     help="users seeded into the peer (default: --users)")
    run.add_argument("--out", metavar="FILE", help="JSON result file (default bench-DATE.json)")
    run.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, DB)")

    compare = commands.add_parser("compare", help="before/after table of two result files")
    compare.add_argument("before")
    compare.add_argument("after")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "compare":
        from .report import compare
        from .report import load

        print(compare(load(args.before), load(args.after)))
        return 0
    if args.quick:
        explicit = {a.split("=")[0].lstrip("-").replace("-", "_") for a in (argv or sys.argv[1:])
                    if a.startswith("--")}
        for name, value in QUICK.items():
            if name not in explicit:
                setattr(args, name, value)
    from .run import main as run_main

    return run_main(args)


if __name__ == "__main__":
    sys.exit(main())
