"""deleted photo ids (tombstones): a replayed upload of a deleted photo is refused (410)

Revision ID: 0005_photo_tombstones
Revises: 0002_checklist_uploads
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_photo_tombstones'
down_revision = '0002_checklist_uploads'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deleted_photos',
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_deleted_photos_deleted_by_id_users')),
    sa.PrimaryKeyConstraint('uuid', name=op.f('pk_deleted_photos'))
    )


def downgrade():
    op.drop_table('deleted_photos')
