"""the programme calendar: each round's window (phase, programme year, opens, closes)

Revision ID: 0009_round_windows
Revises: 0007_acknowledgements
Create Date: 2026-12-02 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_round_windows'
down_revision = '0008_void'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('round_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Date(), nullable=False),
    sa.Column('closes', sa.Date(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("phase IN ('baseline', 'periodic', 'final')", name=op.f('ck_round_windows_phase')),
    sa.CheckConstraint('closes >= opens', name=op.f('ck_round_windows_closes_after_opens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_windows')),
    sa.UniqueConstraint('year', 'phase', name=op.f('uq_round_windows_year_phase'))
    )


def downgrade():
    op.drop_table('round_windows')
