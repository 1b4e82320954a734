"""The migration chain builds the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from willow import ROOT
from willow.extensions import db


def test_upgrade_reaches_head_with_no_pending_model_changes(app):
    with app.app_context():
        upgrade()  # idempotent: the fixture's database is already at head
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"render_as_batch": True})
            current = context.get_current_revision()
            diff = compare_metadata(context, db.metadata)
    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    assert current == head
    assert diff == []


def test_the_migration_chain_has_one_head():
    assert len(ScriptDirectory(str(ROOT / "migrations")).get_heads()) == 1


def test_first_migration_creates_the_default_organization(org):
    assert org.slug == "default"
