"""The do-nothing endpoint: the ceiling of Flask + waitress on this machine.

    python -m bench.noop_app --port 8001 --threads 8

A Flask app whose only view returns a tiny JSON document, served by waitress with the
thread count Willow gets. Every Willow operation in the benchmark is reported as a
fraction of this endpoint's throughput, measured in the same run.
"""

from __future__ import annotations

import argparse

import waitress
from flask import Flask


def create_noop_app() -> Flask:
    app = Flask("noop")

    @app.get("/noop")
    def noop():
        return {"ok": True}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    print(f"noop serving on http://{args.host}:{args.port}/noop", flush=True)
    waitress.serve(create_noop_app(), host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
