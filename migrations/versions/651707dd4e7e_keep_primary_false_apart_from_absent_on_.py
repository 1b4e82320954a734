"""keep primary false apart from absent on multi-valued user attributes

Revision ID: 651707dd4e7e
Revises: 00fb5ae734e2
Create Date: 2026-11-29 16:34:45.872078

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '651707dd4e7e'
down_revision = '00fb5ae734e2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_values', schema=None) as batch_op:
        batch_op.alter_column('primary',
               existing_type=sa.BOOLEAN(),
               nullable=True)
    # Until now false was stored for "false" and for "not sent" alike, and read back as
    # absent: keep reading those rows back as before.
    op.execute(sa.text('UPDATE user_values SET "primary" = NULL WHERE "primary" = :no').bindparams(no=False))


def downgrade():
    op.execute(sa.text('UPDATE user_values SET "primary" = :no WHERE "primary" IS NULL').bindparams(no=False))
    with op.batch_alter_table('user_values', schema=None) as batch_op:
        batch_op.alter_column('primary',
               existing_type=sa.BOOLEAN(),
               nullable=False)
