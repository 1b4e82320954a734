"""sso domains verified and unique, sso subjects bound

An organization's email domains move from the space-separated sso_configs.allowed_domains
to rows of sso_domains, where a domain is unique across organizations and routes sign-ins
only once verified. Existing domains come over unverified (with a fresh verification
token); a domain listed by several organizations stays with the one that has the lowest
id, as no rule can tell which is right. sso_subjects binds a user to the provider's sub.

Revision ID: 8a3351f943a1
Revises: 1c6cde94efc1
Create Date: 2026-12-07 02:15:47.242262

"""
import secrets
from datetime import datetime
from datetime import timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8a3351f943a1'
down_revision = '1c6cde94efc1'
branch_labels = None
depends_on = None


def _copy_domains_to_rows() -> None:
    bind = op.get_bind()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    taken: set[str] = set()
    rows = bind.execute(sa.text(
        "SELECT organization_id, allowed_domains FROM sso_configs ORDER BY organization_id"
    )).all()
    for organization_id, domains in rows:
        for domain in (domains or "").split():
            if domain in taken:
                continue
            taken.add(domain)
            bind.execute(
                sa.text(
                    "INSERT INTO sso_domains (organization_id, domain, verification_token, "
                    "created_at) VALUES (:o, :d, :t, :c)"
                ),
                {"o": organization_id, "d": domain, "t": secrets.token_urlsafe(24), "c": now},
            )


def _copy_rows_to_domains() -> None:
    bind = op.get_bind()
    domains: dict[int, list[str]] = {}
    for organization_id, domain in bind.execute(sa.text(
        "SELECT organization_id, domain FROM sso_domains ORDER BY id"
    )):
        domains.setdefault(organization_id, []).append(domain)
    for organization_id, names in domains.items():
        bind.execute(
            sa.text("UPDATE sso_configs SET allowed_domains = :d WHERE organization_id = :o"),
            {"d": " ".join(names)[:2048], "o": organization_id},
        )


def upgrade():
    op.create_table('sso_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('verification_token', sa.String(length=64), nullable=False),
    sa.Column('verified_at', sa.DateTime(), nullable=True),
    sa.Column('verified_by', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_sso_domains_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_domains')),
    sa.UniqueConstraint('domain', name=op.f('uq_sso_domains_domain'))
    )
    with op.batch_alter_table('sso_domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_domains_organization_id'), ['organization_id'], unique=False)

    op.create_table('sso_subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('scim_user_id', sa.String(length=36), nullable=False),
    sa.Column('issuer', sa.String(length=1024), nullable=False),
    sa.Column('subject', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_sso_subjects_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scim_user_id'], ['users.id'], name=op.f('fk_sso_subjects_scim_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_subjects')),
    sa.UniqueConstraint('scim_user_id', 'issuer', name=op.f('uq_sso_subjects_scim_user_id_issuer'))
    )
    with op.batch_alter_table('sso_subjects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_subjects_organization_id'), ['organization_id'], unique=False)

    _copy_domains_to_rows()
    with op.batch_alter_table('sso_configs', schema=None) as batch_op:
        batch_op.drop_column('allowed_domains')


def downgrade():
    with op.batch_alter_table('sso_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'allowed_domains', sa.String(length=2048), nullable=False, server_default=''
        ))
    _copy_rows_to_domains()

    with op.batch_alter_table('sso_subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_subjects_organization_id'))

    op.drop_table('sso_subjects')
    with op.batch_alter_table('sso_domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_domains_organization_id'))

    op.drop_table('sso_domains')
