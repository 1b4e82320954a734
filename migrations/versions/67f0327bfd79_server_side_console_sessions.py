"""server-side console sessions

The console cookie carries only a random session id; this table holds its digest, so
sign-out, an admin or a password change can end a session, and idle sessions time out.

Revision ID: 67f0327bfd79
Revises: b9e25d5ea945
Create Date: 2026-11-29 16:24:58.653029

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '67f0327bfd79'
down_revision = 'b9e25d5ea945'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('console_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('console_user_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('pending_token_id', sa.Integer(), nullable=True),
    sa.Column('pending_token_secret', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['console_user_id'], ['console_users.id'], name=op.f('fk_console_sessions_console_user_id_console_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    sa.UniqueConstraint('digest', name=op.f('uq_console_sessions_digest'))
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_console_user_id'), ['console_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_sessions_expires_at'), ['expires_at'], unique=False)



def downgrade():
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_console_sessions_console_user_id'))

    op.drop_table('console_sessions')
