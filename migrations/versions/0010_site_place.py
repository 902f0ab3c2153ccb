"""sites carry their place after the 2025 reform (province, commune) and before it (former province, district)

The 2023 pilot was recorded by district of Bắc Giang. In 2025 Bắc Giang merged into Bắc Ninh and
districts were abolished: `district` becomes `former_district` (kept as recorded), `former_province`
keeps "Bắc Giang", and `province` becomes the current one. Communes were regrouped and are left as
they are (an admin or the import sets them). Downgrade puts the 2023 province back.

Revision ID: 0010_site_place
Revises: 0007_acknowledgements
Create Date: 2026-12-02 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_site_place'
down_revision = '0009_round_windows'
branch_labels = None
depends_on = None

MERGED_FROM = "Bắc Giang"  # NFC, as the app stores text
MERGED_INTO = "Bắc Ninh"


def upgrade():
    with op.batch_alter_table('sites') as batch:
        batch.alter_column('district', new_column_name='former_district',
                           existing_type=sa.String(length=120), existing_nullable=True)
        batch.add_column(sa.Column('former_province', sa.String(length=120), nullable=True))
        batch.create_index(batch.f('ix_sites_province'), ['province'], unique=False)
        batch.create_index(batch.f('ix_sites_commune'), ['commune'], unique=False)
    sites = sa.table('sites', sa.column('province', sa.String), sa.column('former_province', sa.String))
    op.execute(sites.update().where(sites.c.province == MERGED_FROM)
               .values(former_province=MERGED_FROM, province=MERGED_INTO))


def downgrade():
    sites = sa.table('sites', sa.column('province', sa.String), sa.column('former_province', sa.String))
    op.execute(sites.update().where(sites.c.former_province == MERGED_FROM, sites.c.province == MERGED_INTO)
               .values(province=MERGED_FROM))
    with op.batch_alter_table('sites') as batch:
        batch.drop_index(batch.f('ix_sites_commune'))
        batch.drop_index(batch.f('ix_sites_province'))
        batch.drop_column('former_province')
        batch.alter_column('former_district', new_column_name='district',
                           existing_type=sa.String(length=120), existing_nullable=True)
