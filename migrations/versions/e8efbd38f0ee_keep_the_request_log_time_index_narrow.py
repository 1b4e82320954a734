"""keep the request log time index narrow

Measured on 1,000,000 rows: with resource_id and resource_label in it the index was
192 MB on PostgreSQL, and the planner preferred a parallel scan of the table to it
(150-550 ms per count). Without them it is 56 MB and counts with status, method or
resource type filters are index-only scans of 30-135 ms on both databases.

Revision ID: e8efbd38f0ee
Revises: 4b0e16972f3c
Create Date: 2026-11-29 00:50:43.812611

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e8efbd38f0ee'
down_revision = '4b0e16972f3c'
branch_labels = None
depends_on = None

FILTERS = ['organization_id', 'created_at', 'id', 'status_code', 'method', 'resource_type']


def upgrade():
    # The new index first, so that the log is never without one during the upgrade.
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.create_index('ix_scim_logs_org_time_filters', FILTERS, unique=False)
        batch_op.drop_index('ix_scim_logs_org_time_cover')


def downgrade():
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.create_index(
            'ix_scim_logs_org_time_cover',
            FILTERS + ['resource_id', 'resource_label'],
            unique=False,
        )
        batch_op.drop_index('ix_scim_logs_org_time_filters')
