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
from sqlalchemy import literal_column
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from ..membership_history.store import requests_naming
from ..membership_history.store import users_named
from ..numbers import INT64_MAX
from ..numbers import parse_integer
from ..storage.extensions import db
from ..storage.models import ApiToken
from ..storage.models import ScimRequestLog
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
    Log.repeat_count,
    # The Operation column (operation.py) and the marker of a success with warnings.
    Log.changes,
    Log.warnings,
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
    #: The API token the request named (its id).
    token_id: int | None = None
    #: The User-Agent's family (clients.py): okta, jumpcloud, entra or other.
    client: str | None = None
    #: The users ``q`` names (``with_named_users``): their group membership changes match.
    user_ids: tuple[str, ...] = ()


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
        # NotAnInteger and OutOfRange are ValueErrors: the form's "not a valid page link".
        return cls(
            datetime.fromisoformat(moment).replace(tzinfo=None),
            parse_integer(ident, 1, INT64_MAX),
        )


@dataclass
class Page:
    rows: list[Row]
    #: Cursors for the "Newer" and "Older" links; None when there is nothing that way.
    newer: Cursor | None
    older: Cursor | None


def with_named_users(f: LogFilter) -> LogFilter:
    """``f`` with the users its ``q`` names (willow.membership_history): one small
    indexed query, made once per page rather than inside every statement."""
    if not f.q or f.q.startswith("/"):
        return f
    return replace(f, user_ids=users_named(f.organization_id, f.q))


def conditions(f: LogFilter) -> list[ColumnElement[bool]]:
    return _span(f) + _narrowing(f)


def _span(f: LogFilter) -> list[ColumnElement[bool]]:
    """The organization and the date range: the leading columns of the time index."""
    rv: list[ColumnElement[bool]] = [Log.organization_id == f.organization_id]
    if f.start is not None:
        rv.append(Log.created_at >= f.start)
    if f.end is not None:
        rv.append(Log.created_at < f.end)
    return rv


def _narrowing(f: LogFilter, *, near: bool = False) -> list[ColumnElement[bool]]:
    """Every other filter (``near``: only the parts of ``q`` that ``_probe_near`` reads)."""
    rv: list[ColumnElement[bool]] = []
    if f.method:
        rv.append(Log.method == f.method)
    if f.resource_type:
        rv.append(Log.resource_type == f.resource_type)
    if f.status_class:
        # A range, not status_code / 100: comparisons keep the column usable by an index.
        rv.append(Log.status_code.between(f.status_class * 100, f.status_class * 100 + 99))
    if f.token_id is not None:
        rv.append(Log.token_id == f.token_id)
    if f.client:
        rv.append(Log.client_family == f.client)
    if f.q and near:
        rv.append(or_(*(term for term, index in _terms(f) if index not in _FAR)))
    elif f.q:
        rv.append(matches_text(f.q, f.organization_id, f.user_ids))
    return rv


#: Above every character: ``key < prefix + _TOP`` bounds the keys that start with prefix.
_TOP = "\U0010ffff"
#: Where SCIM paths start; ``q=/Users/…`` means ``/scim/v2/Users/…``.
_SCIM_BASE = "/scim/v2"


def matches_text(
    text: str, organization_id: int, user_ids: tuple[str, ...] = ()
) -> ColumnElement[bool]:
    """The free-text search ``q``, answered from indexes (no scan of the date range):

    * when ``text`` starts with ``/``: the path starting with it, as written or after
      ``/scim/v2`` (``ix_scim_logs_org_path``);
    * otherwise: userName/displayName starting with ``text``, ignoring case
      (``resource_label_key``, lower-cased at capture, ``ix_scim_logs_org_label_key``),
      the resource id equal to ``text`` (``ix_scim_logs_org_resource``), or a group
      request that added or removed one of ``user_ids``, the users ``text`` names
      (``with_named_users``; ``ix_scim_logs_org_group_request``): a user's search finds
      her whole story.

    Prefixes are ranges, ``>= text AND < text + U+10FFFF``: byte order on both databases
    (collation "C" on PostgreSQL), so no LIKE escaping, no collation surprises, and
    generic (prepared) plans still use the index.
    """
    return or_(*(term for term, _index in text_terms(text, organization_id, user_ids)))


def _terms(f: LogFilter) -> list[tuple[ColumnElement[bool], str]]:
    return text_terms(f.q or "", f.organization_id, f.user_ids)


#: Parts of ``q`` always read from their own index: in ``_probe_near``'s OR, PostgreSQL
#: misjudged the membership part (an IN over a subquery) and scanned the whole log.
_FAR = ("ix_scim_logs_org_group_request",)


def text_terms(
    text: str, organization_id: int, user_ids: tuple[str, ...] = ()
) -> list[tuple[ColumnElement[bool], str]]:
    """The parts of ``matches_text``, each with the index that answers it, made mutually
    exclusive: the matches are the union of the parts' matches, and their number the sum
    of the parts' counts. Each part is read from its own index alone, where one OR would
    read (or sort) every matching row."""
    if text.startswith("/"):
        terms = [(_prefix(Log.path, text), "ix_scim_logs_org_path")]
        under_base = _SCIM_BASE + text
        # "/sc" already covers "/scim/v2/sc…"; otherwise the two ranges cannot overlap.
        if not under_base.startswith(text):
            terms.append((_prefix(Log.path, under_base), "ix_scim_logs_org_path"))
        return terms
    label = _prefix(Log.resource_label_key, text.lower())
    resource = and_(
        Log.resource_id.isnot(None),
        Log.resource_id == text,
        or_(Log.resource_label_key.is_(None), not_(label)),
    )
    rv = [(label, "ix_scim_logs_org_label_key"), (resource, "ix_scim_logs_org_resource")]
    if user_ids:
        membership = and_(
            # Spelled as the partial index's predicate, a literal, so SQLite can use it.
            Log.resource_type == literal_column("'Group'"),
            Log.request_id.in_(requests_naming(organization_id, user_ids)),
            or_(Log.resource_label_key.is_(None), not_(label)),
            or_(Log.resource_id.is_(None), Log.resource_id != text),
        )
        rv.append((membership, "ix_scim_logs_org_group_request"))
    return rv


def _in_index(stmt: Select, index: str) -> Select:
    """Name the index for SQLite, whose planner cannot tell a narrow prefix from a broad
    one (no range statistics) and would otherwise walk the whole time index or sort every
    match. PostgreSQL estimates ranges from its statistics and chooses by itself."""
    return stmt.with_hint(Log, f"INDEXED BY {index}", "sqlite")


def _prefix(column, prefix: str) -> ColumnElement[bool]:
    return and_(column >= prefix, column < prefix + _TOP)


def _older_than(c: Cursor) -> ColumnElement[bool]:
    # Spelled out rather than a row-value comparison: the first term is an index range
    # on both databases, the second only sorts out rows that share the cursor's time.
    return and_(Log.created_at <= c.created_at, or_(Log.created_at < c.created_at, Log.id < c.id))


def _newer_than(c: Cursor) -> ColumnElement[bool]:
    return and_(Log.created_at >= c.created_at, or_(Log.created_at > c.created_at, Log.id > c.id))


#: Counting stops past this many matches: an exact count reads every matching index entry
#: at each page view (a second or more at ten million rows), and "more than 10,000" tells
#: an admin what "2,413,877" would. The pages themselves are keyset reads, not offsets.
COUNT_LIMIT = 10_000


def count(f: LogFilter) -> int:
    """The number of matching rows, counted in the index that answers the filter (see
    text_terms for ``q``), up to ``COUNT_LIMIT + 1``: a larger result means "more than
    COUNT_LIMIT"."""
    limit = COUNT_LIMIT + 1
    if not f.q:
        return db.session.scalar(_counted(_matches().where(*conditions(f)), limit)) or 0
    base = conditions(replace(f, q=None))
    parts = [
        _counted(_in_index(_matches().where(*base, term), index), limit).scalar_subquery()
        for term, index in _terms(f)
    ]
    return min(db.session.scalar(select(sum(parts[1:], parts[0]))) or 0, limit)


def _matches() -> Select:
    # A constant, not a column: the count reads index entries only.
    return select(literal_column("1").label("one")).select_from(Log)


def _counted(stmt: Select, limit: int) -> Select:
    """``count(*)`` of the first ``limit`` rows of ``stmt``."""
    return select(func.count()).select_from(stmt.limit(limit).subquery())


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
    page was walked; the other way costs a look for one row."""
    ascending = after is not None
    if after is not None:
        bounds = [_newer_than(after)]
    else:
        bounds = [_older_than(before)] if before is not None else []
    rows = _rows(f, bounds, ascending, size + 1)
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
        older = last if _rows(f, [_older_than(last)], False, 1) else None
    else:
        older = last if more else None
        newer = first if before is not None and _rows(f, [_newer_than(first)], True, 1) else None
    return Page(rows, newer, older)


def _rows(f: LogFilter, bounds: list, ascending: bool, limit: int) -> list[Row]:
    """The first ``limit`` matching rows past ``bounds``, in time order."""
    if f.q:
        rows = _probe_near(f, bounds, ascending, limit)
        if rows is None:
            return _text_page(f, bounds, ascending, limit)
        far = [(term, index) for term, index in _terms(f) if index in _FAR]
        if not far:
            return rows
        # The probe's page and the first rows of each far part (the parts exclude each
        # other): the page is the first ``limit`` of them all.
        rows += _text_page(f, bounds, ascending, limit, far)
        rows.sort(key=lambda r: (r.created_at, r.id), reverse=not ascending)
        return rows[:limit]
    stmt = select(*LIST_COLUMNS).where(*conditions(f), *bounds)
    return list(db.session.execute(_in_time_order(stmt, Log, ascending).limit(limit)))


#: Rows next to the page's position that ``_probe_near`` looks through for ``q``.
PROBE_ROWS = 5000


def _probe_near(f: LogFilter, bounds: list, ascending: bool, limit: int) -> list[Row] | None:
    """The page of a ``q`` that matches many rows, read by walking the time index.

    For ``q`` the planner has two plans: the label/path index (right when few rows match,
    but they must all be sorted by time) or the time index, filtering as it walks (right
    when many match). SQLite cannot tell which from its statistics and sorts, which costs
    ~150 ms for "user" on a million rows. So look through the PROBE_ROWS rows next to the
    page's position first: if ``limit`` of them match, they are the page (any other match
    is further away); if the date range has no more rows than that, the page is whatever
    matched. Otherwise (None) the index plan is the right one.
    """
    # The window is bounded by the organization and dates only: with the other filters in
    # it too, a rare one (PUT and 4xx) would walk the whole index to fill it. The rows are
    # then read by id from the window (no other index can start with the organization).
    window = (
        _in_time_order(select(Log.id, Log.created_at).where(*_span(f), *bounds), Log, ascending)
        .limit(PROBE_ROWS)
        .subquery()
    )
    candidates = select(func.count()).select_from(window)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = _looked_up_one_by_one(window, f)
    else:
        stmt = (
            select(*LIST_COLUMNS)
            .select_from(window.join(Log, Log.id == window.c.id))
            .where(*_narrowing(f, near=True))
        )
    rows = list(db.session.execute(_in_time_order(stmt, window.c, ascending).limit(limit)))
    if len(rows) == limit or db.session.scalar(candidates) < PROBE_ROWS:
        return rows
    return None


def _looked_up_one_by_one(window, f: LogFilter) -> Select:
    """The window's rows that match, each read by its ``(id, created_at)`` in a LATERAL
    subquery, in the window's order. On the partitioned log (willow/partitions) a plain
    join let the planner merge-join the window with every partition's rows in time order,
    filtering as it went, which read the whole log when few rows matched; the lateral
    look-up reads one partition's primary key per window row, as the join by id does on
    one table."""
    match = (
        select(*LIST_COLUMNS)
        .where(
            Log.id == window.c.id,
            Log.created_at == window.c.created_at,
            *_narrowing(f, near=True),
        )
        # One row (the primary key): the LIMIT also keeps the planner from flattening the
        # subquery back into the join.
        .limit(1)
        .lateral()
    )
    return select(*match.c).select_from(window.join(match, true()))


def _text_page(
    f: LogFilter, bounds: list, ascending: bool, limit: int, terms: list | None = None
) -> list[Row]:
    """The page of a ``q`` that matches few rows near the page's position: the first
    ``limit`` rows of each part of the search (text_terms, or ``terms``), each from its
    own index, then the first ``limit`` of them all."""
    base = conditions(replace(f, q=None))
    parts = [
        _in_time_order(
            _in_index(select(*LIST_COLUMNS).where(*base, *bounds, term), index), Log, ascending
        )
        .limit(limit)
        .subquery()
        for term, index in (terms if terms is not None else _terms(f))
    ]
    matches = union_all(*(select(part) for part in parts)).subquery()
    stmt = _in_time_order(select(matches), matches.c, ascending).limit(limit)
    return list(db.session.execute(stmt))


def _in_time_order(stmt: Select, columns, ascending: bool) -> Select:
    """Newest first (or oldest first, walking a page towards newer entries)."""
    if ascending:
        return stmt.order_by(columns.created_at.asc(), columns.id.asc())
    return stmt.order_by(columns.created_at.desc(), columns.id.desc())


def _cursor(row: Row) -> Cursor:
    return Cursor(row.created_at, row.id)


def retry_counts(organization_id: int, rows: list[Row]) -> dict[int, int]:
    """For the failing rows of a page: how many identical failures (same fingerprint) came
    within RETRY_WINDOW before each. One SQL self-join over the page's rows only, using
    ``ix_scim_logs_org_fingerprint``."""
    failing = [r for r in rows if r.fingerprint]
    if not failing:
        return {}
    ids = [r.id for r in failing]
    # The page's time span too: on PostgreSQL it confines the look-up by id to the
    # partitions of those days (willow/partitions).
    since = min(r.created_at for r in failing)
    until = max(r.created_at for r in failing)
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
        .where(
            Log.organization_id == organization_id,
            Log.id.in_(ids),
            Log.created_at.between(since, until),
        )
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


def token_choices(organization_id: int) -> list[tuple[int, str]]:
    """The organization's tokens for the token filter, ``(id, name)`` by name: revoked
    ones too, since their requests stay in the log."""
    stmt = (
        select(ApiToken.id, ApiToken.name, ApiToken.revoked_at)
        .where(ApiToken.organization_id == organization_id)
        .order_by(ApiToken.name, ApiToken.id)
    )
    return [
        (ident, f"{name} (revoked)" if revoked_at is not None else name)
        for ident, name, revoked_at in db.session.execute(stmt)
    ]


def get_entry(organization_id: int, entry_id: int) -> ScimRequestLog | None:
    return db.session.scalars(
        select(Log).where(Log.id == entry_id, Log.organization_id == organization_id)
    ).first()


def neighbours(f: LogFilter, entry: ScimRequestLog) -> tuple[int | None, int | None]:
    """The ids of the entries just newer and just older than ``entry`` in the list that
    ``f`` filters (for previous/next on the entry's page): one keyset row each way."""
    at = Cursor(entry.created_at, entry.id)
    newer = _rows(f, [_newer_than(at)], True, 1)
    older = _rows(f, [_older_than(at)], False, 1)
    return (newer[0].id if newer else None), (older[0].id if older else None)


#: Most operations listed on a Bulk request's entry: RFC 7644 §3.7 caps a request at
#: ``maxOperations`` (1,000), and a broken cycle adds one PATCH per group.
BULK_OPERATIONS_SHOWN = 2000


def bulk_operations(entry: ScimRequestLog) -> list[Row]:
    """The rows of a /Bulk request's operations, in the order they ran (``entry`` is the
    Bulk request's row); empty for any other row."""
    if entry.resource_type != "Bulk" or not entry.bulk_request_id:
        return []
    stmt = _in_time_order(
        select(*LIST_COLUMNS).where(
            Log.organization_id == entry.organization_id,
            Log.bulk_request_id.isnot(None),  # the partial index's predicate
            Log.bulk_request_id == entry.bulk_request_id,
            Log.id != entry.id,
        ),
        Log,
        ascending=True,
    ).limit(BULK_OPERATIONS_SHOWN)
    return list(db.session.execute(stmt))


def bulk_parent(entry: ScimRequestLog) -> int | None:
    """The id of the /Bulk request's row an operation's row belongs to, if any."""
    if entry.resource_type == "Bulk" or not entry.bulk_request_id:
        return None
    return db.session.scalars(
        select(Log.id)
        .where(
            Log.organization_id == entry.organization_id,
            Log.bulk_request_id.isnot(None),
            Log.bulk_request_id == entry.bulk_request_id,
            Log.resource_type == "Bulk",
        )
        .limit(1)
    ).first()


def related(entry: ScimRequestLog, limit: int = 20) -> list[Row]:
    """Other requests that touched the same resource, newest first."""
    if not entry.resource_id:
        return []
    stmt = _in_time_order(
        select(*LIST_COLUMNS).where(
            Log.organization_id == entry.organization_id,
            Log.resource_id.isnot(None),  # the partial index's predicate
            Log.resource_id == entry.resource_id,
            Log.id != entry.id,
        ),
        Log,
        ascending=False,
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
    Log.repeat_count,
    Log.client_family,
    _json_text(Log.response_headers),
)


def export_rows(f: LogFilter, batch_size: int = 200) -> Iterator[Row]:
    """Every matching row, newest first, fetched ``batch_size`` at a time (a server-side
    cursor on PostgreSQL), so memory stays flat however many rows match. A batch holds up
    to two capped bodies a row (``WILLOW_LOG_BODY_MAX_BYTES``): 200 rows, at most about
    25 MB at the default cap."""
    stmt = _in_time_order(
        select(*EXPORT_COLUMNS).where(*conditions(f)), Log, ascending=False
    ).execution_options(yield_per=batch_size)
    yield from db.session.execute(stmt)
