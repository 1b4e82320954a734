"""request log size budget and counted refusals

``stored_bytes`` is what a row weighs in WILLOW_LOG_MAX_MB. The time index gains it, so
that the budget is summed from the index alone and retention still walks it oldest
first (it replaces ``ix_scim_logs_time``, created first so that the log is never without
one). Existing rows get their weight once here, from the same texts the log writer
counts, so the budget holds from the first prune after the upgrade.

``count_key`` and ``repeat_count`` let one row stand for the refused requests (429 past a
limit) of one client address or token in one window; the unique partial index is what
the log writer's upsert of that row conflicts on.

Revision ID: 1c305c84b74e
Revises: 8a3351f943a1
Create Date: 2026-12-07 02:14:54.549994

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1c305c84b74e'
down_revision = '8a3351f943a1'
branch_labels = None
depends_on = None

#: willow.monitor.log_writer.ROW_BYTES at the time of this migration.
ROW_BYTES = 800
WEIGHED = ['request_body', 'response_body', 'request_headers', 'error_detail', 'path',
           'query_string', 'user_agent', 'changes', 'notes', 'warnings']


def upgrade():
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('stored_bytes', sa.Integer(), server_default='0', nullable=False)
        )
        batch_op.add_column(sa.Column('count_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('repeat_count', sa.Integer(), nullable=True))
    weight = ' + '.join(
        f"coalesce(length(CAST({name} AS TEXT)), 0)" for name in WEIGHED
    )
    op.execute(f"UPDATE scim_request_logs SET stored_bytes = {ROW_BYTES} + {weight}")
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.create_index(
            'ix_scim_logs_time_size', ['created_at', 'stored_bytes'], unique=False
        )
        batch_op.drop_index('ix_scim_logs_time')
        batch_op.create_index(
            'ix_scim_logs_count_key',
            ['count_key'],
            unique=True,
            sqlite_where=sa.text('count_key IS NOT NULL'),
            postgresql_where=sa.text('count_key IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.create_index('ix_scim_logs_time', ['created_at'], unique=False)
        batch_op.drop_index('ix_scim_logs_time_size')
        batch_op.drop_index(
            'ix_scim_logs_count_key',
            sqlite_where=sa.text('count_key IS NOT NULL'),
            postgresql_where=sa.text('count_key IS NOT NULL'),
        )
        batch_op.drop_column('repeat_count')
        batch_op.drop_column('count_key')
        batch_op.drop_column('stored_bytes')
