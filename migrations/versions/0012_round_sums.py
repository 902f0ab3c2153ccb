"""round_sums: each site's pair of compared rounds summed once and kept

A submitted baseline and final do not change (a change needs a reopen, and bumps the row version),
so their sums are stored under the pair's audit ids and row versions and a national programme's
comparison reads about 14 rows per site instead of adding up its answers again. The table starts
empty: each pair is summed and stored on its first read.

Revision ID: 0012_round_sums
Revises: 0011_answer_old_values
Create Date: 2026-12-04 20:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_round_sums'
down_revision = '0011_answer_old_values'
branch_labels = None
depends_on = None

FIGURES = ('b_answers', 'b_total', 'b_count', 'b_na', 'f_answers', 'f_total', 'f_count', 'f_na',
           'mb_total', 'mb_count', 'mf_total', 'mf_count')


def upgrade():
    op.create_table('round_sums',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('baseline_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('baseline_version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('final_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('final_version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('part', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    *(sa.Column(name, sa.Integer(), nullable=False) for name in FIGURES),
    sa.Column('excluded', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_round_sums_site_id_sites'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'baseline_id', 'baseline_version', 'final_id', 'final_version', 'part',
                            'key', name=op.f('pk_round_sums'))
    )


def downgrade():
    op.drop_table('round_sums')
