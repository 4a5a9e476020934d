"""rollup details

Report rollup cells gain a cut (every row, per group of the rollup dimension, or per group
and one detail: agent, channel, priority, category, product, tier, team) and the detail's
value, so that filtered and sliced long-period reports are answered from cells too; and a
cell becomes a series: a histogram or a distinct count's members are kept whole in one
JSON payload instead of one row per bucket or member.
Derived data: the old cells are dropped and every built day forgotten; until the
report-rollups job (or `flask --app wsgi reports rollup --all`) builds them again,
reports are counted live, exactly as before the rollups.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _cells(*columns: sa.Column, key: tuple[str, ...]) -> None:
    op.create_table(
        'report_rollup_cells',
        sa.Column('report', sa.String(length=40), nullable=False),
        sa.Column('span', sa.String(length=5), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint(*key, name=op.f('pk_report_rollup_cells')))


def upgrade():
    op.execute("DELETE FROM report_rollup_days")
    op.drop_table('report_rollup_cells')
    _cells(sa.Column('cut', sa.String(length=16), nullable=False),
           sa.Column('measure', sa.String(length=40), nullable=False),
           sa.Column('day', sa.Date(), nullable=False),
           sa.Column('key', sa.String(length=64), nullable=False),
           sa.Column('detail', sa.String(length=80), nullable=False),
           sa.Column('value', sa.Float(), nullable=True),
           sa.Column('payload', sa.Text(), nullable=True),
           key=('report', 'span', 'cut', 'measure', 'day', 'key', 'detail'))


def downgrade():
    op.execute("DELETE FROM report_rollup_days")
    op.drop_table('report_rollup_cells')
    _cells(sa.Column('level', sa.SmallInteger(), nullable=False),
           sa.Column('measure', sa.String(length=40), nullable=False),
           sa.Column('day', sa.Date(), nullable=False),
           sa.Column('key', sa.String(length=64), nullable=False),
           sa.Column('slot', sa.BigInteger(), nullable=False),
           sa.Column('value', sa.Float(), nullable=False),
           key=('report', 'span', 'level', 'measure', 'day', 'key', 'slot'))
