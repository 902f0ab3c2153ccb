"""a reviewer voids an audit with a reason: it stays readable, counts nowhere, and its round may start again

Revision ID: 0008_void
Revises: 0007_acknowledgements
Create Date: 2026-12-02 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_void'
down_revision = '0007_acknowledgements'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('voided_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audits_voided_by_id_users'), 'users',
                                    ['voided_by_id'], ['id'])
    with op.batch_alter_table('audits', schema=None) as batch_op:
        batch_op.alter_column('void_reason', server_default=None)


def downgrade():
    with op.batch_alter_table('audits', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audits_voided_by_id_users'), type_='foreignkey')
        batch_op.drop_column('voided_by_id')
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_at')
