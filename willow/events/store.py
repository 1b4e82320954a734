"""The events table: writing a change's events, and reading them back.

Writing takes the organization's next sequence numbers with one statement,
``UPDATE organizations SET event_sequence = event_sequence + n … RETURNING``, which holds
that row's lock until the change commits: a second writer waits there, so an
organization's events become visible in sequence order on PostgreSQL with several app
servers (SQLite serialises writers anyway). That is what lets a reader page by cursor
without ever skipping an event that commits late. The events are then inserted in one
driver call (``executemany``), however many there are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import bindparam
from sqlalchemy import column
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import table
from sqlalchemy import update
from sqlalchemy.engine import Connection

from ..partitions import store as partitions
from ..storage.models import Event
from ..storage.models import Organization
from ..storage.models import utcnow
from ..storage.prepared import Prepared
from .envelope import Context
from .envelope import Draft
from .envelope import dumps
from .envelope import envelope
from .envelope import new_event_id

EVENTS = Event.__table__
TABLE = Event.__tablename__
ORGS = Organization.__table__

_ALLOCATE = Prepared(
    update(ORGS)
    .where(ORGS.c.id == bindparam("org"))
    .values(event_sequence=ORGS.c.event_sequence + bindparam("n"))
    .returning(ORGS.c.event_sequence, ORGS.c.slug)
)
_COLUMNS = (
    "event_id", "organization_id", "sequence", "type", "occurred_at", "request_id", "actor",
    "body",
)
_INSERT = Prepared(insert(EVENTS), column_keys=_COLUMNS)


def write_events(
    conn: Connection,
    organization_id: int,
    drafts: list[Draft],
    *,
    request_id: str | None,
    actor: str | None,
    now: datetime | None = None,
) -> int:
    """Number and insert ``drafts`` in the caller's open transaction (they commit with the
    change or not at all); returns how many were written. Nothing is written, and no
    lock taken, when there are no drafts."""
    if not drafts:
        return 0
    occurred_at = now or utcnow()
    if conn.dialect.name == "postgresql":
        _write_postgresql(conn, organization_id, drafts, occurred_at, request_id, actor)
        return len(drafts)
    row = _ALLOCATE.first(conn, {"org": organization_id, "n": len(drafts)})
    last, slug = row["event_sequence"], row["slug"]
    context = Context(slug, occurred_at, request_id, actor)
    first = last - len(drafts) + 1
    rows = []
    for offset, draft in enumerate(drafts):
        event = envelope(new_event_id(), first + offset, draft, context)
        rows.append(
            {
                "event_id": event["id"],
                "organization_id": organization_id,
                "sequence": event["sequence"],
                "type": draft.type,
                "occurred_at": occurred_at,
                "request_id": request_id,
                "actor": actor,
                "body": dumps(event),
            }
        )
    _INSERT.execute_many(conn, rows)
    return len(drafts)


#: PostgreSQL: the numbers are taken and the events inserted in one statement, one round
#: trip however many events (the UPDATE in the CTE holds the organization row's lock until
#: the transaction ends, as the two statements do). Each body is sent in three pieces
#: around its sequence number and organization slug, which only the UPDATE knows.
_WRITE_POSTGRESQL = """
WITH s AS (
    UPDATE organizations SET event_sequence = event_sequence + %(n)s WHERE id = %(org)s
    RETURNING event_sequence - %(n)s AS base, to_json(slug)::text AS slug
)
INSERT INTO events
    (event_id, organization_id, sequence, type, occurred_at, request_id, actor, body)
SELECT v.event_id, %(org)s, s.base + v.k, v.type, %(occurred_at)s, %(request_id)s,
       %(actor)s, v.head || (s.base + v.k) || v.middle || s.slug || v.tail
FROM s, unnest(%(event_ids)s::text[], %(types)s::text[], %(heads)s::text[],
               %(middles)s::text[], %(tails)s::text[])
     WITH ORDINALITY AS v(event_id, type, head, middle, tail, k)
"""
_SEQUENCE_MARK = '"sequence":0,'
_ORGANIZATION_MARK = '"organization":"",'


def _write_postgresql(
    conn: Connection,
    organization_id: int,
    drafts: list[Draft],
    occurred_at: datetime,
    request_id: str | None,
    actor: str | None,
) -> None:
    context = Context("", occurred_at, request_id, actor)
    ids, types, heads, middles, tails = [], [], [], [], []
    for draft in drafts:
        event_id = new_event_id()
        text = dumps(envelope(event_id, 0, draft, context))
        # "id", "sequence", "type", "occurred_at", "organization" come before "data", and
        # none of their values can hold these marks: the first match is the field.
        head, _, rest = text.partition(_SEQUENCE_MARK)
        middle, _, tail = rest.partition(_ORGANIZATION_MARK)
        ids.append(event_id)
        types.append(draft.type)
        heads.append(head + '"sequence":')
        middles.append(',' + middle + '"organization":')
        tails.append(',' + tail)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(
            _WRITE_POSTGRESQL,
            {
                "n": len(drafts),
                "org": organization_id,
                "occurred_at": occurred_at,
                "request_id": request_id,
                "actor": actor,
                "event_ids": ids,
                "types": types,
                "heads": heads,
                "middles": middles,
                "tails": tails,
            },
        )
    finally:
        cursor.close()


# --- Reading ---------------------------------------------------------------------------


@dataclass
class Page:
    #: The stored envelopes (JSON text), oldest first.
    bodies: list[str]
    #: The sequence to continue after.
    next_after: int


class CursorExpired(Exception):
    """The events after the cursor were (partly) removed by retention."""

    def __init__(self, pruned_through: int) -> None:
        super().__init__(pruned_through)
        self.pruned_through = pruned_through


def read_page(
    conn: Connection,
    organization_id: int,
    after: int | None,
    limit: int,
    types: tuple[str, ...] | None = None,
) -> Page:
    """Events with a sequence above ``after`` (from the oldest kept when None), at most
    ``limit``, of ``types`` (all when None).

    The organization's last handed-out sequence is read first; the page never goes past
    it. Every event up to it is visible then (events become visible in sequence order),
    so when the page is not full the reader may continue after it: filtered-out events
    are not scanned again, and none that commits later can fall behind the cursor."""
    org = conn.execute(
        select(ORGS.c.event_sequence, ORGS.c.events_pruned_through).where(
            ORGS.c.id == organization_id
        )
    ).one()
    if after is not None and after < org.events_pruned_through:
        raise CursorExpired(org.events_pruned_through)
    start = after if after is not None else 0
    conditions = [
        EVENTS.c.organization_id == organization_id,
        EVENTS.c.sequence > start,
        EVENTS.c.sequence <= org.event_sequence,
    ]
    if types is not None:
        conditions.append(EVENTS.c.type.in_(types))
    rows = conn.execute(
        select(EVENTS.c.sequence, EVENTS.c.body)
        .where(*conditions)
        .order_by(EVENTS.c.sequence)
        .limit(limit)
    ).all()
    if len(rows) == limit:
        next_after = rows[-1].sequence
    else:
        next_after = max(start, org.event_sequence)
    return Page([r.body for r in rows], next_after)


def events_for_request(
    conn: Connection, organization_id: int, request_id: str, limit: int = 200
) -> tuple[list[Any], int]:
    """The events a SCIM request caused (oldest first, at most ``limit``), and how many
    there are in all."""
    where = (EVENTS.c.organization_id == organization_id, EVENTS.c.request_id == request_id)
    rows = conn.execute(
        select(EVENTS.c.event_id, EVENTS.c.sequence, EVENTS.c.type, EVENTS.c.occurred_at)
        .where(*where)
        .order_by(EVENTS.c.sequence)
        .limit(limit)
    ).all()
    total = len(rows)
    if total == limit:
        total = conn.execute(select(func.count()).select_from(EVENTS).where(*where)).scalar_one()
    return rows, total


def get_event(conn: Connection, organization_id: int, event_id: str) -> dict[str, Any] | None:
    """One event of the organization by its public id, with its envelope parsed."""
    row = conn.execute(
        select(EVENTS).where(
            EVENTS.c.event_id == event_id, EVENTS.c.organization_id == organization_id
        )
    ).first()
    if row is None:
        return None
    return {**row._mapping, "envelope": json.loads(row.body)}


# --- Retention -------------------------------------------------------------------------

BATCH_SIZE = 1000


def prune_events(
    engine: Engine,
    older_than_days: int,
    *,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
) -> int:
    """Remove events that occurred more than ``older_than_days`` days ago and raise each
    organization's ``events_pruned_through`` no later than they go: a cursor before it
    then gets 410, never a silent gap. Returns how many were removed.

    On PostgreSQL the day partitions wholly older than the cut-off are dropped (the marks
    raised first, from each partition's highest sequence per organization); then, on both
    databases, the events left older than the cut-off (on PostgreSQL only those of the day
    that straddles it, and of the DEFAULT partition) are deleted ``batch_size`` per
    transaction, the marks raised in the same transaction."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    dropped = partitions.drop_before(engine, TABLE, cutoff, before_drop=_mark_partition)
    return dropped + _delete_before(engine, cutoff, batch_size)


def create_partitions(engine: Engine, today: date) -> list[str]:
    """On PostgreSQL, the events' day partitions from ``today`` to a few days ahead (and
    the DEFAULT partition) that are missing; the names made."""
    return partitions.create_ahead(engine, TABLE, today)


def _delete_before(engine: Engine, cutoff: datetime, batch_size: int) -> int:
    older = EVENTS.c.occurred_at < cutoff
    oldest = (
        select(EVENTS.c.id, EVENTS.c.organization_id, EVENTS.c.sequence)
        .where(older)
        .order_by(EVENTS.c.occurred_at, EVENTS.c.id)
        .limit(batch_size)
    )
    total = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(oldest).all()
            if rows:
                highest: dict[int, int] = {}
                for _, org, seq in rows:
                    highest[org] = max(seq, highest.get(org, 0))
                _raise_marks(conn, highest)
                # The cut-off again: on PostgreSQL it confines the delete to the
                # partitions that can hold such rows instead of probing every one by id.
                conn.execute(delete(EVENTS).where(EVENTS.c.id.in_([r.id for r in rows]), older))
        total += len(rows)
        if len(rows) < batch_size:
            return total


def _mark_partition(conn: Connection, partition: str) -> None:
    """Raise the marks to the highest sequence each organization has in ``partition``,
    which is about to be dropped (its unique key's index answers, one range per
    organization)."""
    part = table(partition, column("organization_id"), column("sequence"))
    rows = conn.execute(
        select(part.c.organization_id, func.max(part.c.sequence)).group_by(part.c.organization_id)
    ).all()
    _raise_marks(conn, {org: seq for org, seq in rows})


def _raise_marks(conn: Connection, highest: dict[int, int]) -> None:
    for org, seq in highest.items():
        conn.execute(
            update(ORGS)
            .where(ORGS.c.id == org, ORGS.c.events_pruned_through < seq)
            .values(events_pruned_through=seq)
        )
