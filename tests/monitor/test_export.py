"""CSV export: every matching row, streamed, Excel-friendly, formula-safe."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import datetime
from datetime import timedelta

import pytest

from willow.console.organizations import create_organization
from willow.monitor import export
from willow.monitor.export import BOM
from willow.monitor.export import HEADER
from willow.monitor.export import filename
from willow.monitor.export import iter_csv
from willow.monitor.export import safe_cell
from willow.storage.extensions import db
from willow.storage.models import utcnow


def read_csv(response) -> list[dict]:
    text = response.get_data(as_text=True)
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text[len(BOM) :])))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("alice@example.com", "alice@example.com"),
        ("/scim/v2/Users", "/scim/v2/Users"),
        (None, ""),
        (404, 404),
        (["a", "=b"], '["a","=b"]'),
        (datetime(2026, 1, 31, 14, 0, 5, 123456), "2026-01-31T14:00:05.123Z"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert safe_cell(value) == expected


def test_csv_is_produced_lazily_in_chunks():
    """An endless row source still yields its first chunk: nothing is collected first."""
    endless = ([i, "x"] for i in itertools.count())
    chunks = iter_csv(endless, header=["n", "x"])
    first = next(chunks)
    assert first.startswith(BOM + "n,x\r\n0,x\r\n")
    assert first.count("\r\n") == export.CHUNK_ROWS + 1
    assert next(chunks).startswith(f"{export.CHUNK_ROWS},x")


def test_a_chunk_of_rows_with_large_bodies_ends_past_its_size_limit():
    """Rows of 100,000-character bodies: a chunk holds what passes the limit, plus the row
    that passed it, not CHUNK_ROWS of them."""
    body = "y" * 100_000
    chunks = list(iter_csv(([i, body] for i in range(40)), header=["n", "body"]))
    assert "".join(chunks).count(body) == 40
    assert max(len(chunk) for chunk in chunks) < export.CHUNK_CHARS + len(body) + 100
    assert len(chunks) > 10


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, "scim-logs_start_to_2026-02-10.csv"),
        (datetime(2026, 1, 1), datetime(2026, 2, 1), "scim-logs_2026-01-01_to_2026-01-31.csv"),
        (
            datetime(2026, 1, 1, 9),
            datetime(2026, 1, 1, 17),
            "scim-logs_2026-01-01_to_2026-01-01.csv",
        ),
        (datetime(2026, 1, 1), datetime(2027, 1, 1), "scim-logs_2026-01-01_to_2026-02-10.csv"),
    ],
)
def test_the_file_name_says_the_date_range(start, end, expected):
    assert filename(start, end, now=datetime(2026, 2, 10, 12)) == expected


def test_export_requires_sign_in(client):
    rv = client.get("/monitor/scim-logs/export.csv")
    assert rv.status_code == 302


def test_the_export_has_every_row_matching_the_filter_and_nothing_else(
    app, client, console, add_log
):
    with app.app_context():
        other = create_organization("acme", "Acme")
        db.session.commit()
        other_id = other.id
    failures = [add_log(minutes_ago=i, status_code=409, request_id=f"f{i}") for i in range(60)]
    add_log(status_code=200, request_id="ok")
    add_log(status_code=409, request_id="old", minutes_ago=60 * 24 * 10)
    add_log(status_code=409, request_id="theirs", organization_id=other_id)
    console.login()
    rv = client.get("/monitor/scim-logs/export.csv?status=4xx&from=7d")
    assert rv.status_code == 200
    assert rv.mimetype == "text/csv" and rv.mimetype_params["charset"] == "utf-8"
    rows = read_csv(rv)
    assert [r["request_id"] for r in rows] == [f"f{i}" for i in range(60)]
    assert len(rows) == len(failures)
    assert list(rows[0]) == list(HEADER)
    assert rows[0]["status"] == "409" and rows[0]["token_name"] == "Okta SCIM Integration"


def test_the_export_is_not_limited_to_one_page(client, console, add_log):
    for i in range(130):
        add_log(minutes_ago=i)
    console.login()
    assert len(read_csv(client.get("/monitor/scim-logs/export.csv"))) == 130


def test_the_export_is_streamed_with_an_attachment_name(client, console, add_log):
    add_log()
    console.login()
    day = (utcnow() - timedelta(days=1)).date().isoformat()
    rv = client.get(f"/monitor/scim-logs/export.csv?from={day}")
    assert rv.is_streamed
    assert rv.headers["Content-Disposition"] == (
        f'attachment; filename="scim-logs_{day}_to_{utcnow().date().isoformat()}.csv"'
    )
    assert rv.headers["Cache-Control"] == "no-store"


def test_payload_cells_are_formula_safe_in_the_file(client, console, add_log):
    add_log(
        resource_label="=cmd|' /C calc'!A0",
        user_agent="@evil",
        error_detail="-1 is not a valid count",
        changes=[{"attribute": "displayName", "before": "a", "after": "b"}],
        notes=None,
        request_body='{"userName": "ü-ser"}',
    )
    console.login()
    [row] = read_csv(client.get("/monitor/scim-logs/export.csv"))
    assert row["resource_name"] == "'=cmd|' /C calc'!A0"
    assert row["user_agent"] == "'@evil"
    assert row["error_detail"] == "'-1 is not a valid count"
    assert json.loads(row["changes"]) == [{"attribute": "displayName", "before": "a", "after": "b"}]
    assert row["notes"] == "" and row["warnings"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["time_utc"])
    assert row["request_body"] == '{"userName": "ü-ser"}'


def test_a_bad_filter_is_a_400_with_the_reason(client, console):
    console.login()
    rv = client.get("/monitor/scim-logs/export.csv?status=7xx&from=soon")
    assert rv.status_code == 400
    text = rv.get_data(as_text=True)
    assert "Status: Not a valid choice" in text
    assert "From (UTC): 'soon' is not a date" in text
