"""The log page reads at a glance: one line per request, the help folded once seen,
previous/next on an entry's page, a page that explains a missing entry, links from the
directory."""

from __future__ import annotations

import re

import pytest


def test_each_row_is_one_line_with_the_whole_path_on_hover(client, console, add_log):
    long_path = "/scim/v2/Users/" + "a" * 120
    add_log(path=long_path, query_string="attributes=userName", resource_label="alice@x.com")
    console.login()
    html = client.get("/monitor/scim-logs").get_data(as_text=True)
    assert f'title="{long_path}?attributes=userName"' in html
    assert 'class="log-table"' in html and "<colgroup>" in html
    assert "alice@x.com" in html


def test_what_is_logged_is_open_on_the_first_visit_and_folded_after(client, console):
    console.login()
    first = client.get("/monitor/scim-logs").get_data(as_text=True)
    assert 'id="what-is-logged" open' in first
    second = client.get("/monitor/scim-logs").get_data(as_text=True)
    assert 'id="what-is-logged">' in second and 'id="what-is-logged" open' not in second


def test_date_filters_are_utc_text_fields_that_keep_what_was_typed(client, console):
    """Not datetime-local: Chromium shows it in the browser's locale, the page is UTC."""
    console.login()
    html = client.get("/monitor/scim-logs?from=2026-01-31+14:30&to=24h").get_data(as_text=True)
    assert "datetime-local" not in html
    assert re.search(r'<input[^>]*name="from"[^>]*placeholder="YYYY-MM-DD HH:MM"', html)
    assert re.search(r'<input[^>]*name="from"[^>]*type="text"[^>]*value="2026-01-31 14:30"', html)
    assert '<label for="from">From (UTC)</label>' in html and "To (UTC)" in html


@pytest.mark.parametrize(
    ("query", "clean"),
    [
        ("from=&to=&method=&resource_type=&status=4xx&q=", "/monitor/scim-logs?status=4xx"),
        ("from=&to=&method=&resource_type=&status=&q=", "/monitor/scim-logs"),
        ("q=+&method=GET&before=", "/monitor/scim-logs?method=GET"),
        ("q=jane%40x.com&from=", "/monitor/scim-logs?q=jane%40x.com"),
    ],
)
def test_a_filter_url_with_empty_parameters_is_redirected_to_the_clean_one(
    client, console, query, clean
):
    console.login()
    rv = client.get(f"/monitor/scim-logs?{query}")
    assert rv.status_code == 302 and rv.headers["Location"] == clean


def test_a_clean_filter_url_is_served_as_is(client, console):
    console.login()
    assert client.get("/monitor/scim-logs?status=4xx&q=jane").status_code == 200


def test_an_entry_page_steps_to_its_neighbours_in_the_filtered_list(client, console, add_log):
    oldest = add_log(minutes_ago=30, status_code=404)
    add_log(minutes_ago=20, status_code=200)
    middle = add_log(minutes_ago=10, status_code=404)
    add_log(minutes_ago=5, status_code=200)
    newest = add_log(minutes_ago=1, status_code=404)
    console.login()
    listing = client.get("/monitor/scim-logs?status=4xx").get_data(as_text=True)
    assert f"/monitor/scim-logs/{middle}?status=4xx" in listing
    html = client.get(f"/monitor/scim-logs/{middle}?status=4xx").get_data(as_text=True)
    assert re.search(rf'id="newer-entry"[^>]*href="/monitor/scim-logs/{newest}\?status=4xx"', html)
    assert re.search(rf'id="older-entry"[^>]*href="/monitor/scim-logs/{oldest}\?status=4xx"', html)
    assert 'id="back-to-list" href="/monitor/scim-logs?status=4xx"' in html
    last = client.get(f"/monitor/scim-logs/{oldest}?status=4xx").get_data(as_text=True)
    assert 'id="older-entry"' not in last and 'id="newer-entry"' in last


def test_a_missing_entry_is_an_explaining_console_page(client, console):
    console.login()
    rv = client.get("/monitor/scim-logs/987654?status=4xx")
    assert rv.status_code == 404 and rv.mimetype == "text/html"
    html = rv.get_data(as_text=True)
    assert "There is no SCIM log entry 987654 in your organization" in html
    assert "kept for 90 days" in html
    assert 'href="/monitor/scim-logs?status=4xx">Back to the SCIM Logs' in html
    assert "If you entered the URL manually" not in html  # not Werkzeug's stock text


def test_favicon_is_served(client):
    with client.get("/favicon.ico") as rv:
        assert rv.status_code == 200 and rv.data[:4] == b"\x00\x00\x01\x00"


def test_user_and_group_pages_link_to_their_scim_requests(client, console, scim):
    user = scim.post("/Users", {"userName": "bob@example.com"}).get_json()
    group = scim.post("/Groups", {"displayName": "Ops"}).get_json()
    console.login()
    html = client.get(f"/admin/directory/users/{user['id']}").get_data(as_text=True)
    assert f'id="scim-requests-link" href="/monitor/scim-logs?q={user["id"]}"' in html
    html = client.get(f"/admin/directory/groups/{group['id']}").get_data(as_text=True)
    assert f'id="scim-requests-link" href="/monitor/scim-logs?q={group["id"]}"' in html
    listing = client.get(f"/monitor/scim-logs?q={user['id']}").get_data(as_text=True)
    assert "1</strong> matching request" in listing
