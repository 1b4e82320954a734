"""Integers in console URLs (issue #20 item 5): ids that cannot exist are a 404 page,
pages and cursors that are not numbers are page 1 or a form error; never a 500.

Werkzeug's ``<int:>`` converter read Arabic-Indic digits as ids and passed ids beyond
2^63 to the database (SQLite OverflowError, PostgreSQL bigint out of range)."""

from __future__ import annotations

import pytest

ABOVE_64_BITS = str(2**63 + 5)
IDS = [ABOVE_64_BITS, "9" * 4301, "\u0661", "\uff11", "1_0", "0", "-1", "abc"]


@pytest.mark.parametrize("entry_id", IDS)
def test_log_entry_that_cannot_exist_is_a_404_page(client, console, entry_id):
    console.login()
    rv = client.get(f"/monitor/scim-logs/{entry_id}")
    assert rv.status_code == 404
    assert b"There is no SCIM log entry" in rv.data


def test_export_is_not_read_as_a_log_entry(client, console):
    console.login()
    rv = client.get("/monitor/scim-logs/export.csv")
    assert rv.status_code == 200 and rv.mimetype == "text/csv"


@pytest.mark.parametrize("token_id", IDS)
@pytest.mark.parametrize("action", ["created", "revoke"])
def test_token_that_cannot_exist_is_a_404_page(client, console, token_id, action):
    console.login()
    assert client.get(f"/admin/tokens/{token_id}/{action}").status_code == 404
    if action == "revoke":
        assert client.post(f"/admin/tokens/{token_id}/revoke").status_code == 404


@pytest.mark.parametrize("session_id", IDS)
def test_ending_a_session_that_cannot_exist_is_a_404_page(client, console, session_id):
    console.login()
    assert client.post(f"/admin/sessions/{session_id}/end").status_code == 404


@pytest.mark.parametrize("page", [ABOVE_64_BITS, "9" * 4301, "\u0661", "1_0", "-3", "x"])
@pytest.mark.parametrize("listing", ["/admin/directory/users", "/admin/directory/groups"])
def test_directory_page_that_is_not_a_small_number_is_answered(client, console, page, listing):
    console.login()
    assert client.get(listing, query_string={"page": page}).status_code == 200


@pytest.mark.parametrize(
    "cursor",
    [
        f"2026-01-01T00:00:00_{ABOVE_64_BITS}",
        "2026-01-01T00:00:00_" + "9" * 4301,
        "2026-01-01T00:00:00_\u0661",
        "2026-01-01T00:00:00_99_999",
    ],
)
@pytest.mark.parametrize("direction", ["before", "after"])
def test_log_cursor_with_an_impossible_id_is_a_form_error(client, console, cursor, direction):
    console.login()
    rv = client.get("/monitor/scim-logs", query_string={direction: cursor})
    assert rv.status_code == 400
    assert b"This page link is not valid" in rv.data


@pytest.mark.parametrize(
    "query",
    [
        {"to": "9999-12-31"},
        {"from": "9999-12-31T23:59"},
        {"from": "0001-01-01"},
        {"to": "0001-01-01"},
    ],
)
@pytest.mark.parametrize("page", ["/monitor/scim-logs", "/monitor/scim-logs/export.csv"])
def test_log_filter_dates_beyond_the_calendar_are_a_form_error(client, console, query, page):
    """The day after `to=9999-12-31` and the chart's day before `to=0001-01-01` left
    datetime's range: 500s."""
    console.login()
    rv = client.get(page, query_string=query)
    assert rv.status_code == 400
    assert b"out of range" in rv.data


@pytest.mark.parametrize("query", [{"to": "1970-01-01"}, {"to": "9998-12-31"}])
def test_log_filter_dates_at_the_ends_of_the_range_are_answered(client, console, query):
    console.login()
    assert client.get("/monitor/scim-logs", query_string=query).status_code == 200
