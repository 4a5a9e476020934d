"""trigram index for substring search on ticket subjects

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:35:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index("ix_tickets_subject_trgm", "tickets", ["subject"], unique=False,
                    postgresql_using="gin", postgresql_ops={"subject": "gin_trgm_ops"})


def downgrade():
    op.drop_index("ix_tickets_subject_trgm", table_name="tickets")
