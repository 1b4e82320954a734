"""Markdown tables of benchmark results: one run, and a before/after comparison."""

from __future__ import annotations

import json
from pathlib import Path


def _num(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _ratio(value) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _rate(op: dict) -> str:
    unit = "" if op.get("unit", "req") == "req" else f" {op['unit']}s/s"
    return _num(op.get("rate")) + unit


def summary_lines(result: dict) -> list[str]:
    meta = result["meta"]
    scale = meta["scale"]
    lines = [
        f"Willow benchmark, {meta['date']} — {meta['machine']}",
        f"database: {meta['database']}; {scale['users']:,} users (+{scale['spare']:,} spare), "
        f"groups of {', '.join(f'{g:,}' for g in scale['groups'])}, "
        f"{scale['log_rows']:,} log rows; waitress threads {meta['threads']}"
        + (f", {meta['app_processes']} Willow processes" if meta.get("app_processes", 1) > 1
           else "")
        + "; "
        f"{meta['clients']} clients in {meta['client_procs']} client processes; "
        f"bounds per operation: {meta['requests']:,} requests / {meta['seconds']:g} s",
        "seeding: " + ", ".join(f"{k} {v:.1f} s" for k, v in meta["timings"].items()),
    ]
    noop = result.get("noop") or {}
    if noop:
        lines.append(
            f"do-nothing endpoint: {_num(noop.get('rate'))} req/s (start "
            f"{_num(noop.get('rate_start'))}, end {_num(noop.get('rate_end'))}), "
            f"server CPU {_num(noop.get('server_cpu_ms'), 2)} ms/req, client CPU "
            f"{_num(noop.get('client_cpu_ms'), 2)} ms/req"
        )
    servers = result.get("servers", {})
    lines.append(
        "server memory: "
        + "; ".join(
            f"{name} peak RSS {_num(info.get('peak_rss_mb'))} MB "
            f"(at end {_num(info.get('rss_mb'))} MB)"
            for name, info in servers.items()
        )
    )
    if meta.get("peer"):
        lines.append(f"peer: {meta['peer']}")
    return lines


def table(result: dict) -> str:
    peer = bool(result["meta"].get("peer"))
    database = any(op.get("db_cpu_ms") is not None for op in result["ops"])
    head = ["operation", "clients", "requests", "rate /s", "× do-nothing"]
    if peer:
        head += ["÷ peer"]
    head += ["p50 ms", "p95 ms", "p99 ms", "server CPU ms/req"]
    if database:
        head += ["DB CPU ms/req"]
    if peer:
        head += ["peer CPU ms/req"]
    head += ["errors"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for op in result["ops"]:
        label = op["label"]
        cut = op.get("truncated_after_s")
        if cut:
            label += " (cut short)" if cut is True else f" (cut after {cut:g} s)"
        cells = [label, str(op["clients"]), _num(op["count"]), _rate(op),
                 _ratio(op.get("ratio_noop"))]
        if peer:
            cells.append(_ratio(op.get("ratio_peer")))
        cells += [_num(op.get("p50_ms"), 1), _num(op.get("p95_ms"), 1), _num(op.get("p99_ms"), 1),
                  _num(op.get("server_cpu_ms"), 2)]
        if database:
            cells.append(_num(op.get("db_cpu_ms"), 2))
        if peer:
            cells.append(_num((op.get("peer") or {}).get("server_cpu_ms"), 2))
        cells.append(str(op["errors"]))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def render(result: dict) -> str:
    return "\n".join(summary_lines(result)) + "\n\n" + table(result) + "\n"


def load(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def compare(before: dict, after: dict) -> str:
    """Before/after table of the operations both runs have."""
    lines = [
        f"A: {_describe(before['meta'])}",
        f"B: {_describe(after['meta'])}",
        "",
        "| operation | A rate /s | B rate /s | B ÷ A | A × do-nothing | B × do-nothing "
        "| A p50 ms | B p50 ms | A CPU ms/req | B CPU ms/req | errors A/B |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    noop_a, noop_b = before.get("noop") or {}, after.get("noop") or {}
    lines.append(
        f"| do-nothing Flask view | {_num(noop_a.get('rate'))} | {_num(noop_b.get('rate'))} | "
        f"{_ratio(_div(noop_b.get('rate'), noop_a.get('rate')))} | 1.00× | 1.00× | "
        f"{_num(noop_a.get('p50_ms'), 1)} | {_num(noop_b.get('p50_ms'), 1)} | "
        f"{_num(noop_a.get('server_cpu_ms'), 2)} | {_num(noop_b.get('server_cpu_ms'), 2)} | "
        f"{noop_a.get('errors', '—')}/{noop_b.get('errors', '—')} |"
    )
    b_ops = {op["key"]: op for op in after["ops"]}
    for a in before["ops"]:
        b = b_ops.get(a["key"])
        if b is None:
            continue
        lines.append(
            f"| {a['label']} | {_rate(a)} | {_rate(b)} "
            f"| {_ratio(_div(b.get('rate'), a.get('rate')))} "
            f"| {_ratio(a.get('ratio_noop'))} | {_ratio(b.get('ratio_noop'))} "
            f"| {_num(a.get('p50_ms'), 1)} | {_num(b.get('p50_ms'), 1)} "
            f"| {_num(a.get('server_cpu_ms'), 2)} | {_num(b.get('server_cpu_ms'), 2)} "
            f"| {a['errors']}/{b['errors']} |"
        )
    return "\n".join(lines) + "\n"


def _div(a, b):
    return a / b if a and b else None


def _describe(meta: dict) -> str:
    return f"{meta['date']}, {meta['database']}, commit {meta.get('commit')}, {meta['machine']}"
