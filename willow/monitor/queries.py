"""Reading the request log: one filter shared by the page, the chart and the CSV export.

Every query is scoped to one organization and compiles to SQL: nothing is filtered in
Python. Pages use keyset pagination on ``(created_at, id)`` (no OFFSET, so page 1000
costs what page 1 costs), walking ``ix_scim_logs_org_time_filters``, which also holds
the filter columns: counts and filtered pages are index-only scans.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Row
from sqlalchemy import Select
from sqlalchemy import Text
from sqlalchemy import and_
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from ..extensions import db
from ..models import ScimRequestLog
from .sqltime import hour_bucket
from .sqltime import iso_utc
from .sqltime import shifted

Log = ScimRequestLog
PAGE_SIZE = 50
#: Identical failures closer together than this are an IdP retrying.
RETRY_WINDOW = timedelta(minutes=10)

#: The columns of a table row (the bodies stay in the database until a detail is opened).
LIST_COLUMNS = (
    Log.id,
    Log.created_at,
    Log.method,
    Log.path,
    Log.query_string,
    Log.resource_type,
    Log.resource_id,
    Log.resource_label,
    Log.operation,
    Log.status_code,
    Log.duration_ms,
    Log.token_name,
    Log.error_detail,
    Log.fingerprint,
)


@dataclass(frozen=True)
class LogFilter:
    organization_id: int
    #: Inclusive lower and exclusive upper bound, naive UTC.
    start: datetime | None = None
    end: datetime | None = None
    method: str | None = None
    resource_type: str | None = None
    #: 2, 4 or 5 for 2xx, 4xx, 5xx.
    status_class: int | None = None
    #: Free text: userName/displayName prefix, resource id, path prefix (matches_text).
    q: str | None = None


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: the ``(created_at, id)`` of a row."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.created_at.isoformat(timespec='microseconds')}_{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        moment, _, ident = text.partition("_")
        return cls(datetime.fromisoformat(moment).replace(tzinfo=None), int(ident))


@dataclass
class Page:
    rows: list[Row]
    #: Cursors for the "Newer" and "Older" links; None when there is nothing that way.
    newer: Cursor | None
    older: Cursor | None


def conditions(f: LogFilter) -> list[ColumnElement[bool]]:
    rv: list[ColumnElement[bool]] = [Log.organization_id == f.organization_id]
    if f.start is not None:
        rv.append(Log.created_at >= f.start)
    if f.end is not None:
        rv.append(Log.created_at < f.end)
    if f.method:
        rv.append(Log.method == f.method)
    if f.resource_type:
        rv.append(Log.resource_type == f.resource_type)
    if f.status_class:
        # A range, not status_code / 100: comparisons keep the column usable by an index.
        rv.append(Log.status_code.between(f.status_class * 100, f.status_class * 100 + 99))
    if f.q:
        rv.append(matches_text(f.q))
    return rv


#: Above every character: ``key < prefix + _TOP`` bounds the keys that start with prefix.
_TOP = "\U0010ffff"
#: Where SCIM paths start; ``q=/Users/…`` means ``/scim/v2/Users/…``.
_SCIM_BASE = "/scim/v2"


def matches_text(text: str) -> ColumnElement[bool]:
    """The free-text search ``q``, answered from indexes (no scan of the date range):

    * userName/displayName starting with ``text``, ignoring case (``resource_label_key``,
      lower-cased at capture, ``ix_scim_logs_org_label_key``);
    * the resource id equal to ``text`` (``ix_scim_logs_org_resource``);
    * when ``text`` starts with ``/``: the path starting with it, or with it after
      ``/scim/v2`` (``ix_scim_logs_org_path``).

    Prefixes are ranges, ``>= text AND < text + U+10FFFF``: byte order on both databases
    (collation "C" on PostgreSQL), so no LIKE escaping, no collation surprises, and
    generic (prepared) plans still use the index.
    """
    terms = [
        _prefix(Log.resource_label_key, text.lower()),
        and_(Log.resource_id.isnot(None), Log.resource_id == text),
    ]
    if text.startswith("/"):
        terms.append(_prefix(Log.path, text))
        if not text.startswith(_SCIM_BASE + "/"):
            terms.append(_prefix(Log.path, _SCIM_BASE + text))
    return or_(*terms)


def _prefix(column, prefix: str) -> ColumnElement[bool]:
    return and_(column >= prefix, column < prefix + _TOP)


def _newest_first(stmt: Select) -> Select:
    return stmt.order_by(Log.created_at.desc(), Log.id.desc())


def _older_than(c: Cursor) -> ColumnElement[bool]:
    # Spelled out rather than a row-value comparison: the first term is an index range
    # on both databases, the second only sorts out rows that share the cursor's time.
    return and_(Log.created_at <= c.created_at, or_(Log.created_at < c.created_at, Log.id < c.id))


def _newer_than(c: Cursor) -> ColumnElement[bool]:
    return and_(Log.created_at >= c.created_at, or_(Log.created_at > c.created_at, Log.id > c.id))


def count(f: LogFilter) -> int:
    return db.session.scalar(select(func.count()).select_from(Log).where(*conditions(f))) or 0


def count_with_page(f: LogFilter, first_page: Page | None = None) -> int:
    """The number of matching rows. A first page that holds them all already says how
    many there are: a rare match (the costly case, it scans everything) is counted once."""
    if first_page is not None and first_page.older is None:
        return len(first_page.rows)
    return count(f)


def page(
    f: LogFilter,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """One page, newest first: the first page, the page older than ``before``, or the page
    newer than ``after``. One extra row is read to know whether more exist the way the
    page was walked; the other way costs one indexed probe."""
    where = conditions(f)
    if after is not None:
        stmt = (
            select(*LIST_COLUMNS)
            .where(*where, _newer_than(after))
            .order_by(Log.created_at.asc(), Log.id.asc())
        )
    else:
        stmt = _newest_first(select(*LIST_COLUMNS).where(*where))
        if before is not None:
            stmt = stmt.where(_older_than(before))
    rows = list(db.session.execute(stmt.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    if after is not None:
        rows.reverse()
    if not rows:
        # Past the end (rows pruned, an old link): the template offers the first page.
        return Page(rows, None, None)
    first, last = _cursor(rows[0]), _cursor(rows[-1])
    if after is not None:
        newer = first if more else None
        older = last if _has_rows(where, _older_than(last)) else None
    else:
        older = last if more else None
        newer = first if before is not None and _has_rows(where, _newer_than(first)) else None
    return Page(rows, newer, older)


def _cursor(row: Row) -> Cursor:
    return Cursor(row.created_at, row.id)


def _has_rows(where: list, extra: ColumnElement[bool]) -> bool:
    return db.session.scalar(select(Log.id).where(*where, extra).limit(1)) is not None


def retry_counts(organization_id: int, rows: list[Row]) -> dict[int, int]:
    """For the failing rows of a page: how many identical failures (same fingerprint) came
    within RETRY_WINDOW before each. One SQL self-join over the page's rows only, using
    ``ix_scim_logs_org_fingerprint``."""
    ids = [r.id for r in rows if r.fingerprint]
    if not ids:
        return {}
    earlier = aliased(Log)
    stmt = (
        select(Log.id, func.count(earlier.id))
        .join(
            earlier,
            and_(
                earlier.organization_id == Log.organization_id,
                # Spelled out so that both planners pick the partial fingerprint index.
                earlier.fingerprint.isnot(None),
                earlier.fingerprint == Log.fingerprint,
                earlier.created_at >= shifted(Log.created_at, -int(RETRY_WINDOW.total_seconds())),
                earlier.created_at <= Log.created_at,
                earlier.id != Log.id,
                or_(earlier.created_at < Log.created_at, earlier.id < Log.id),
            ),
        )
        .where(Log.organization_id == organization_id, Log.id.in_(ids))
        .group_by(Log.id)
    )
    return {ident: n for ident, n in db.session.execute(stmt)}


@dataclass(frozen=True)
class Activity:
    start: datetime
    end: datetime
    #: (bucket start as 'YYYY-MM-DD HH:00', status class 1-5, requests)
    counts: list[tuple[str, int, int]]
    #: True when the filtered range was longer than MAX_CHART_SPAN.
    clamped: bool = False


#: The chart shows at most this much of the filtered range (its most recent part): an
#: hourly chart of months is unreadable, and the GROUP BY cost grows with the span.
MAX_CHART_SPAN = timedelta(days=7)


def activity_range(f: LogFilter, now: datetime) -> tuple[datetime, datetime]:
    """The chart's time range: the filter's (up to now, at most MAX_CHART_SPAN of it), or
    the 24 hours up to its end."""
    end = min(f.end or now, now)
    start = f.start or end - timedelta(hours=24)
    start = max(start, end - MAX_CHART_SPAN)
    return min(start, end), end


def activity(f: LogFilter, now: datetime) -> Activity:
    """Requests per hour by status class over ``activity_range``: one GROUP BY in SQL,
    answered from the covering time index."""
    start, end = activity_range(f, now)
    bucket = hour_bucket(Log.created_at)
    status_class = Log.status_code // 100
    stmt = (
        select(bucket, status_class, func.count())
        .where(*conditions(replace(f, start=start, end=end)))
        .group_by(bucket, status_class)
    )
    counts = [(_hour_text(b), int(c), int(n)) for b, c, n in db.session.execute(stmt)]
    clamped = f.start is not None and start > f.start
    return Activity(start, end, sorted(counts), clamped)


def _hour_text(bucket: str | datetime) -> str:
    # SQLite answers text, PostgreSQL a timestamp (see sqltime.hour_bucket).
    return bucket if isinstance(bucket, str) else bucket.strftime("%Y-%m-%d %H:00")


def get_entry(organization_id: int, entry_id: int) -> ScimRequestLog | None:
    return db.session.scalars(
        select(Log).where(Log.id == entry_id, Log.organization_id == organization_id)
    ).first()


def related(entry: ScimRequestLog, limit: int = 20) -> list[Row]:
    """Other requests that touched the same resource, newest first."""
    if not entry.resource_id:
        return []
    stmt = _newest_first(
        select(*LIST_COLUMNS).where(
            Log.organization_id == entry.organization_id,
            Log.resource_id.isnot(None),  # the partial index's predicate
            Log.resource_id == entry.resource_id,
            Log.id != entry.id,
        )
    ).limit(limit)
    if entry.resource_type:
        stmt = stmt.where(Log.resource_type == entry.resource_type)
    return list(db.session.execute(stmt))


def _json_text(column) -> ColumnElement:
    # Stored JSON as text, as it goes into the CSV: no parse and re-dump per row. An empty
    # value is stored as JSON null.
    return func.nullif(cast(column, Text), "null")


#: The columns of the CSV export, in order; computed in SQL where Python would be slow.
EXPORT_COLUMNS = (
    iso_utc(Log.created_at),
    Log.request_id,
    Log.method,
    Log.path,
    Log.query_string,
    Log.status_code,
    Log.resource_type,
    Log.resource_id,
    Log.resource_label,
    Log.operation,
    Log.duration_ms,
    Log.token_id,
    Log.token_name,
    Log.client_ip,
    Log.user_agent,
    Log.error_detail,
    _json_text(Log.changes),
    _json_text(Log.notes),
    _json_text(Log.warnings),
    Log.request_body,
    Log.response_body,
)


def export_rows(f: LogFilter, batch_size: int = 1000) -> Iterator[Row]:
    """Every matching row, newest first, fetched ``batch_size`` at a time (a server-side
    cursor on PostgreSQL), so memory stays flat however many rows match."""
    stmt = _newest_first(select(*EXPORT_COLUMNS).where(*conditions(f))).execution_options(
        yield_per=batch_size
    )
    yield from db.session.execute(stmt)
