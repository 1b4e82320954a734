"""The benchmark command (``python -m bench run``) end to end, at a tiny scale.

It starts real processes (``python app.py``, the do-nothing endpoint, scim2-server) on
free local ports, so it checks that every operation ran and got only the answers it
should, never how fast: timings on a shared CI machine mean nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("WILLOW_TEST_POSTGRES_URL", "").strip()
GROUPS = [10, 50, 150]
TINY = ["--users", "200", "--groups", ",".join(map(str, GROUPS)), "--spare", "20",
        "--log-rows", "2000", "--requests", "12", "--seconds", "2", "--csv-seconds", "5",
        "--clients", "3", "--settle", "0.05"]
SCIM_OPS = {"post_user", "filter_hit", "filter_miss", "get_user", "put_user",
            "patch_deactivate", "list_walk", "service_provider_config"}
SCIM_OPS |= {f"{kind}_{size}" for kind in ("group_member", "get_group_excl", "get_group")
             for size in GROUPS}
CONSOLE_OPS = {"log_page", "log_search", "csv_export"}


def run_bench(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "run", *TINY, *extra, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| operation |" in done.stdout
    return json.loads(out.read_text(encoding="utf-8"))


def check_every_operation_answered(result: dict) -> None:
    assert {op["key"] for op in result["ops"]} == SCIM_OPS | CONSOLE_OPS
    for op in result["ops"]:
        assert op["count"] > 0, op["key"]
        assert op["errors"] == 0, (op["key"], op["statuses"])
    assert result["noop"]["count"] > 0 and result["noop"]["errors"] == 0
    assert result["servers"]["willow"]["peak_rss_mb"] > 0


def test_bench_run_on_sqlite_with_peer_measures_every_operation_without_errors(tmp_path):
    result = run_bench(tmp_path, "--peer")
    check_every_operation_answered(result)
    assert result["meta"]["database"] == "SQLite"
    for op in result["ops"]:
        if op["key"] in SCIM_OPS:
            assert op["peer"]["count"] > 0 and op["peer"]["errors"] == 0, op["key"]
            assert op["ratio_peer"] is not None
    # The CSV export read at least every seeded row (more: the run's own requests are logged).
    csv = next(op for op in result["ops"] if op["key"] == "csv_export")
    assert csv["count"] >= 2000

    compared = subprocess.run(
        [sys.executable, "-m", "bench", "compare", str(tmp_path / "result.json"),
         str(tmp_path / "result.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert compared.returncode == 0, compared.stderr
    for op in result["ops"]:
        assert op["label"] in compared.stdout


@pytest.mark.skipif(not POSTGRES_URL, reason="set WILLOW_TEST_POSTGRES_URL to run it")
def test_bench_run_on_postgres_measures_on_a_database_of_its_own_and_drops_it(tmp_path):
    import sqlalchemy as sa

    def bench_databases() -> set[str]:
        url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            names = set(conn.scalars(sa.text(
                "SELECT datname FROM pg_database WHERE datname LIKE 'willow_bench_%'")))
        engine.dispose()
        return names

    # A few operations only: this checks the --postgres plumbing (a database of its own,
    # seeded, served and dropped); the SQLite test covers every operation.
    before = bench_databases()
    result = run_bench(tmp_path, "--postgres", POSTGRES_URL,
                       "--ops", "get_user,patch_deactivate,group_member,log_page,csv")
    assert {op["key"] for op in result["ops"]} == {
        "get_user", "patch_deactivate", "log_page", "csv_export",
        *(f"group_member_{size}" for size in GROUPS)}
    for op in result["ops"]:
        assert op["count"] > 0 and op["errors"] == 0, (op["key"], op["statuses"])
    assert result["meta"]["database"] == "PostgreSQL"
    assert bench_databases() <= before


def test_the_instruction_counter_drives_the_benchmarks_requests_through_the_app(app, token):
    """The in-process driver ``bench.instructions`` runs under callgrind: the benchmark's
    own requests, answered as the benchmark expects (no valgrind needed here)."""
    from bench import operations
    from bench.instructions import drive

    expected = {op.key: op.ok for op in operations.USER_OPS}
    for key in ("service_provider_config", "filter_miss", "post_user"):
        statuses = drive(app, key, 5, token, users=1)
        assert sum(statuses.values()) == 5
        assert set(statuses) <= set(expected[key]), (key, statuses)


def test_the_round_trip_counter_reads_statements_and_round_trips_from_a_libpq_trace():
    from bench.roundtrips import count_trace

    trace = "\n".join(
        [
            'F\t10\tQuery\t "BEGIN"',
            'B\t10\tCommandComplete\t "BEGIN"',
            "B\t5\tReadyForQuery\t T",
            'F\t26\tParse\t "" "select $1::int" 1 NNNN',
            "F\t22\tBind\t \"\" \"_pg3_4\" 1 1 1 2 '\\x00\\x01' 1 0",
            'F\t9\tExecute\t "" 0',
            "F\t4\tSync",
            "B\t4\tParseComplete",
            "B\t5\tReadyForQuery\t T",
            'F\t11\tQuery\t "COMMIT"',
            "B\t5\tReadyForQuery\t I",
            'F\t6\tQuery\t ";"',
            "B\t5\tReadyForQuery\t I",
        ]
    )
    counts = count_trace(trace)
    assert counts["round trips"] == 4
    assert counts["statements"] == 1
    assert (counts["BEGIN"], counts["COMMIT"], counts["pre-ping"]) == (1, 1, 1)
    assert counts["n:_pg3_4"] == 1
