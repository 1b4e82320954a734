"""rate limit counters

Failed bearer authentications per client address, counted where every app server sees
them (willow.server.rate_limit).

Revision ID: 00fb5ae734e2
Revises: 67f0327bfd79
Create Date: 2026-11-29 16:28:55.108929

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '00fb5ae734e2'
down_revision = '67f0327bfd79'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limit_counters',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counters'))
    )
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_counters_window_start'), ['window_start'], unique=False)



def downgrade():
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_counters_window_start'))

    op.drop_table('rate_limit_counters')
