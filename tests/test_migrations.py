"""The migration chain builds the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade
from flask_migrate import upgrade

from willow import ROOT
from willow.extensions import db
from willow.models import ScimRequestLog
from willow.models import utcnow
from willow.partitions.rules import include_name


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
