"""index only request log rows that have a resource id or fingerprint

Every request writes a log row, and each index entry is part of that write. Collection
queries have no resource id and successful requests no fingerprint, so the indexes that
serve "other requests for this resource" and the "retrying" flag skip them (partial
indexes, supported alike by SQLite and PostgreSQL). Autogenerate does not compare index
predicates: this revision is written by hand.

Revision ID: 0bc1485bae2b
Revises: e8efbd38f0ee
Create Date: 2026-11-29 00:56:14.306321

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0bc1485bae2b'
down_revision = 'e8efbd38f0ee'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_scim_logs_org_resource': ('resource_id', ['organization_id', 'resource_id', 'created_at']),
    'ix_scim_logs_org_fingerprint': ('fingerprint', ['organization_id', 'fingerprint', 'created_at']),
}


def upgrade():
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        for name, (column, columns) in INDEXES.items():
            where = sa.text(f'{column} IS NOT NULL')
            batch_op.drop_index(name)
            batch_op.create_index(
                name, columns, unique=False, sqlite_where=where, postgresql_where=where
            )


def downgrade():
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        for name, (_, columns) in INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
