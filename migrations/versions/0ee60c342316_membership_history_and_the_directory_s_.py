"""membership history, and indexes for the user's story and the directory's sort

``membership_changes``: every user a SCIM request added to or removed from a group, and
the members of a deleted group (willow/membership_history), read by the user's directory
page and the request log's search. Its history starts with the member events the events
outbox still holds (``group.member_added`` / ``group.member_removed`` name the user, the
group and the request); a deleted group's members were never recorded before.

``ix_scim_logs_org_group_request``: group requests by request id (partial, so no other
log write pays for it). ``ix_users_org_modified``: the directory's "Last modified" sort.

Autogenerate does not compare index predicates, and would wrap each index in a batch
operation: written by hand, with plain ``create_index`` (no table is rebuilt).

Revision ID: 0ee60c342316
Revises: 3e05fa5199c6
Create Date: 2026-12-07 05:27:28.488997

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0ee60c342316'
down_revision = '3e05fa5199c6'
branch_labels = None
depends_on = None

GROUP_ONLY = sa.text("resource_type = 'Group'")


def upgrade():
    op.create_table('membership_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.Column('group_name', sa.String(length=256), nullable=True),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_membership_changes_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_changes'))
    )
    op.create_index('ix_membership_changes_occurred', 'membership_changes', ['occurred_at'], unique=False)
    op.create_index('ix_membership_changes_org_user', 'membership_changes', ['organization_id', 'user_id', 'occurred_at'], unique=False)
    op.create_index(
        'ix_scim_logs_org_group_request', 'scim_request_logs',
        ['organization_id', 'request_id', 'created_at', 'status_code', 'method'],
        unique=False, sqlite_where=GROUP_ONLY, postgresql_where=GROUP_ONLY,
    )
    op.create_index('ix_users_org_modified', 'users', ['organization_id', 'last_modified_at', 'id'], unique=False)
    _from_member_events()


def _from_member_events():
    """One INSERT … SELECT from the member events' JSON, in the database."""
    if op.get_bind().dialect.name == 'postgresql':
        field = "(body::json #>> '{{data,{0},{1}}}')"
    else:
        field = "json_extract(body, '$.data.{0}.{1}')"
    op.execute(
        "INSERT INTO membership_changes"
        " (organization_id, user_id, group_id, group_name, change, request_id, occurred_at)"
        f" SELECT organization_id, {field.format('user', 'id')}, {field.format('group', 'id')},"
        f" {field.format('group', 'displayName')},"
        " CASE type WHEN 'group.member_added' THEN 'added' ELSE 'removed' END,"
        " request_id, occurred_at FROM events"
        " WHERE type IN ('group.member_added', 'group.member_removed')"
        " ORDER BY id"
    )


def downgrade():
    op.drop_index('ix_users_org_modified', table_name='users')
    op.drop_index('ix_scim_logs_org_group_request', table_name='scim_request_logs')
    op.drop_index('ix_membership_changes_org_user', table_name='membership_changes')
    op.drop_index('ix_membership_changes_occurred', table_name='membership_changes')
    op.drop_table('membership_changes')
