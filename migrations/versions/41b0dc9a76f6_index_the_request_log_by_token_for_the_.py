"""index the request log by token for the API Tokens page's connection health

API Tokens shows, for every token, its last successful request, the last day's requests
and errors and its last error (willow/connection/health.py). Without an index led by the
token each figure read the whole log. Partial (token_id IS NOT NULL): requests that named
no known token are never asked for by token. Created in place (no table rebuild).

Revision ID: 41b0dc9a76f6
Revises: 0f6b4b2f089f
Create Date: 2026-12-07 05:31:12.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '41b0dc9a76f6'
down_revision = '0f6b4b2f089f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_scim_logs_token_time',
        'scim_request_logs',
        ['token_id', 'created_at', 'status_code', 'repeat_count'],
        unique=False,
        sqlite_where=sa.text('token_id IS NOT NULL'),
        postgresql_where=sa.text('token_id IS NOT NULL'),
    )


def downgrade():
    op.drop_index('ix_scim_logs_token_time', table_name='scim_request_logs')
