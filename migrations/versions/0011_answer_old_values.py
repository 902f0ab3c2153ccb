"""answers keep their value before the latest save, so every change of a draft is logged too

The save's upsert copies the answer's score, N/A and note into old_* as it overwrites them and
returns both, so the history can say "from what to what" for every change (not only after a
reopen) without reading the answers first. Existing rows start with no old value.

Revision ID: 0011_answer_old_values
Revises: 0010_site_place
Create Date: 2026-12-03 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_answer_old_values'
down_revision = '0010_site_place'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('answers') as batch:
        batch.add_column(sa.Column('old_score', sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column('old_na', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('old_note', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('answers') as batch:
        batch.drop_column('old_note')
        batch.drop_column('old_na')
        batch.drop_column('old_score')
