"""the site head's acknowledgements of submitted consultant audits (sign-off of the audit record)

Revision ID: 0007_acknowledgements
Revises: 0006_calibration
Create Date: 2026-12-02 00:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_acknowledgements'
down_revision = '0006_calibration'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['audit_id'], ['audits.id'], name=op.f('fk_acknowledgements_audit_id_audits'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_acknowledgements_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgements'))
    )
    op.create_index(op.f('ix_acknowledgements_audit_id'), 'acknowledgements', ['audit_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_acknowledgements_audit_id'), table_name='acknowledgements')
    op.drop_table('acknowledgements')
