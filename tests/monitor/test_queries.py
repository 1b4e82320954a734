"""Log queries against both databases: keyset order with ties, retries, hourly buckets."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from willow.monitor import queries
from willow.monitor.queries import LogFilter
from willow.storage.extensions import db
from willow.storage.models import ScimRequestLog
from willow.storage.models import utcnow


def walk(f: LogFilter, size: int) -> tuple[list[int], list[int]]:
    """Ids seen paging with "Older" from the first page to the last, and then with
    "Newer" from the last page back to the first (in newest-first order)."""
    seen, cursor = [], None
    while True:
        page = queries.page(f, before=cursor, size=size)
        seen += [r.id for r in page.rows]
        if page.older is None:
            break
        cursor = page.older
    back, cursor = [], page.newer
    while cursor is not None:
        newer = queries.page(f, after=cursor, size=size)
        back = [r.id for r in newer.rows] + back
        cursor = newer.newer
    return seen, back + [r.id for r in page.rows]


def test_keyset_pages_never_skip_or_repeat_rows_that_share_a_timestamp(app, org, add_log):
    moment = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    ids = []
    for i in range(23):
        # Groups of identical created_at values straddle the page boundaries.
        ids.append(add_log(created_at=moment + timedelta(seconds=i // 4)))
    expected = sorted(ids, key=lambda i: (ids.index(i) // 4, i), reverse=True)
    with app.app_context():
        seen, back = walk(LogFilter(organization_id=org.id), size=5)
        assert seen == expected
        # And back up from the last page with "Newer".
        assert back == expected


def test_retry_counts_look_back_ten_minutes_for_the_same_fingerprint(app, org, add_log):
    base = utcnow() - timedelta(hours=1)

    def failure(minute: float, fp: str = "x" * 64) -> int:
        return add_log(created_at=base + timedelta(minutes=minute), status_code=500, fingerprint=fp)

    a = failure(0)
    b = failure(9.9)
    c = failure(19.95)  # 10.05 min after b: a fresh failure, not a retry
    d = failure(20)
    other = failure(20.5, fp="y" * 64)
    ok = add_log(created_at=base + timedelta(minutes=21))
    with app.app_context():
        rows = queries.page(LogFilter(organization_id=org.id)).rows
        assert queries.retry_counts(org.id, rows) == {b: 1, d: 1}
        assert a not in queries.retry_counts(org.id, rows)
        assert {c, other, ok}.isdisjoint(queries.retry_counts(org.id, rows))


def test_activity_counts_requests_per_hour_and_status_class_in_sql(app, org, add_log):
    hour = datetime(2026, 1, 31, 10)
    for minute, status in [(1, 200), (59, 201), (5, 404), (61, 200), (125, 503)]:
        add_log(created_at=hour + timedelta(minutes=minute), status_code=status)
    add_log(created_at=hour + timedelta(minutes=130), status_code=200, method="POST")
    with app.app_context():
        f = LogFilter(
            organization_id=org.id, start=hour, end=hour + timedelta(hours=3), method="GET"
        )
        activity = queries.activity(f, now=hour + timedelta(days=1))
    assert activity.counts == [
        ("2026-01-31 10:00", 2, 2),
        ("2026-01-31 10:00", 4, 1),
        ("2026-01-31 11:00", 2, 1),
        ("2026-01-31 12:00", 5, 1),
    ]
    assert not activity.clamped


def test_the_chart_shows_only_the_last_week_of_a_longer_range(app, org, add_log):
    now = datetime(2026, 3, 1)
    add_log(created_at=now - timedelta(days=30), status_code=200)
    add_log(created_at=now - timedelta(days=2, minutes=30), status_code=404)
    with app.app_context():
        f = LogFilter(organization_id=org.id, start=now - timedelta(days=60))
        activity = queries.activity(f, now=now)
    assert activity.start == now - timedelta(days=7) and activity.clamped
    assert activity.counts == [("2026-02-26 23:00", 4, 1)]


def test_the_chart_defaults_to_the_last_24_hours_and_never_spans_over_a_week():
    now = datetime(2026, 1, 31, 12)
    f = LogFilter(organization_id=1)
    assert queries.activity_range(f, now) == (now - timedelta(hours=24), now)
    f = LogFilter(organization_id=1, start=datetime(2000, 1, 1))
    assert queries.activity_range(f, now) == (now - timedelta(days=7), now)


def test_a_first_page_that_holds_every_match_is_its_own_count(app, org, add_log, monkeypatch):
    for _ in range(3):
        add_log()
    with app.app_context():
        f = LogFilter(organization_id=org.id)
        whole = queries.page(f, size=5)
        partial = queries.page(f, size=2)
        monkeypatch.setattr(queries, "count", lambda f: 99)
        assert queries.count_with_page(f, whole) == 3
        assert queries.count_with_page(f, partial) == 99
        assert queries.count_with_page(f, None) == 99


def test_related_requests_are_those_for_the_same_resource(app, org, add_log):
    first = add_log(minutes_ago=3, resource_type="Group", resource_id="g1")
    second = add_log(minutes_ago=2, resource_type="Group", resource_id="g1")
    add_log(minutes_ago=1, resource_type="User", resource_id="g1")
    add_log(minutes_ago=1, resource_type="Group", resource_id="g2")
    with app.app_context():
        entry = queries.get_entry(org.id, second)
        assert [r.id for r in queries.related(entry)] == [first]


def test_q_matches_label_prefixes_in_any_case_and_script_ids_exactly_and_path_prefixes(
    app, org, add_log
):
    ids = {
        "equipe": add_log(resource_type="Group", resource_label="Équipe Paris"),
        "alice": add_log(resource_id="2819c223", resource_label="Alice@Example.com"),
        "unknown": add_log(path="/scim/v2/Bulk", resource_type=None, status_code=404),
        "percent": add_log(resource_label="100%_sure"),
    }

    def found(text: str) -> set[str]:
        with app.app_context():
            rows = queries.page(LogFilter(organization_id=org.id, q=text)).rows
        return {name for name, ident in ids.items() if ident in {r.id for r in rows}}

    assert found("équipe") == found("ÉQUIPE P") == {"equipe"}
    assert found("alice@example.com") == {"alice"}
    assert found("example") == set()  # a prefix, not a substring
    assert found("2819c223") == {"alice"}
    assert found("2819c") == set()  # ids match exactly
    assert found("/Bulk") == found("/scim/v2/B") == {"unknown"}
    assert found("Bulk") == set()
    assert found("100%_") == {"percent"}  # no LIKE wildcards
    assert found("100%") == {"percent"}
    assert found("100_") == set()


def test_the_search_key_is_the_lower_cased_label_filled_on_insert(app, org, add_log):
    ident = add_log(resource_label="ÀB@Example.COM")
    none = add_log()
    long = add_log(resource_label="İ" * 256)  # lower-cased, two characters each
    with app.app_context():
        keys = dict(
            db.session.execute(
                sa.select(ScimRequestLog.id, ScimRequestLog.resource_label_key).where(
                    ScimRequestLog.id.in_([ident, none, long])
                )
            ).all()
        )
    assert keys == {ident: "àb@example.com", none: None, long: "i̇" * 128}


def test_q_counts_a_row_that_matches_two_ways_once(app, org, add_log):
    both = add_log(resource_id="ab12", resource_label="AB12 team", path="/x")
    label_only = add_log(resource_label="ab12-other", path="/x")
    add_log(resource_id="ab12x", path="/x")
    scim_path = add_log(path="/scim/v2/scx")
    plain_path = add_log(path="/sc-not-scim")
    with app.app_context():
        for text, expected in [("ab12", {both, label_only}), ("/sc", {scim_path, plain_path})]:
            f = LogFilter(organization_id=org.id, q=text)
            assert queries.count(f) == len(expected)
            assert {r.id for r in queries.page(f).rows} == expected


@pytest.mark.parametrize("probe_rows", [3, 5000])
def test_q_pages_walk_every_match_in_order_whichever_way_they_are_read(
    app, org, add_log, monkeypatch, probe_rows
):
    """Dense matches are read by walking the time index (the probe), sparse ones from the
    search indexes; with a window of 3 rows both happen in one walk."""
    monkeypatch.setattr(queries, "PROBE_ROWS", probe_rows)
    base = utcnow() - timedelta(hours=2)
    matches = []
    for i in range(40):
        # Dense at the newest end, sparse further back, ties on created_at included.
        hit = i >= 28 or i % 9 == 0
        ident = add_log(
            created_at=base + timedelta(minutes=i // 2),
            resource_label=f"alice{i}" if hit else f"bob{i}",
            status_code=404 if i % 2 else 200,
        )
        if hit:
            matches.append((base + timedelta(minutes=i // 2), ident, i))
    newest_first = [ident for _, ident, _ in sorted(matches, reverse=True)]
    with app.app_context():
        for f, expected in [
            (LogFilter(organization_id=org.id, q="ALICE"), newest_first),
            (
                LogFilter(organization_id=org.id, q="alice", status_class=4),
                [ident for _, ident, i in sorted(matches, reverse=True) if i % 2],
            ),
        ]:
            assert queries.count(f) == len(expected)
            seen, back = walk(f, size=4)
            assert seen == expected
            assert back == expected


def test_counting_stops_one_past_the_limit_with_and_without_q(app, org, add_log, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_LIMIT", 3)
    for i in range(6):
        add_log(resource_label=f"alice{i}", path="/scim/v2/Users")
    add_log(resource_label="bob", path="/scim/v2/Users")
    with app.app_context():
        assert queries.count(LogFilter(organization_id=org.id)) == 4
        assert queries.count(LogFilter(organization_id=org.id, q="alice")) == 4
        # Every part of q is cut at the limit, so their sum is too.
        assert queries.count(LogFilter(organization_id=org.id, q="/Users")) == 4
        assert queries.count(LogFilter(organization_id=org.id, q="bob")) == 1
