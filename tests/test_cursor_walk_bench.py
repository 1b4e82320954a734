"""``python -m bench.cursor_walk`` walks every seeded user by cursor and by index."""

from __future__ import annotations

import argparse

from bench import cursor_walk


def test_the_cursor_walk_benchmark_pages_through_every_user_both_ways(tmp_path):
    args = argparse.Namespace(users=25, count=10, repeats=1, clock="wall")
    results = cursor_walk.run(f"sqlite:///{(tmp_path / 'bench.sqlite').as_posix()}", args)
    assert results["cursor"]["pages"] == results["index"]["pages"] == 3
    assert len(results["cursor"]["per_page_ms"]) == 3
    assert "| cursor | 3 |" in cursor_walk.table(results)
