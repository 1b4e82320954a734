"""sign-in throttles per address instead of the account lockout

Failed console sign-ins are counted per client address and per address and email
(sign_in_throttles, see willow/console/sign_in_throttle.py); the per-account lockout columns of
console_users go, since anyone could hold an account locked with them.

On SQLite, dropping columns rebuilds console_users, and dropping the old table fires the
ON DELETE actions of the tables that refer to it (as in 3d44cdfc1311): tokens would forget
who created them and console sessions would be deleted. Both are read before the rebuild
and put back after.

Revision ID: 1c6cde94efc1
Revises: 3d44cdfc1311
Create Date: 2026-12-07 02:14:26.825815

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1c6cde94efc1'
down_revision = '3d44cdfc1311'
branch_labels = None
depends_on = None


def _rebuild_console_users(alter) -> None:
    """Run ``alter(batch_op)`` on console_users, keeping the rows that refer to it."""
    bind = op.get_bind()
    keep = bind.dialect.name == "sqlite"
    if keep:
        creators = bind.execute(sa.text(
            "SELECT id, created_by_id FROM api_tokens WHERE created_by_id IS NOT NULL"
        )).all()
        sessions = [dict(row) for row in bind.execute(
            sa.text("SELECT * FROM console_sessions")
        ).mappings()]
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        alter(batch_op)
    if keep:
        for token_id, creator in creators:
            bind.execute(
                sa.text("UPDATE api_tokens SET created_by_id = :c WHERE id = :i"),
                {"c": creator, "i": token_id},
            )
        if sessions:
            columns = list(sessions[0])
            bind.execute(
                sa.text(
                    f"INSERT INTO console_sessions ({', '.join(columns)}) "
                    f"VALUES ({', '.join(':' + c for c in columns)})"
                ),
                sessions,
            )


def upgrade():
    op.create_table('sign_in_throttles',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttles'))
    )
    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_throttles_last_failure_at'), ['last_failure_at'], unique=False)

    def drop_lockout(batch_op):
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_login_count')
        batch_op.drop_column('failed_login_window_start')

    _rebuild_console_users(drop_lockout)


def downgrade():
    def add_lockout(batch_op):
        batch_op.add_column(sa.Column('failed_login_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('failed_login_window_start', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))

    _rebuild_console_users(add_lockout)

    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_throttles_last_failure_at'))

    op.drop_table('sign_in_throttles')
