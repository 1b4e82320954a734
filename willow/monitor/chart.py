"""The activity chart: requests per hour by status class, as SVG geometry.

Pure: takes the GROUP BY result of ``queries.activity`` and lays out stacked bars; the
template draws them. Every bucket of the range gets a bar, so quiet hours show as gaps
instead of disappearing.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

from .queries import Activity

#: Drawn across the full-width log page, low enough to leave the screen to the table.
WIDTH = 1200
HEIGHT = 90
LEFT = 44
BOTTOM = 22
TOP = 8
#: Stacking order, bottom to top.
CLASSES = ("2xx", "3xx", "4xx", "5xx")
MAX_LABELS = 8


@dataclass
class Segment:
    status: str
    count: int
    y: float
    height: float


@dataclass
class Bar:
    start: datetime
    x: float
    width: float
    total: int
    title: str
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Chart:
    width: int
    height: int
    plot_left: int
    plot_bottom: float
    start: datetime
    end: datetime
    total: int
    max_total: int
    bars: list[Bar]
    #: (x, text) under the axis, and (y, text) beside it.
    x_labels: list[tuple[float, str]]
    y_labels: list[tuple[float, str]]
    totals: dict[str, int]
    #: Only the most recent part of the filtered range is drawn.
    clamped: bool = False


def bucket_starts(start: datetime, end: datetime) -> list[datetime]:
    """The start of every hour that overlaps ``[start, end)``."""
    if start >= end:
        return []
    moment = start.replace(minute=0, second=0, microsecond=0)
    rv = []
    while moment < end:
        rv.append(moment)
        moment += timedelta(hours=1)
    return rv


def build_chart(activity: Activity) -> Chart:
    """Stacked bars for ``activity``, scaled so the busiest bucket fills the plot."""
    starts = bucket_starts(activity.start, activity.end)
    fmt = "%Y-%m-%d %H:00"
    by_bucket: dict[str, dict[str, int]] = {}
    totals = dict.fromkeys(CLASSES, 0)
    for bucket, status_class, n in activity.counts:
        name = f"{status_class}xx" if f"{status_class}xx" in CLASSES else "other"
        by_bucket.setdefault(bucket, {}).setdefault(name, 0)
        by_bucket[bucket][name] += n
        totals[name] = totals.get(name, 0) + n

    plot_width = WIDTH - LEFT
    plot_height = HEIGHT - BOTTOM - TOP
    plot_bottom = float(HEIGHT - BOTTOM)
    max_total = max((sum(c.values()) for c in by_bucket.values()), default=0)
    slot = plot_width / max(len(starts), 1)
    gap = 1 if slot > 3 else 0
    bars: list[Bar] = []
    for i, moment in enumerate(starts):
        counts = by_bucket.get(moment.strftime(fmt), {})
        total = sum(counts.values())
        bar = Bar(
            start=moment,
            x=round(LEFT + i * slot, 2),
            width=round(max(slot - gap, 0.5), 2),
            total=total,
            title=_title(moment, counts, total),
        )
        y = plot_bottom
        for name in (*CLASSES, "other"):
            n = counts.get(name, 0)
            if not n:
                continue
            height = n / max_total * plot_height
            y -= height
            bar.segments.append(Segment(name, n, round(y, 2), round(height, 2)))
        bars.append(bar)

    every = max(1, -(-len(starts) // MAX_LABELS))
    span = activity.end - activity.start
    label_fmt = "%H:00" if span <= timedelta(hours=24) else "%m-%d %H:00"
    x_labels = [(round(b.x + b.width / 2, 2), b.start.strftime(label_fmt)) for b in bars[::every]]
    y_labels = []
    if max_total:
        y_labels = [(plot_bottom, "0"), (float(TOP), str(max_total))]
        if max_total >= 4:
            # A count is whole: the middle tick is the whole number at or below half, at
            # its own height (17 gets 8, a little below the middle), never "8.5".
            middle = max_total // 2
            y = plot_bottom - middle / max_total * plot_height
            y_labels.insert(1, (round(y, 2), str(middle)))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_bottom=plot_bottom,
        start=activity.start,
        end=activity.end,
        total=sum(totals.values()),
        max_total=max_total,
        bars=bars,
        x_labels=x_labels,
        y_labels=y_labels,
        totals={k: v for k, v in totals.items() if v},
        clamped=activity.clamped,
    )


def _title(moment: datetime, counts: dict[str, int], total: int) -> str:
    when = moment.strftime("%Y-%m-%d %H:00 UTC")
    if not total:
        return f"{when}: no requests"
    parts = ", ".join(f"{counts[c]} {c}" for c in (*CLASSES, "other") if counts.get(c))
    return f"{when}: {total} request{'s' if total != 1 else ''} ({parts})"
