"""response headers and client family in the request log, token and client in the time index

The log list explains each row (issue 23): the response headers are kept (Location, ETag,
Retry-After...), and the list filters by token and by client (the User-Agent's family,
written at capture). Both filters ride along in the time index, as the other filter
columns do, so that their counts and pages are answered from the index alone.

Columns are added and dropped in place (no batch rebuild of the log table on SQLite).

Revision ID: 3e05fa5199c6
Revises: 41b0dc9a76f6
Create Date: 2026-12-07 05:20:56.760243

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3e05fa5199c6'
down_revision = '41b0dc9a76f6'
branch_labels = None
depends_on = None

INDEX = 'ix_scim_logs_org_time_filters'
FILTERS = ['organization_id', 'created_at', 'id', 'status_code', 'method', 'resource_type']


def upgrade():
    op.add_column('scim_request_logs', sa.Column('client_family', sa.String(length=16), nullable=True))
    op.add_column('scim_request_logs', sa.Column('response_headers', sa.JSON(), nullable=True))
    op.drop_index(INDEX, table_name='scim_request_logs')
    op.create_index(INDEX, 'scim_request_logs', FILTERS + ['token_id', 'client_family'], unique=False)


def downgrade():
    # The index first: a column an index names cannot be dropped on SQLite.
    op.drop_index(INDEX, table_name='scim_request_logs')
    op.create_index(INDEX, 'scim_request_logs', FILTERS, unique=False)
    op.drop_column('scim_request_logs', 'response_headers')
    op.drop_column('scim_request_logs', 'client_family')
