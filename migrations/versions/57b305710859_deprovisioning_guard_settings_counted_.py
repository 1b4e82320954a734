"""deprovisioning guard settings, counted deprovisionings, held changes and decisions

The deprovisioning guard (willow/guard): per-organization settings (no row: the
defaults), the deprovisionings counted in the rolling window, the held changes with
their events (kept outside the events stream until allowed), and admins' decisions.

Revision ID: 57b305710859
Revises: 01ec5fb8b022
Create Date: 2026-12-07 03:33:46.727155

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '57b305710859'
down_revision = '01ec5fb8b022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('guard_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('user_name', sa.String(length=256), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_guard_decisions_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guard_decisions'))
    )
    with op.batch_alter_table('guard_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_guard_decisions_org_at', ['organization_id', 'decided_at'], unique=False)
        batch_op.create_index('ix_guard_decisions_org_request', ['organization_id', 'request_id'], unique=False)

    op.create_table('guard_deprovisionings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('left_active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_guard_deprovisionings_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guard_deprovisionings'))
    )
    with op.batch_alter_table('guard_deprovisionings', schema=None) as batch_op:
        batch_op.create_index('ix_guard_deprovisionings_org_at', ['organization_id', 'occurred_at'], unique=False)

    op.create_table('guard_held_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('user_name', sa.String(length=256), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('requested', sa.JSON(), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=True),
    sa.Column('token_name', sa.String(length=320), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('role_before', sa.String(length=20), nullable=True),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_guard_held_changes_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guard_held_changes'))
    )
    with op.batch_alter_table('guard_held_changes', schema=None) as batch_op:
        batch_op.create_index('ix_guard_held_changes_org_id', ['organization_id', 'id'], unique=False)
        batch_op.create_index('ix_guard_held_changes_user', ['user_id'], unique=False)

    op.create_table('guard_settings',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('window_minutes', sa.Integer(), nullable=False),
    sa.Column('armed_since', sa.DateTime(), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('population_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_guard_settings_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_guard_settings'))
    )


def downgrade():
    op.drop_table('guard_settings')
    with op.batch_alter_table('guard_held_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_guard_held_changes_user')
        batch_op.drop_index('ix_guard_held_changes_org_id')

    op.drop_table('guard_held_changes')
    with op.batch_alter_table('guard_deprovisionings', schema=None) as batch_op:
        batch_op.drop_index('ix_guard_deprovisionings_org_at')

    op.drop_table('guard_deprovisionings')
    with op.batch_alter_table('guard_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_guard_decisions_org_request')
        batch_op.drop_index('ix_guard_decisions_org_at')

    op.drop_table('guard_decisions')
