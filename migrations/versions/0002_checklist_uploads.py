"""checklist uploads (an XLSX, who uploaded and published it) and zones' room examples

Revision ID: 0002_checklist_uploads
Revises: 0001
Create Date: 2026-12-01 19:48:27.369777

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_checklist_uploads'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('checklist_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('xlsx', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_checklist_uploads_published_by_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['checklist_templates.id'], name=op.f('fk_checklist_uploads_template_id_checklist_templates')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_checklist_uploads_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_uploads')),
    sa.UniqueConstraint('template_id', name=op.f('uq_checklist_uploads_template_id'))
    )
    with op.batch_alter_table('checklist_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_uploads_key'), ['key'], unique=False)

    with op.batch_alter_table('checklist_zones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('room_examples', sa.String(length=200), server_default='', nullable=False))



def downgrade():
    with op.batch_alter_table('checklist_zones', schema=None) as batch_op:
        batch_op.drop_column('room_examples')

    with op.batch_alter_table('checklist_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklist_uploads_key'))

    op.drop_table('checklist_uploads')
