"""provisioning events outbox

The events table (willow/events) and the two per-organization counters it needs: the
last event sequence number handed out, and the last one removed by retention.

Revision ID: 5e1f0a7c2b90
Revises: 1c305c84b74e
Create Date: 2026-12-07 02:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1f0a7c2b90'
down_revision = '1c305c84b74e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_sequence', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('events_pruned_through', sa.BigInteger(), server_default='0', nullable=False))

    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=True),
    sa.Column('actor', sa.String(length=320), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_events_event_id')),
    sa.UniqueConstraint('organization_id', 'sequence', name='uq_events_org_sequence')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_occurred', ['occurred_at'], unique=False)
        batch_op.create_index('ix_events_org_request', ['organization_id', 'request_id'], unique=False, sqlite_where=sa.text('request_id IS NOT NULL'), postgresql_where=sa.text('request_id IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_org_request', sqlite_where=sa.text('request_id IS NOT NULL'), postgresql_where=sa.text('request_id IS NOT NULL'))
        batch_op.drop_index('ix_events_occurred')

    op.drop_table('events')
    # Not in batch mode: on SQLite that rebuilds organizations, and dropping the old
    # table would fire the ON DELETE CASCADE of every table that refers to it. SQLite
    # drops a column in place since 3.35.
    op.drop_column('organizations', 'events_pruned_through')
    op.drop_column('organizations', 'event_sequence')
