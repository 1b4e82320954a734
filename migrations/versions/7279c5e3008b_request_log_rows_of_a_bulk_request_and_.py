"""request log rows of a Bulk request and its operations

``bulk_request_id`` links the row of each operation of a /Bulk request (RFC 7644 §3.7)
to the Bulk request's own row: it holds the Bulk request's request id, on both. A
nullable column with no default and a partial index: existing rows are not rewritten
(no table rebuild on SQLite, a catalog-only ALTER on PostgreSQL), and the index starts
empty.

Revision ID: 7279c5e3008b
Revises: 57b305710859
Create Date: 2026-12-07 05:19:35.187878

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7279c5e3008b'
down_revision = '57b305710859'
branch_labels = None
depends_on = None


def upgrade():
    # In place, not batch_alter_table: a rebuild of the log table would copy every row.
    op.add_column(
        'scim_request_logs', sa.Column('bulk_request_id', sa.String(length=32), nullable=True)
    )
    op.create_index(
        'ix_scim_logs_org_bulk',
        'scim_request_logs',
        ['organization_id', 'bulk_request_id'],
        unique=False,
        sqlite_where=sa.text('bulk_request_id IS NOT NULL'),
        postgresql_where=sa.text('bulk_request_id IS NOT NULL'),
    )


def downgrade():
    op.drop_index('ix_scim_logs_org_bulk', table_name='scim_request_logs')
    # SQLite 3.35+ drops a column in place (no index or constraint names it any more).
    op.drop_column('scim_request_logs', 'bulk_request_id')
