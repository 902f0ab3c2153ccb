"""calibration audits: a third kind of audit, linked to the consultant audit it scores again

Revision ID: 0006_calibration
Revises: 0005_photo_tombstones
Create Date: 2026-12-02 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_calibration'
down_revision = '0005_photo_tombstones'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calibrates_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audits_calibrates_id'), ['calibrates_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_audits_calibrates_id_audits'), 'audits',
                                    ['calibrates_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_audits_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_audits_kind'),
                                         "kind IN ('consultant', 'self', 'calibration')")
        batch_op.create_check_constraint(batch_op.f('ck_audits_calibrates'),
                                         "(kind = 'calibration') = (calibrates_id IS NOT NULL)")


def downgrade():
    op.execute("DELETE FROM audits WHERE kind = 'calibration'")
    with op.batch_alter_table('audits', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_audits_calibrates'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_audits_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_audits_kind'), "kind IN ('consultant', 'self')")
        batch_op.drop_constraint(batch_op.f('fk_audits_calibrates_id_audits'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audits_calibrates_id'))
        batch_op.drop_column('calibrates_id')
