"""cover the request log filters in the time index

The SCIM log page counts and filters rows by organization, time, status, method,
resource type, resource id and name. With those columns in the newest-first index, a
count or a filtered page over a million rows is an index-only scan instead of a read of
every wide row (bodies included). resource_id (64) and resource_label (256) are bounded,
so the entry stays well under PostgreSQL's B-tree entry size limit; path is left out
for that reason.

Revision ID: 4b0e16972f3c
Revises: f1922d19dbfe
Create Date: 2026-11-29 00:41:14.745451

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '4b0e16972f3c'
down_revision = 'f1922d19dbfe'
branch_labels = None
depends_on = None

COVER = [
    'organization_id', 'created_at', 'id', 'status_code', 'method', 'resource_type',
    'resource_id', 'resource_label',
]


def upgrade():
    # The new index first, so that the log is never without one during the upgrade.
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.create_index('ix_scim_logs_org_time_cover', COVER, unique=False)
        batch_op.drop_index('ix_scim_logs_org_time')


def downgrade():
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.create_index(
            'ix_scim_logs_org_time', ['organization_id', 'created_at', 'id'], unique=False
        )
        batch_op.drop_index('ix_scim_logs_org_time_cover')
