"""index-backed free-text search of the request log

The console's ``q`` used to be a substring match that read every entry in the date range.
It is now a prefix match on two indexes (and an exact match on the resource id, already
indexed): ``resource_label_key``, the lower-cased userName/displayName, and the path.

On PostgreSQL both are compared with collation "C" (byte order, as SQLite compares), so
that a prefix is one contiguous index range whatever the database's default collation.
Autogenerate does not compare collations: that part is written by hand. Existing rows get
their key here, lower-cased by Python as capture does.

Revision ID: b8042647ea65
Revises: 0bc1485bae2b
Create Date: 2026-11-29 01:54:05.189621

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b8042647ea65'
down_revision = '0bc1485bae2b'
branch_labels = None
depends_on = None

BATCH = 10_000


def _binary_string(length):
    return sa.String(length=length).with_variant(sa.String(length=length, collation='C'), 'postgresql')


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        # Same type, another collation: no table rewrite (the column has no index yet).
        op.alter_column(
            'scim_request_logs', 'path',
            type_=sa.String(length=2048, collation='C'),
            existing_type=sa.String(length=2048),
            existing_nullable=False,
        )
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resource_label_key', _binary_string(256), nullable=True))

    logs = sa.table(
        'scim_request_logs',
        sa.column('id', sa.BigInteger),
        sa.column('resource_label', sa.String),
        sa.column('resource_label_key', sa.String),
    )
    select = (
        sa.select(logs.c.id, logs.c.resource_label)
        .where(logs.c.resource_label.isnot(None), logs.c.id > sa.bindparam('after'))
        .order_by(logs.c.id)
        .limit(BATCH)
    )
    update = (
        logs.update()
        .where(logs.c.id == sa.bindparam('row_id'))
        .values(resource_label_key=sa.bindparam('key'))
    )
    after = 0
    while True:
        rows = bind.execute(select, {'after': after}).all()
        if not rows:
            break
        bind.execute(update, [{'row_id': i, 'key': label.lower()[:256]} for i, label in rows])
        after = rows[-1][0]

    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.create_index('ix_scim_logs_org_label_key', ['organization_id', 'resource_label_key', 'created_at'], unique=False)
        batch_op.create_index('ix_scim_logs_org_path', ['organization_id', 'path', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('scim_request_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_scim_logs_org_path')
        batch_op.drop_index('ix_scim_logs_org_label_key')
        batch_op.drop_column('resource_label_key')
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column(
            'scim_request_logs', 'path',
            type_=sa.String(length=2048),
            existing_type=sa.String(length=2048, collation='C'),
            existing_nullable=False,
        )
