"""The migration chain builds the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade
from flask_migrate import upgrade

from willow import ROOT
from willow.events.envelope import Draft
from willow.events.store import write_events
from willow.partitions import rules
from willow.partitions import store
from willow.partitions.rules import include_name
from willow.storage.extensions import db
from willow.storage.models import Event
from willow.storage.models import ScimRequestLog
from willow.storage.models import utcnow


def test_upgrade_reaches_head_with_no_pending_model_changes(app):
    with app.app_context():
        upgrade()  # idempotent: the fixture's database is already at head
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"render_as_batch": True, "include_name": include_name}
            )
            current = context.get_current_revision()
            diff = compare_metadata(context, db.metadata)
    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    assert current == head
    assert diff == []


def test_the_migration_chain_has_one_head():
    assert len(ScriptDirectory(str(ROOT / "migrations")).get_heads()) == 1


def test_first_migration_creates_the_default_organization(org):
    assert org.slug == "default"


def test_the_search_migration_gives_existing_log_rows_their_lower_cased_key(app, org):
    before_search = "0bc1485bae2b"
    with app.app_context():
        downgrade(revision=before_search)
        with db.engine.begin() as conn:
            for label in ("Équipe Paris", None):
                conn.execute(
                    sa.text(
                        "INSERT INTO scim_request_logs (created_at, organization_id, request_id,"
                        " method, path, resource_label, status_code, duration_ms)"
                        " VALUES (:now, :org, 'r', 'GET', '/scim/v2/Groups', :label, 200, 1.0)"
                    ),
                    {"now": utcnow(), "org": org.id, "label": label},
                )
        upgrade()
        keys = db.session.execute(
            sa.select(ScimRequestLog.resource_label, ScimRequestLog.resource_label_key)
        ).all()
    assert {tuple(k) for k in keys} == {("Équipe Paris", "équipe paris"), (None, None)}


def test_the_sso_migration_keeps_token_creators_and_console_sessions(app, org):
    """Rebuilding console_users on SQLite must not fire the ON DELETE actions of the
    tables that refer to it."""
    before_sso = "651707dd4e7e"
    now = utcnow()
    with app.app_context():
        downgrade(revision=before_sso)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO console_users (id, organization_id, email, password_hash, role,"
                    " created_at, failed_login_count) VALUES (7, :org, 'a@example.com', 'x',"
                    " 'admin', :now, 0)"
                ),
                {"org": org.id, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO api_tokens (organization_id, name, scopes, prefix, digest,"
                    " created_at, created_by_id) VALUES (:org, 't', 'scim', 'wsk_', 'd', :now, 7)"
                ),
                {"org": org.id, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO console_sessions (console_user_id, digest, created_at,"
                    " last_seen_at, expires_at) VALUES (7, 'sess', :now, :now, :now)"
                ),
                {"now": now},
            )
        upgrade()
        with db.engine.connect() as conn:
            creator = conn.execute(sa.text("SELECT created_by_id FROM api_tokens")).scalar()
            sessions = conn.execute(sa.text("SELECT console_user_id FROM console_sessions")).all()
    assert creator == 7
    assert [tuple(s) for s in sessions] == [(7,)]


def test_dropping_the_lockout_columns_keeps_token_creators_and_console_sessions(app, org):
    """The sign-in throttle migration rebuilds console_users on SQLite too."""
    before_throttle = "3d44cdfc1311"
    now = utcnow()
    with app.app_context():
        downgrade(revision=before_throttle)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO console_users (id, organization_id, email, password_hash, role,"
                    " created_at, failed_login_count, locked_until) VALUES (7, :org,"
                    " 'a@example.com', 'x', 'admin', :now, 5, :now)"
                ),
                {"org": org.id, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO api_tokens (organization_id, name, scopes, prefix, digest,"
                    " created_at, created_by_id) VALUES (:org, 't', 'scim', 'wsk_', 'd', :now, 7)"
                ),
                {"org": org.id, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO console_sessions (console_user_id, digest, created_at,"
                    " last_seen_at, expires_at) VALUES (7, 'sess', :now, :now, :now)"
                ),
                {"now": now},
            )
        upgrade()
        with db.engine.connect() as conn:
            creator = conn.execute(sa.text("SELECT created_by_id FROM api_tokens")).scalar()
            sessions = conn.execute(sa.text("SELECT console_user_id FROM console_sessions")).all()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("console_users")}
    assert creator == 7
    assert [tuple(s) for s in sessions] == [(7,)]
    assert not columns & {"failed_login_count", "failed_login_window_start", "locked_until"}


def test_the_partitioning_migration_keeps_every_log_row_and_the_console_reads_them(
    app, org, backend, console, client
):
    """Rows written before the request log was partitioned (PostgreSQL) are all there
    after it, in their day's partition, with their ids; new rows get later ids, and a
    counted refusal is still one entry per key."""
    before_partitions = "57b305710859"
    now = utcnow()
    times = [now - timedelta(days=n, minutes=n) for n in (0, 1, 2, 45, 89)]
    with app.app_context():
        downgrade(revision=before_partitions)
        with db.engine.begin() as conn:
            for i, at in enumerate(times):
                conn.execute(
                    sa.text(
                        "INSERT INTO scim_request_logs (created_at, organization_id, request_id,"
                        " method, path, resource_label, resource_label_key, status_code,"
                        " duration_ms, count_key, repeat_count)"
                        " VALUES (:at, :org, :rid, 'GET', :path, :label, :label, 200, 1.5,"
                        " :key, :count)"
                    ),
                    {
                        "at": at,
                        "org": org.id,
                        "rid": f"r{i}",
                        "path": f"/scim/v2/Users/u{i}",
                        "label": f"old{i}",
                        "key": "k" if i == 0 else None,
                        "count": 3 if i == 0 else None,
                    },
                )
        columns = [
            ScimRequestLog.id,
            ScimRequestLog.created_at,
            ScimRequestLog.request_id,
            ScimRequestLog.path,
            ScimRequestLog.count_key,
            ScimRequestLog.repeat_count,
        ]
        ordered = sa.select(*columns).order_by(ScimRequestLog.id)
        with db.engine.connect() as conn:
            before = conn.execute(ordered).all()
        upgrade()
        with db.engine.connect() as conn:
            after = conn.execute(ordered).all()
            partitioned = store.is_partitioned(conn, ScimRequestLog.__tablename__)
            homes = (
                conn.execute(
                    sa.text("SELECT request_id, tableoid::regclass::text FROM scim_request_logs")
                ).all()
                if partitioned
                else []
            )
        with db.engine.begin() as conn:
            new_id = conn.scalar(
                sa.insert(ScimRequestLog)
                .values(
                    created_at=now,
                    organization_id=org.id,
                    request_id="new",
                    method="GET",
                    path="/scim/v2/Groups",
                    status_code=200,
                    duration_ms=1.0,
                )
                .returning(ScimRequestLog.id)
            )
    assert len(before) == 5 and after == before
    assert new_id > max(row.id for row in before)
    assert partitioned is (backend == "postgresql")
    if partitioned:
        by_request = dict(homes)
        for i, at in enumerate(times):
            assert by_request[f"r{i}"] == rules.partition_name("scim_request_logs", at.date())
    console.login()
    page = client.get("/monitor/scim-logs").get_data(as_text=True)
    assert all(f"/scim/v2/Users/u{i}" in page for i in range(5))
    assert client.get(f"/monitor/scim-logs/{before[4].id}").status_code == 200


def test_the_events_partitioning_migration_keeps_every_event_and_the_api_lists_them(
    app, org, backend, client, make_token
):
    """Events written before the events table was partitioned (PostgreSQL) are all there
    after it, in their day's partition, with their ids and sequences; the events API lists
    them in order, and the next event gets the next sequence and a later id."""
    before_partitions = "0ee60c342316"
    now = utcnow()
    times = [now - timedelta(days=n, minutes=n) for n in (89, 45, 2, 1, 0)]
    with app.app_context():
        downgrade(revision=before_partitions)
        with db.engine.begin() as conn:
            for i, at in enumerate(times, start=1):
                conn.execute(
                    sa.text(
                        "INSERT INTO events (event_id, organization_id, sequence, type,"
                        " occurred_at, request_id, actor, body)"
                        " VALUES (:eid, :org, :seq, 'user.created', :at, NULL, 'idp', :body)"
                    ),
                    {
                        "eid": f"evt_{i:032x}",
                        "org": org.id,
                        "seq": i,
                        "at": at,
                        "body": json.dumps({"id": f"evt_{i:032x}", "sequence": i}),
                    },
                )
            conn.execute(
                sa.text("UPDATE organizations SET event_sequence = 5 WHERE id = :org"),
                {"org": org.id},
            )
        ordered = sa.select(
            Event.id, Event.event_id, Event.sequence, Event.occurred_at, Event.body
        ).order_by(Event.id)
        with db.engine.connect() as conn:
            before = conn.execute(ordered).all()
        upgrade()
        with db.engine.connect() as conn:
            after = conn.execute(ordered).all()
            partitioned = store.is_partitioned(conn, Event.__tablename__)
            homes = (
                dict(
                    conn.execute(
                        sa.text("SELECT sequence, tableoid::regclass::text FROM events")
                    ).all()
                )
                if partitioned
                else {}
            )
        with db.engine.begin() as conn:
            write_events(conn, org.id, [Draft("user.created", {})], request_id=None, actor=None)
            new = conn.execute(
                sa.select(Event.id, Event.sequence).order_by(Event.id.desc())
            ).first()
    assert len(before) == 5 and after == before
    assert new.sequence == 6 and new.id > max(row.id for row in before)
    assert partitioned is (backend == "postgresql")
    for sequence, at in enumerate(times, start=1):
        if partitioned:
            assert homes[sequence] == rules.partition_name("events", at.date())
    listed = client.get(
        "/api/v1/events",
        headers={"Authorization": f"Bearer {make_token(name='reader', scopes=['events'])}"},
    ).get_json()["data"]
    assert [e["sequence"] for e in listed] == [1, 2, 3, 4, 5, 6]
