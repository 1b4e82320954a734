"""Pure pieces of the console: date parsing, the chart layout, changes in words."""

from __future__ import annotations

from datetime import datetime

import pytest

from willow.monitor.chart import bucket_starts
from willow.monitor.chart import build_chart
from willow.monitor.forms import MomentError
from willow.monitor.forms import parse_moment
from willow.monitor.present import describe_change
from willow.monitor.present import pretty_json
from willow.monitor.present import status_class
from willow.monitor.queries import Activity
from willow.monitor.queries import Cursor

NOW = datetime(2026, 1, 31, 14, 30)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("1h", False, datetime(2026, 1, 31, 13, 30)),
        ("24h", False, datetime(2026, 1, 30, 14, 30)),
        ("7d", False, datetime(2026, 1, 24, 14, 30)),
        ("2026-01-15", False, datetime(2026, 1, 15)),
        ("2026-01-15", True, datetime(2026, 1, 16)),
        ("2026-01-15T09:05", False, datetime(2026, 1, 15, 9, 5)),
        ("2026-01-15T09:05", True, datetime(2026, 1, 15, 9, 5)),
        ("2026-01-15 09:05:07", False, datetime(2026, 1, 15, 9, 5, 7)),
        ("2026-01-15T09:05:07Z", False, datetime(2026, 1, 15, 9, 5, 7)),
        ("2026-01-15 09:05 UTC", False, datetime(2026, 1, 15, 9, 5)),  # as the table shows it
        ("2026-01-15 utc", True, datetime(2026, 1, 16)),
        (" 2026-01-15 ", False, datetime(2026, 1, 15)),
    ],
)
def test_from_and_to_accept_presets_dates_and_date_times(text, end, expected):
    assert parse_moment(text, end=end, now=NOW) == expected


@pytest.mark.parametrize(
    "text", ["yesterday", "2026-13-01", "2026-02-30", "15/01/2026", "2h", "2026-01-15T25:00"]
)
def test_anything_else_is_refused(text):
    with pytest.raises(MomentError):
        parse_moment(text, end=False, now=NOW)


def test_cursors_survive_a_round_trip_through_the_url():
    cursor = Cursor(datetime(2026, 1, 31, 14, 0, 0, 1234), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(ValueError):
        Cursor.decode("garbage")


def test_the_chart_has_a_bar_per_hour_stacked_by_status_class():
    activity = Activity(
        start=datetime(2026, 1, 31, 10, 15),
        end=datetime(2026, 1, 31, 14, 15),
        counts=[
            ("2026-01-31 10:00", 2, 6),
            ("2026-01-31 10:00", 4, 2),
            ("2026-01-31 12:00", 5, 1),
            ("2026-01-31 14:00", 2, 4),
        ],
    )
    chart = build_chart(activity)
    assert [b.start.hour for b in chart.bars] == [10, 11, 12, 13, 14]
    assert [b.total for b in chart.bars] == [8, 0, 1, 0, 4]
    assert chart.total == 13 and chart.max_total == 8
    assert chart.totals == {"2xx": 10, "4xx": 2, "5xx": 1}
    tallest = chart.bars[0]
    assert [s.status for s in tallest.segments] == ["2xx", "4xx"]
    assert tallest.segments[-1].y == pytest.approx(8)  # the busiest bar reaches the top
    assert tallest.segments[0].y + tallest.segments[0].height == pytest.approx(chart.plot_bottom)
    assert tallest.title == "2026-01-31 10:00 UTC: 8 requests (6 2xx, 2 4xx)"
    assert chart.bars[1].title == "2026-01-31 11:00 UTC: no requests"


def test_an_empty_range_draws_no_bars_and_no_scale():
    chart = build_chart(Activity(NOW, NOW, []))
    assert chart.total == 0 and chart.y_labels == [] and chart.bars == []


@pytest.mark.parametrize(("busiest", "middle"), [(33, "16"), (4, "2"), (17, "8"), (1000, "500")])
def test_the_chart_scale_has_whole_numbers_placed_at_their_height(busiest, middle):
    """A request count is whole: an odd busiest hour gets no "16.5" tick (issue #23)."""
    chart = build_chart(Activity(NOW.replace(minute=0), NOW, [("2026-01-31 14:00", 2, busiest)]))
    texts = [text for _y, text in chart.y_labels]
    assert texts == ["0", middle, str(busiest)]
    (bottom, _), (y, _), (top, _) = chart.y_labels
    assert (bottom - y) / (bottom - top) == pytest.approx(int(middle) / busiest, abs=0.01)


def test_every_hour_that_overlaps_the_range_gets_a_bucket():
    starts = bucket_starts(datetime(2026, 1, 1, 13, 30), datetime(2026, 1, 1, 16, 0))
    assert starts == [datetime(2026, 1, 1, h) for h in (13, 14, 15)]


@pytest.mark.parametrize(
    ("change", "label", "expected"),
    [
        (
            {
                "attribute": "members",
                "added": [{"value": "1", "display": "alice"}],
                "removed": [{"value": "2", "display": "bob"}],
            },
            "Engineering",
            "Engineering: +alice, −bob",
        ),
        (
            {"attribute": "members", "added": [{"value": "u-9"}], "removed": []},
            None,
            "members: +u-9",
        ),
        ({"attribute": "active", "before": True, "after": False}, "alice", "active: true → false"),
        ({"attribute": "title", "before": None, "after": "CTO"}, None, 'title: (none) → "CTO"'),
    ],
)
def test_changes_read_as_words(change, label, expected):
    assert describe_change(change, label) == expected


def test_bodies_are_pretty_printed_when_they_are_json():
    assert pretty_json('{"a":[1]}') == '{\n  "a": [\n    1\n  ]\n}'
    assert pretty_json('{"a": tru…[truncated]') == '{"a": tru…[truncated]'
    assert pretty_json(None) == ""


@pytest.mark.parametrize(
    ("code", "expected"), [(200, "2xx"), (201, "2xx"), (404, "4xx"), (503, "5xx")]
)
def test_status_classes(code, expected):
    assert status_class(code) == expected
