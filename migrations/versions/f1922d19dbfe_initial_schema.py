"""initial schema: organizations, console users, tokens, users, groups, request log

Revision ID: f1922d19dbfe
Revises: 
Create Date: 2026-11-29 00:10:19.887894

"""
from datetime import datetime
from datetime import timezone

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f1922d19dbfe'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('slug', name=op.f('uq_organizations_slug'))
    )
    op.create_table('console_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('failed_login_count', sa.Integer(), nullable=False),
    sa.Column('failed_login_window_start', sa.DateTime(), nullable=True),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_console_users_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_users')),
    sa.UniqueConstraint('email', name=op.f('uq_console_users_email'))
    )
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_users_organization_id'), ['organization_id'], unique=False)

    op.create_table('groups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('display_name', sa.String(length=256), nullable=False),
    sa.Column('display_name_norm', sa.String(length=256), nullable=False),
    sa.Column('external_id', sa.String(length=256), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_modified_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_groups_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups'))
    )
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.create_index('ix_groups_org_created', ['organization_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('uq_groups_org_display_name', ['organization_id', 'display_name_norm'], unique=True)

    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('user_name', sa.String(length=256), nullable=False),
    sa.Column('user_name_norm', sa.String(length=256), nullable=False),
    sa.Column('external_id', sa.String(length=256), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('name_formatted', sa.String(length=512), nullable=True),
    sa.Column('name_family_name', sa.String(length=256), nullable=True),
    sa.Column('name_given_name', sa.String(length=256), nullable=True),
    sa.Column('name_middle_name', sa.String(length=256), nullable=True),
    sa.Column('name_honorific_prefix', sa.String(length=64), nullable=True),
    sa.Column('name_honorific_suffix', sa.String(length=64), nullable=True),
    sa.Column('display_name', sa.String(length=256), nullable=True),
    sa.Column('nick_name', sa.String(length=256), nullable=True),
    sa.Column('profile_url', sa.String(length=1024), nullable=True),
    sa.Column('title', sa.String(length=256), nullable=True),
    sa.Column('user_type', sa.String(length=64), nullable=True),
    sa.Column('preferred_language', sa.String(length=64), nullable=True),
    sa.Column('locale', sa.String(length=64), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('employee_number', sa.String(length=128), nullable=True),
    sa.Column('cost_center', sa.String(length=128), nullable=True),
    sa.Column('organization_name', sa.String(length=256), nullable=True),
    sa.Column('division', sa.String(length=256), nullable=True),
    sa.Column('department', sa.String(length=256), nullable=True),
    sa.Column('manager_value', sa.String(length=256), nullable=True),
    sa.Column('manager_ref', sa.String(length=1024), nullable=True),
    sa.Column('manager_display_name', sa.String(length=256), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_modified_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_users_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_org_created', ['organization_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_users_org_external_id', ['organization_id', 'external_id'], unique=False)
        batch_op.create_index('uq_users_org_user_name_live', ['organization_id', 'user_name_norm'], unique=True, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_label', sa.String(length=320), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_ip', sa.String(length=64), nullable=True),
    sa.Column('last_used_user_agent', sa.String(length=512), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['console_users.id'], name=op.f('fk_api_tokens_created_by_id_console_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_api_tokens_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('digest', name=op.f('uq_api_tokens_digest'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_organization_id'), ['organization_id'], unique=False)

    op.create_table('group_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_members_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_group_members_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_members')),
    sa.UniqueConstraint('group_id', 'user_id', name=op.f('uq_group_members_group_id_user_id'))
    )
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.create_index('ix_group_members_user', ['user_id', 'group_id'], unique=False)

    op.create_table('user_values',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('attribute', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('value_norm', sa.String(length=512), nullable=True),
    sa.Column('display', sa.String(length=512), nullable=True),
    sa.Column('type', sa.String(length=64), nullable=True),
    sa.Column('primary', sa.Boolean(), nullable=False),
    sa.Column('formatted', sa.String(length=1024), nullable=True),
    sa.Column('street_address', sa.String(length=512), nullable=True),
    sa.Column('locality', sa.String(length=256), nullable=True),
    sa.Column('region', sa.String(length=256), nullable=True),
    sa.Column('postal_code', sa.String(length=64), nullable=True),
    sa.Column('country', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_user_values_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_values_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_values'))
    )
    with op.batch_alter_table('user_values', schema=None) as batch_op:
        batch_op.create_index('ix_user_values_org_attr_value', ['organization_id', 'attribute', 'value_norm'], unique=False)
        batch_op.create_index('ix_user_values_user_attr', ['user_id', 'attribute'], unique=False)

    op.create_table('scim_request_logs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('token_name', sa.String(length=200), nullable=True),
    sa.Column('request_id', sa.String(length=32), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=2048), nullable=False),
    sa.Column('query_string', sa.Text(), nullable=True),
    sa.Column('resource_type', sa.String(length=16), nullable=True),
    sa.Column('resource_id', sa.String(length=64), nullable=True),
    sa.Column('resource_label', sa.String(length=256), nullable=True),
    sa.Column('operation', sa.String(length=32), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('request_headers', sa.JSON(), nullable=True),
    sa.Column('request_body', sa.Text(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('error_detail', sa.Text(), nullable=True),
    sa.Column('warnings', sa.JSON(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=True),
    sa.Column('notes', sa.JSON(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_scim_request_logs_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_scim_request_logs_token_id_api_tokens'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_request_logs'))
    )
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.create_index('ix_scim_logs_org_fingerprint', ['organization_id', 'fingerprint', 'created_at'], unique=False)
        batch_op.create_index('ix_scim_logs_org_resource', ['organization_id', 'resource_id', 'created_at'], unique=False)
        batch_op.create_index('ix_scim_logs_org_time', ['organization_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_scim_logs_time', ['created_at'], unique=False)


    # Every install has the organization that on-prem uses and the CLI defaults to.
    organizations = sa.table(
        "organizations", sa.column("slug"), sa.column("name"), sa.column("created_at")
    )
    op.bulk_insert(
        organizations,
        [{"slug": "default", "name": "Default organization",
          "created_at": datetime.now(timezone.utc).replace(tzinfo=None)}],
    )


def downgrade():
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_scim_logs_time')
        batch_op.drop_index('ix_scim_logs_org_time')
        batch_op.drop_index('ix_scim_logs_org_resource')
        batch_op.drop_index('ix_scim_logs_org_fingerprint')

    op.drop_table('scim_request_logs')
    with op.batch_alter_table('user_values', schema=None) as batch_op:
        batch_op.drop_index('ix_user_values_user_attr')
        batch_op.drop_index('ix_user_values_org_attr_value')

    op.drop_table('user_values')
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.drop_index('ix_group_members_user')

    op.drop_table('group_members')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_organization_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('uq_users_org_user_name_live', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
        batch_op.drop_index('ix_users_org_external_id')
        batch_op.drop_index('ix_users_org_created')

    op.drop_table('users')
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_index('uq_groups_org_display_name')
        batch_op.drop_index('ix_groups_org_created')

    op.drop_table('groups')
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_users_organization_id'))

    op.drop_table('console_users')
    op.drop_table('organizations')
