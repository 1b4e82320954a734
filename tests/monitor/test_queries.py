"""Log queries against both databases: keyset order with ties, retries, hourly buckets."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from willow.models import utcnow
from willow.monitor import queries
from willow.monitor.queries import LogFilter


def test_keyset_pages_never_skip_or_repeat_rows_that_share_a_timestamp(app, org, add_log):
    moment = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    ids = []
    for i in range(23):
        # Groups of identical created_at values straddle the page boundaries.
        ids.append(add_log(created_at=moment + timedelta(seconds=i // 4)))
    expected = sorted(ids, key=lambda i: (ids.index(i) // 4, i), reverse=True)
    with app.app_context():
        f = LogFilter(organization_id=org.id)
        seen, cursor = [], None
        while True:
            page = queries.page(f, before=cursor, size=5)
            seen += [r.id for r in page.rows]
            if page.older is None:
                break
            cursor = page.older
        assert seen == expected
        # And back up from the last page with "Newer".
        back, cursor = [], page.newer
        while cursor is not None:
            newer = queries.page(f, after=cursor, size=5)
            back = [r.id for r in newer.rows] + back
            cursor = newer.newer
        assert back + [r.id for r in page.rows] == expected


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
    assert activity.unit == "hour"
    assert sorted(activity.counts) == [
        ("2026-01-31 10:00", 2, 2),
        ("2026-01-31 10:00", 4, 1),
        ("2026-01-31 11:00", 2, 1),
        ("2026-01-31 12:00", 5, 1),
    ]


def test_activity_over_more_than_a_week_is_counted_per_day(app, org, add_log):
    day = datetime(2026, 1, 1)
    for d in (0, 0, 3, 20):
        add_log(created_at=day + timedelta(days=d, hours=5), status_code=200)
    with app.app_context():
        f = LogFilter(organization_id=org.id, start=day, end=day + timedelta(days=30))
        activity = queries.activity(f, now=day + timedelta(days=60))
    assert activity.unit == "day"
    assert sorted(activity.counts) == [
        ("2026-01-01 00:00", 2, 2),
        ("2026-01-04 00:00", 2, 1),
        ("2026-01-21 00:00", 2, 1),
    ]


def test_the_chart_defaults_to_the_last_24_hours_and_never_spans_over_a_year():
    now = datetime(2026, 1, 31, 12)
    f = LogFilter(organization_id=1)
    assert queries.activity_range(f, now) == (now - timedelta(hours=24), now)
    f = LogFilter(organization_id=1, start=datetime(2000, 1, 1))
    assert queries.activity_range(f, now) == (now - queries.MAX_CHART_SPAN, now)


def test_related_requests_are_those_for_the_same_resource(app, org, add_log):
    first = add_log(minutes_ago=3, resource_type="Group", resource_id="g1")
    second = add_log(minutes_ago=2, resource_type="Group", resource_id="g1")
    add_log(minutes_ago=1, resource_type="User", resource_id="g1")
    add_log(minutes_ago=1, resource_type="Group", resource_id="g2")
    with app.app_context():
        entry = queries.get_entry(org.id, second)
        assert [r.id for r in queries.related(entry)] == [first]
