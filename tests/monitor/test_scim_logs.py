"""The /monitor/scim-logs page: filters, keyset pagination, detail, retrying, escaping."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from willow.console.organizations import create_organization
from willow.storage.extensions import db
from willow.storage.models import utcnow

ROWS = {
    # request id: (minutes ago, fields)
    "a": (5, {"method": "GET", "path": "/scim/v2/Users", "status_code": 200}),
    "b": (
        30,
        {
            "method": "POST",
            "path": "/scim/v2/Users",
            "operation": "create",
            "status_code": 201,
            "resource_id": "u-alice",
            "resource_label": "alice@example.com",
        },
    ),
    "c": (
        120,
        {
            "method": "PATCH",
            "path": "/scim/v2/Groups/g1",
            "resource_type": "Group",
            "resource_id": "g1",
            "resource_label": "Engineering",
            "operation": "update",
        },
    ),
    "d": (
        3 * 24 * 60,
        {
            "method": "PUT",
            "path": "/scim/v2/Users/u1",
            "resource_id": "u1",
            "resource_label": "bob",
            "operation": "update",
            "status_code": 409,
        },
    ),
    "e": (
        10 * 24 * 60,
        {
            "method": "DELETE",
            "path": "/scim/v2/Groups/g2",
            "resource_type": "Group",
            "resource_id": "g2",
            "operation": "delete",
            "status_code": 404,
        },
    ),
    "f": (
        90,
        {
            "path": "/scim/v2/ServiceProviderConfig",
            "resource_type": "Config",
            "operation": "read",
        },
    ),
    "g": (
        20 * 60,
        {"path": "/scim/v2/Schemas", "resource_type": "Schema", "status_code": 500},
    ),
}


@pytest.fixture
def rows(add_log):
    return {rid: add_log(minutes_ago=ago, request_id=rid, **f) for rid, (ago, f) in ROWS.items()}


def shown(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-log-id="(\d+)"', response.get_data(as_text=True))]


def match_count(response) -> int:
    m = re.search(r'id="match-count"><strong>([\d,]+)</strong>', response.get_data(as_text=True))
    return int(m.group(1).replace(",", ""))


def ids_of(rows, names: str) -> set[int]:
    return {rows[n] for n in names}


def test_the_page_requires_sign_in(client):
    rv = client.get("/monitor/scim-logs?method=GET")
    assert rv.status_code == 302
    assert "/admin/login" in rv.headers["Location"]


def test_all_rows_of_the_organization_are_listed_newest_first(client, console, rows):
    console.login()
    rv = client.get("/monitor/scim-logs")
    assert rv.status_code == 200
    assert shown(rv) == [rows[n] for n in "abfcgde"]
    assert match_count(rv) == 7


def test_the_header_says_what_is_logged_in_the_product_docs_words(client, console):
    console.login()
    text = client.get("/monitor/scim-logs").get_data(as_text=True)
    for line in (
        "User operations: create, update, deactivate",
        "Group operations: create, update, delete membership",
        "Configuration queries: ServiceProviderConfig, Schemas, ResourceTypes",
        "Request and response details: full payloads for debugging",
    ):
        assert line in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("method=POST", "b"),
        ("method=patch", "c"),
        ("method=DELETE", "e"),
        ("resource_type=Group", "ce"),
        ("resource_type=config", "f"),
        ("resource_type=Schema", "g"),
        ("status=2xx", "abcf"),
        ("status=4xx", "de"),
        ("status=5xx", "g"),
        ("q=alice", "b"),
        ("q=ENGIN", "c"),
        ("q=u1", "d"),
        ("q=Groups", ""),  # a path matches from its start only: "/Groups"
        ("q=/scim/v2/Groups/g", "ce"),
        ("q=ALICE@", "b"),
        ("q=lice", ""),  # userName/displayName match from their start
        ("q=u-alice", "b"),
        ("q=u", ""),  # the resource id matches exactly
        ("q=/Groups", "ce"),
        ("q=/ServiceProvider", "f"),
        ("q=100%25", ""),
        ("from=1h", "ab"),
        ("from=24h", "abcfg"),
        ("from=7d", "abcdfg"),
        ("method=GET&status=2xx&from=24h", "af"),
        ("resource_type=User&status=4xx", "d"),
        ("resource_type=Group&q=g2&status=4xx&method=DELETE", "e"),
        ("status=2xx&q=alice&method=GET", ""),
    ],
)
def test_each_filter_alone_and_combined_narrows_the_rows(client, console, rows, query, expected):
    console.login()
    rv = client.get(f"/monitor/scim-logs?{query}")
    assert rv.status_code == 200
    assert set(shown(rv)) == ids_of(rows, expected)
    assert match_count(rv) == len(expected)


def test_date_and_date_time_bounds_are_inclusive_of_whole_days(client, console, rows):
    console.login()
    day = (utcnow() - timedelta(days=3)).date().isoformat()
    rv = client.get(f"/monitor/scim-logs?from={day}&to={day}")
    assert set(shown(rv)) == ids_of(rows, "d")
    start = (utcnow() - timedelta(minutes=150)).strftime("%Y-%m-%dT%H:%M")
    end = (utcnow() - timedelta(minutes=60)).strftime("%Y-%m-%d %H:%M:%S") + "Z"
    rv = client.get("/monitor/scim-logs", query_string={"from": start, "to": end})
    assert set(shown(rv)) == ids_of(rows, "cf")


@pytest.mark.parametrize(
    "query",
    [
        "method=FOO",
        "resource_type=Widget",
        "status=3xx",
        "status=200",
        "from=yesterday",
        "from=2026-02-30",
        "to=31/01/2026",
        "from=2026-01-02&to=2026-01-01",
        "before=garbage",
        "after=2026-01-01T00:00:00_x",
        "q=" + "x" * 201,
    ],
)
def test_bad_filter_values_are_a_form_error_not_a_500(client, console, rows, query):
    console.login()
    rv = client.get(f"/monitor/scim-logs?{query}")
    assert rv.status_code == 400
    text = rv.get_data(as_text=True)
    assert "field-error" in text
    assert shown(rv) == []


def test_rows_of_other_organizations_and_unknown_tokens_are_never_shown(
    app, client, console, add_log
):
    with app.app_context():
        other = create_organization("acme", "Acme")
        db.session.commit()
        other_id = other.id
    mine = add_log(request_id="mine")
    add_log(request_id="theirs", organization_id=other_id)
    add_log(request_id="anonymous", organization_id=None)
    console.login()
    rv = client.get("/monitor/scim-logs")
    assert shown(rv) == [mine]
    assert match_count(rv) == 1


def test_pages_are_walked_with_newer_and_older_links_without_offset(app, client, console, add_log):
    ids = [add_log(minutes_ago=200 - i, request_id=f"r{i}") for i in range(120)]
    newest_first = ids[::-1]
    console.login()
    offsets: list = []

    def record(conn, cursor, statement, parameters, context, executemany):
        # SQLite's dialect always writes "LIMIT ? OFFSET ?"; the offset must stay 0.
        if "OFFSET" in statement.upper():
            offsets.append(parameters[-1] if isinstance(parameters, tuple) else parameters)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)

    first = client.get("/monitor/scim-logs?method=GET")
    assert shown(first) == newest_first[:50]
    assert match_count(first) == 120
    assert "← Newer" not in first.get_data(as_text=True)

    second = client.get(_link(first, "next"))
    assert shown(second) == newest_first[50:100]
    third = client.get(_link(second, "next"))
    assert shown(third) == newest_first[100:]
    assert 'rel="next"' not in third.get_data(as_text=True)

    back = client.get(_link(third, "prev"))
    assert shown(back) == newest_first[50:100]
    home = client.get(_link(back, "prev"))
    assert shown(home) == newest_first[:50]
    assert 'rel="prev"' not in home.get_data(as_text=True)
    assert "method=GET" in _link(second, "next")
    assert all(offset == 0 for offset in offsets)


def _link(response, rel: str) -> str:
    html = response.get_data(as_text=True)
    href = re.search(rf'rel="{rel}" href="([^"]+)"', html).group(1)
    return href.replace("&amp;", "&")


def test_the_export_link_carries_the_current_filter(client, console, rows):
    console.login()
    html = client.get("/monitor/scim-logs?status=4xx&q=u1&from=7d").get_data(as_text=True)
    href = re.search(r'id="export-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert href.startswith("/monitor/scim-logs/export.csv?")
    for part in ("status=4xx", "q=u1", "from=7d"):
        assert part in href


def test_repeated_identical_failures_are_flagged_as_retrying(client, console, add_log):
    same = {"status_code": 401, "fingerprint": "f" * 64, "path": "/scim/v2/Users"}
    first = add_log(minutes_ago=8, **same)
    second = add_log(minutes_ago=4, **same)
    third = add_log(minutes_ago=1, **same)
    lone = add_log(minutes_ago=2, status_code=404, fingerprint="a" * 64)
    stale = add_log(minutes_ago=60, status_code=404, fingerprint="b" * 64)
    after_gap = add_log(minutes_ago=45, status_code=404, fingerprint="b" * 64)
    console.login()
    html = client.get("/monitor/scim-logs").get_data(as_text=True)
    flagged = {
        int(i)
        for i, body in re.findall(r'data-log-id="(\d+)">(.*?)</tr>', html, re.S)
        if "retrying" in body
    }
    assert flagged == {second, third}
    assert "retrying ×3" in html
    assert not {first, lone, stale, after_gap} & flagged


def test_the_activity_chart_is_inline_svg_for_the_filtered_range(client, console, rows):
    console.login()
    html = client.get("/monitor/scim-logs?from=24h").get_data(as_text=True)
    assert "<svg" in html and "requests per hour" in html
    assert html.count("<rect ") >= 3  # a, b / f, c / g in different hours
    assert "1 5xx" in html


def test_a_detail_page_shows_the_whole_request_escaped(client, console, add_log):
    entry = add_log(
        method="PATCH",
        path="/scim/v2/Groups/g1",
        resource_type="Group",
        resource_id="g1",
        resource_label="Engineering",
        operation="membership",
        request_headers={"User-Agent": "Okta SCIM Client 1.0.0", "Accept": "application/scim+json"},
        request_body='{"Operations":[{"op":"Add","path":"members","value":[{"value":"u1"}]}]}',
        response_body='{"id":"g1","displayName":"<script>alert(1)</script>"}',
        changes=[
            {
                "attribute": "members",
                "added": [{"value": "u1", "display": "alice"}],
                "removed": [{"value": "u2", "display": "bob"}],
            },
            {"attribute": "displayName", "before": "Eng", "after": "Engineering"},
        ],
        notes=['op "Add" read as "add"'],
        warnings=["1 unknown member id(s) skipped: nope"],
    )
    older = add_log(
        minutes_ago=30, path="/scim/v2/Groups/g1", resource_type="Group", resource_id="g1"
    )
    add_log(minutes_ago=20, path="/scim/v2/Users/g1", resource_type="User", resource_id="g1")
    console.login()
    rv = client.get(f"/monitor/scim-logs/{entry}")
    assert rv.status_code == 200
    html = rv.get_data(as_text=True)
    assert "Engineering: +alice, −bob" in html
    assert "displayName: &#34;Eng&#34; → &#34;Engineering&#34;" in html
    assert "op &#34;Add&#34; read as &#34;add&#34;" in html
    assert "1 unknown member id(s) skipped: nope" in html
    assert "Okta SCIM Client 1.0.0" in html
    assert "\n  &#34;Operations&#34;: [" in html  # pretty-printed
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="/admin/directory/groups/g1"' in html
    assert shown(rv) == [older]  # same resource; the User g1 is another resource


def test_a_user_entry_links_to_the_user_in_the_directory(client, console, add_log):
    entry = add_log(path="/scim/v2/Users/u-1", resource_id="u-1", operation="read")
    console.login()
    html = client.get(f"/monitor/scim-logs/{entry}").get_data(as_text=True)
    assert 'href="/admin/directory/users/u-1"' in html


def test_another_organizations_entry_is_not_found(app, client, console, add_log):
    with app.app_context():
        other = create_organization("acme", "Acme")
        db.session.commit()
        other_id = other.id
    theirs = add_log(organization_id=other_id)
    console.login()
    assert client.get(f"/monitor/scim-logs/{theirs}").status_code == 404
    assert client.get("/monitor/scim-logs/999999").status_code == 404


def test_a_userName_with_markup_is_shown_as_text_in_the_list(client, console, add_log):
    add_log(method="POST", resource_label='<img src=x onerror="alert(1)">')
    console.login()
    html = client.get("/monitor/scim-logs").get_data(as_text=True)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_requests_made_through_scim_show_up_on_the_page(client, console, token):
    client.get("/scim/v2/Schemas", headers={"Authorization": f"Bearer {token}"})
    client.get("/scim/v2/Nowhere", headers={"Authorization": f"Bearer {token}"})
    console.login()
    rv = client.get("/monitor/scim-logs?status=4xx")
    assert match_count(rv) == 1
    assert "/scim/v2/Nowhere" in rv.get_data(as_text=True)


def test_past_the_count_limit_the_page_says_more_than_the_limit(client, console, rows, monkeypatch):
    from willow.monitor import queries

    monkeypatch.setattr(queries, "COUNT_LIMIT", 5)
    console.login()
    html = client.get("/monitor/scim-logs").get_data(as_text=True)
    assert "<strong>more than 5</strong> matching requests" in html
    assert shown(client.get("/monitor/scim-logs")) == [rows[n] for n in "abfcgde"]
    exact = client.get("/monitor/scim-logs?method=POST").get_data(as_text=True)
    assert re.search(r'id="match-count"><strong>\d</strong> matching request', exact)
