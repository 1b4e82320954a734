"""Bulk seeding for the benchmarks: users, groups, memberships and request-log rows.

Rows go straight into the tables with SQLAlchemy Core (executemany), never over HTTP, so
a million log rows take a minute rather than hours. The tables are the models' own
(``willow.storage.models``), so Python-side column defaults still apply, and nothing here depends
on where the SCIM code lives. Ids and userNames are computed from an index (``user_id``,
``user_name``): the load clients can name any seeded user without asking the server.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from .operations import group_id
from .operations import group_name
from .operations import user_id
from .operations import user_name

BATCH = 10_000

# A realistic mix of IdP traffic for the seeded request log (weights, not counts).
LOG_METHODS = [("GET", 60), ("POST", 10), ("PATCH", 20), ("PUT", 5), ("DELETE", 5)]
LOG_STATUSES = [(200, 80), (201, 8), (204, 2), (400, 2), (401, 2), (404, 3), (409, 2), (500, 1)]


@dataclass(frozen=True)
class Scale:
    """How much to seed. ``spare`` users belong to no group: the group benchmarks add and
    remove them."""

    users: int = 100_000
    groups: tuple[int, ...] = (10, 10_000, 100_000)
    spare: int = 1_000
    log_rows: int = 1_000_000
    log_days: int = 30


def database_url(url: str) -> str:
    """The URL for SQLAlchemy: ``postgresql://`` means psycopg 3, as in the product."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def create_postgres_database(server_url: str, prefix: str = "willow_bench") -> tuple[str, Any]:
    """Create a uniquely named database on the server of ``server_url``.

    Returns its URL (in the ``postgresql://`` form users write) and a function that drops
    it again.
    """
    url = sa.engine.make_url(database_url(server_url))
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    rendered = url.set(database=name).render_as_string(hide_password=False)
    return rendered.replace("postgresql+psycopg://", "postgresql://", 1), drop


def default_organization_id(conn: sa.Connection) -> int:
    from willow.storage.models import Organization

    return conn.scalar(sa.select(Organization.id).where(Organization.slug == "default"))


def _batches(rows: Iterator[dict], size: int = BATCH) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``.

    PostgreSQL gets COPY: psycopg's ``executemany`` sends one INSERT per row, which at a
    million log rows takes many minutes. SQLite's ``executemany`` is fast as it is.
    Python-side column defaults do not apply on the COPY path: rows carry every value.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(sa.insert(table), rows)
        return
    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(table.c[c].type, sa.JSON)}
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([
                json.dumps(row[c]) if c in json_columns and row[c] is not None else row[c]
                for c in columns
            ])
    cursor.close()


def insert_users(conn: sa.Connection, org_id: int, start: int, count: int, *, emails: bool = True):
    """Okta-shaped users ``start`` .. ``start + count - 1``: userName = work email (primary),
    given and family name, an Okta externalId, active. Creation times follow the index,
    so a list walk sees them in index order."""
    from willow.storage.models import User

    base = datetime(2026, 1, 1)

    def users() -> Iterator[dict]:
        for i in range(start, start + count):
            name = user_name(i)
            created = base + timedelta(seconds=i)
            yield {
                "id": user_id(i),
                "organization_id": org_id,
                "user_name": name,
                "user_name_norm": name.lower(),
                "external_id": f"00u{i:017d}",
                "active": True,
                "name_given_name": "Bench",
                "name_family_name": f"User {i}",
                "display_name": f"Bench User {i}",
                "created_at": created,
                "last_modified_at": created,
                "version": 1,
            }

    for batch in _batches(users()):
        bulk_insert(conn, User.__table__, batch)
    if emails:
        insert_emails(conn, org_id, start, count)


def insert_emails(conn: sa.Connection, org_id: int, start: int, count: int) -> None:
    """The work email (= userName, primary) of seeded users ``start`` .. ``start + count - 1``."""
    from willow.storage.models import UserValue

    def values() -> Iterator[dict]:
        for i in range(start, start + count):
            name = user_name(i)
            yield {
                "organization_id": org_id,
                "user_id": user_id(i),
                "attribute": "emails",
                "position": 0,
                "value": name,
                "value_norm": name.lower(),
                "type": "work",
                "primary": True,
            }

    for batch in _batches(values()):
        bulk_insert(conn, UserValue.__table__, batch)


def insert_group(conn: sa.Connection, org_id: int, size: int, members: range) -> None:
    """Group ``group_id(size)`` whose members are the seeded users in ``members``."""
    from willow.storage.models import Group
    from willow.storage.models import GroupMember

    now = datetime(2026, 1, 1)
    name = group_name(size)
    bulk_insert(
        conn,
        Group.__table__,
        [
            {
                "id": group_id(size),
                "organization_id": org_id,
                "display_name": name,
                "display_name_norm": name.lower(),
                "created_at": now,
                "last_modified_at": now,
                "version": 1,
            }
        ],
    )
    rows = (
        {"organization_id": org_id, "group_id": group_id(size), "user_id": user_id(i),
         "created_at": now}
        for i in members
    )
    for batch in _batches(rows):
        bulk_insert(conn, GroupMember.__table__, batch)


def _utcnow() -> datetime:
    """Naive UTC, the form every timestamp column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def _weighted(rng: random.Random, table: list[tuple[Any, int]]) -> Any:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights)[0]


def _fingerprint(token: str, method: str, path: str, status: int, error: str | None) -> str:
    # The formula of the request log's "retrying" fingerprint (monitor/capture.py), kept
    # here so that seeding does not depend on where the capture code lives.
    key = "\x1f".join([token, method, path, str(status), error or ""])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def log_rows(
    org_id: int,
    token_id: int | None,
    n: int,
    start_index: int,
    total: int,
    rng: random.Random,
    *,
    days: int = 90,
    now: datetime | None = None,
) -> Iterator[dict]:
    """``n`` plausible request-log rows, oldest first, spread evenly over the last ``days``
    days: a mix of methods, statuses, Users/Groups paths and bodies like an IdP's."""
    now = now or _utcnow()
    span = timedelta(days=days).total_seconds()
    for i in range(start_index, start_index + n):
        method = _weighted(rng, LOG_METHODS)
        status = _weighted(rng, LOG_STATUSES)
        group = rng.random() < 0.3
        kind, collection = ("Group", "Groups") if group else ("User", "Users")
        rid = f"{rng.randrange(50_000):08d}-0000-4000-8000-000000000000"
        label = f"team-{rid[:8]}" if group else f"user{rid[:8]}@example.com"
        item = method != "POST" and not (method == "GET" and rng.random() < 0.5)
        path = f"/scim/v2/{collection}/{rid}" if item else f"/scim/v2/{collection}"
        operation = {"GET": "read" if item else "query", "POST": "create", "DELETE": "delete"}.get(
            method, "update"
        )
        body = None
        if method in ("POST", "PUT", "PATCH"):
            body = json.dumps(
                {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": label,
                    "name": {"givenName": "Bench", "familyName": f"User {i}"},
                    "emails": [{"value": label, "primary": True, "type": "work"}],
                    "active": True,
                }
            )
        error = None if status < 400 else f"uniqueness: error {status} for {rid[:8]}"
        yield {
            "created_at": now - timedelta(seconds=span * (1 - (i + 1) / (total + 1))),
            "organization_id": org_id,
            "token_id": token_id,
            "token_name": "Okta SCIM Integration",
            "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "method": method,
            "path": path,
            "query_string": None if item else 'filter=userName eq "x"&startIndex=1&count=100',
            "resource_type": kind,
            "resource_id": rid if item else None,
            "resource_label": label,
            # The search key the model's default derives from the label (lower-cased).
            "resource_label_key": label.lower(),
            "operation": operation,
            "status_code": status,
            "duration_ms": round(rng.uniform(1, 40), 3),
            "client_ip": "203.0.113.7",
            "user_agent": "Okta SCIM Client 1.0.0",
            "request_headers": {"Accept": "application/scim+json", "User-Agent": "Okta"},
            "request_body": body,
            "response_body": json.dumps({"id": rid, "userName": label, "active": True, "meta": {}}),
            "error_detail": error,
            "warnings": None,
            "changes": [{"attribute": "active", "before": True, "after": False}]
            if method == "PATCH"
            else None,
            "notes": None,
            "fingerprint": _fingerprint("token:1", method, path, status, error) if error else None,
        }


def insert_log_rows(
    engine: sa.Engine, org_id: int, token_id: int | None, rows: int, days: int, seed: int = 7,
    progress=None,
) -> None:
    """``rows`` request-log rows over the last ``days`` days, one transaction per batch;
    ``progress(done)`` is called every 100,000 rows."""
    from willow.storage.models import ScimRequestLog

    rng = random.Random(seed)
    now = _utcnow()
    done = 0
    while done < rows:
        n = min(BATCH, rows - done)
        batch = list(log_rows(org_id, token_id, n, done, rows, rng, days=days, now=now))
        with engine.begin() as conn:
            bulk_insert(conn, ScimRequestLog.__table__, batch)
        done += n
        if progress and done % 100_000 == 0:
            progress(done)


def seed_directory(url: str, scale: Scale, clock=None, progress=None) -> dict[str, float]:
    """Users (+ spare users), groups and log rows in the database at ``url`` (migrated to
    head). Returns the seconds each part took."""
    import time

    clock = clock or time.perf_counter
    engine = sa.create_engine(database_url(url))
    timings: dict[str, float] = {}
    try:
        started = clock()
        with engine.begin() as conn:
            org_id = default_organization_id(conn)
        total = scale.users + scale.spare
        for first in range(0, total, 50_000):
            with engine.begin() as conn:
                insert_users(conn, org_id, first, min(50_000, total - first), emails=False)
        if engine.dialect.name == "postgresql":
            # PostgreSQL plans the foreign-key checks of the rows that reference users once
            # per connection; planned against a table without statistics they scan it
            # whole for every row. Statistics first, and connections that plan afresh.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE users")
            engine.dispose()
        for first in range(0, total, 50_000):
            with engine.begin() as conn:
                insert_emails(conn, org_id, first, min(50_000, total - first))
        timings["users"] = clock() - started

        started = clock()
        for size in scale.groups:
            with engine.begin() as conn:
                insert_group(conn, org_id, size, range(min(size, scale.users)))
        timings["groups"] = clock() - started

        started = clock()
        insert_log_rows(engine, org_id, None, scale.log_rows, scale.log_days, progress=progress)
        timings["log_rows"] = clock() - started

        started = clock()
        if engine.dialect.name == "postgresql":
            # A bulk load leaves PostgreSQL without statistics until autovacuum comes by
            # (in the middle of the measurements); a production database has them.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        timings["analyze"] = clock() - started
    finally:
        engine.dispose()
    return timings
