"""single sign-on: OpenID settings, sign-in record, SSO console accounts

A console account is now either a password account (unique email, as before) or the
account of a provisioned user who signs in through SSO (scim_user_id set, no password);
the email stays unique among password accounts only, through a partial index.

On SQLite, changing console_users means rebuilding it, and dropping the old table fires
the ON DELETE actions of the tables that refer to it (foreign keys are on, and cannot be
turned off inside the migration's transaction): tokens would forget who created them and
console sessions would be deleted. Both are read before the rebuild and put back after.

Revision ID: 3d44cdfc1311
Revises: 651707dd4e7e
Create Date: 2026-11-29 16:29:13.610425

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d44cdfc1311'
down_revision = '651707dd4e7e'
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
    op.create_table('sso_configs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=1024), nullable=False),
    sa.Column('client_id', sa.String(length=512), nullable=False),
    sa.Column('client_secret_encrypted', sa.Text(), nullable=False),
    sa.Column('allowed_domains', sa.String(length=2048), nullable=False),
    sa.Column('provider_metadata', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('require_sso', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_sso_configs_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_configs')),
    sa.UniqueConstraint('organization_id', name=op.f('uq_sso_configs_organization_id'))
    )
    op.create_table('sso_sign_in_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.String(length=512), nullable=True),
    sa.Column('test', sa.Boolean(), nullable=False),
    sa.Column('subject', sa.String(length=256), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('scim_user_id', sa.String(length=36), nullable=True),
    sa.Column('user_name', sa.String(length=256), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('client_ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_sso_sign_in_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_sign_in_events'))
    )
    with op.batch_alter_table('sso_sign_in_events', schema=None) as batch_op:
        batch_op.create_index('ix_sso_events_org_time', ['organization_id', 'created_at', 'id'], unique=False)

    def alter(batch_op):
        batch_op.add_column(sa.Column('scim_user_id', sa.String(length=36), nullable=True))
        batch_op.alter_column('password_hash',
               existing_type=sa.VARCHAR(length=256),
               nullable=True)
        batch_op.drop_constraint(batch_op.f('uq_console_users_email'), type_='unique')
        batch_op.create_index('uq_console_users_password_email', ['email'], unique=True, sqlite_where=sa.text('scim_user_id IS NULL'), postgresql_where=sa.text('scim_user_id IS NULL'))
        batch_op.create_unique_constraint(batch_op.f('uq_console_users_scim_user_id'), ['scim_user_id'])
        batch_op.create_foreign_key(batch_op.f('fk_console_users_scim_user_id_users'), 'users', ['scim_user_id'], ['id'], ondelete='CASCADE')

    _rebuild_console_users(alter)


def downgrade():
    # SSO accounts cannot exist without the column; their tokens keep created_by_label.
    op.execute("UPDATE api_tokens SET created_by_id = NULL WHERE created_by_id IN "
               "(SELECT id FROM console_users WHERE scim_user_id IS NOT NULL)")
    op.execute("DELETE FROM console_sessions WHERE console_user_id IN "
               "(SELECT id FROM console_users WHERE scim_user_id IS NOT NULL)")
    op.execute("DELETE FROM console_users WHERE scim_user_id IS NOT NULL")

    def alter(batch_op):
        batch_op.drop_constraint(batch_op.f('fk_console_users_scim_user_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_console_users_scim_user_id'), type_='unique')
        batch_op.drop_index('uq_console_users_password_email', sqlite_where=sa.text('scim_user_id IS NULL'), postgresql_where=sa.text('scim_user_id IS NULL'))
        batch_op.create_unique_constraint(batch_op.f('uq_console_users_email'), ['email'])
        batch_op.alter_column('password_hash',
               existing_type=sa.VARCHAR(length=256),
               nullable=False)
        batch_op.drop_column('scim_user_id')

    _rebuild_console_users(alter)

    with op.batch_alter_table('sso_sign_in_events', schema=None) as batch_op:
        batch_op.drop_index('ix_sso_events_org_time')

    op.drop_table('sso_sign_in_events')
    op.drop_table('sso_configs')
