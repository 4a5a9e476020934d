"""knowledge base: categories, articles and versions, their tickets, votes, deflections,
searches and views; the search backends' own index tables (FTS5 trigram on SQLite; tsvector
and pg_trgm on PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 08:56:39.182912

"""
from alembic import op
import sqlalchemy as sa

import service.db_types


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


# A frozen copy of knowledge_base.search.schema at this revision.
_SQLITE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_search_fts USING fts5("
    "title, summary, body, tags, title_pairs, text_pairs, tokenize = 'trigram')",
    "CREATE TABLE IF NOT EXISTS kb_search_terms ("
    "term VARCHAR(100) NOT NULL PRIMARY KEY, articles INTEGER NOT NULL DEFAULT 0)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_search_terms_fts USING fts5("
    "term, tokenize = 'trigram')",
)
_SQLITE_DROP = ("DROP TABLE IF EXISTS kb_search_terms_fts", "DROP TABLE IF EXISTS kb_search_terms",
                "DROP TABLE IF EXISTS kb_search_fts")
_POSTGRESQL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE IF NOT EXISTS kb_search_index ("
    "article_id INTEGER PRIMARY KEY REFERENCES kb_articles (id) ON DELETE CASCADE, "
    "vector TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_kb_search_index_vector ON kb_search_index USING gin (vector)",
    "CREATE TABLE IF NOT EXISTS kb_search_terms ("
    "term VARCHAR(100) NOT NULL PRIMARY KEY, articles INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS ix_kb_search_terms_trgm ON kb_search_terms "
    "USING gin (term gin_trgm_ops)",
)
_POSTGRESQL_DROP = ("DROP TABLE IF EXISTS kb_search_terms", "DROP TABLE IF EXISTS kb_search_index")


def _search_tables(sqlite: tuple[str, ...], postgresql: tuple[str, ...]) -> None:
    dialect = op.get_bind().dialect.name
    for statement in sqlite if dialect == "sqlite" else postgresql if dialect == "postgresql" else ():
        op.execute(statement)


def upgrade():
    op.create_table('kb_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('name_zh', sa.String(length=120), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=True),
    sa.Column('description_zh', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['kb_categories.id'], name=op.f('fk_kb_categories_parent_id_kb_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_kb_categories_slug'))
    )
    with op.batch_alter_table('kb_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_categories_parent_id'), ['parent_id'], unique=False)

    op.create_table('kb_searches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('query', sa.String(length=200), nullable=False),
    sa.Column('source', sa.Enum('help_centre', 'api', 'console', 'web_form', 'portal', name='kb_search_source', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_searches'))
    )
    with op.batch_alter_table('kb_searches', schema=None) as batch_op:
        batch_op.create_index('ix_kb_searches_created', ['created_at'], unique=False)
        batch_op.create_index('ix_kb_searches_no_result', ['created_at'], unique=False, postgresql_where=sa.text('results = 0'), sqlite_where=sa.text('results = 0'))

    op.create_table('kb_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('howto', 'troubleshooting', 'known_issue', 'root_cause', name='kb_article_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('known_issue_status', sa.Enum('investigating', 'identified', 'workaround', 'fixed', name='kb_known_issue_status', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('translation_group_id', sa.Integer(), nullable=True),
    sa.Column('audience', sa.Enum('public', 'internal', name='kb_audience', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('draft', 'in_review', 'published', 'archived', name='kb_article_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('review_by', sa.Date(), nullable=True),
    sa.Column('source_ticket_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('view_count', sa.Integer(), nullable=False),
    sa.Column('helpful_yes', sa.Integer(), nullable=False),
    sa.Column('helpful_no', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', service.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['kb_categories.id'], name=op.f('fk_kb_articles_category_id_kb_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_kb_articles_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_kb_articles_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_ticket_id'], ['tickets.id'], name=op.f('fk_kb_articles_source_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_articles'))
    )
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_articles_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_articles_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_kb_articles_published', ['audience', 'language', 'category_id'], unique=False, postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))
        batch_op.create_index('ix_kb_articles_review', ['review_by'], unique=False, postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))
        batch_op.create_index('ix_kb_articles_status', ['status', 'updated_at'], unique=False)
        batch_op.create_index('uq_kb_articles_translation', ['translation_group_id', 'language'], unique=True, postgresql_where=sa.text('translation_group_id IS NOT NULL'), sqlite_where=sa.text('translation_group_id IS NOT NULL'))

    op.create_table('kb_article_products',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_products_article_id_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'product', name=op.f('pk_kb_article_products'))
    )
    with op.batch_alter_table('kb_article_products', schema=None) as batch_op:
        batch_op.create_index('ix_kb_article_products_product', ['product', 'article_id'], unique=False)

    op.create_table('kb_article_tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('used', 'linked', 'source', name='kb_ticket_link', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ticket_resolved_at', service.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_tickets_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_kb_article_tickets_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kb_article_tickets_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_tickets')),
    sa.UniqueConstraint('article_id', 'ticket_id', 'kind', name='uq_kb_article_tickets')
    )
    with op.batch_alter_table('kb_article_tickets', schema=None) as batch_op:
        batch_op.create_index('ix_kb_article_tickets_created', ['created_at'], unique=False)
        batch_op.create_index('ix_kb_article_tickets_ticket', ['ticket_id'], unique=False)

    op.create_table('kb_article_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('howto', 'troubleshooting', 'known_issue', 'root_cause', name='kb_article_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('known_issue_status', sa.Enum('investigating', 'identified', 'workaround', 'fixed', name='kb_known_issue_status', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('products', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('audience', sa.Enum('public', 'internal', name='kb_audience', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('draft', 'in_review', 'published', 'archived', name='kb_article_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_versions_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_kb_article_versions_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category_id'], ['kb_categories.id'], name=op.f('fk_kb_article_versions_category_id_kb_categories'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_versions')),
    sa.UniqueConstraint('article_id', 'number', name='uq_kb_article_versions_number')
    )
    op.create_table('kb_article_views',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_views_article_id_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'day', name=op.f('pk_kb_article_views'))
    )
    with op.batch_alter_table('kb_article_views', schema=None) as batch_op:
        batch_op.create_index('ix_kb_article_views_day', ['day'], unique=False)

    op.create_table('kb_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_attachments_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_kb_attachments_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_attachments'))
    )
    with op.batch_alter_table('kb_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_attachments_article_id'), ['article_id'], unique=False)

    op.create_table('kb_deflections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('web_form', 'portal', 'help_centre', name='kb_deflection_source', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('query', sa.String(length=300), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_deflections_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_kb_deflections_contact_id_contacts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_deflections'))
    )
    with op.batch_alter_table('kb_deflections', schema=None) as batch_op:
        batch_op.create_index('ix_kb_deflections_article', ['article_id'], unique=False)
        batch_op.create_index('ix_kb_deflections_created', ['created_at'], unique=False)

    op.create_table('kb_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('visitor_key', sa.String(length=64), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_feedback_article_id_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_feedback')),
    sa.UniqueConstraint('article_id', 'visitor_key', name='uq_kb_feedback_visitor')
    )
    with op.batch_alter_table('kb_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_kb_feedback_created', ['created_at'], unique=False)

    _search_tables(_SQLITE, _POSTGRESQL)


def downgrade():
    _search_tables(_SQLITE_DROP, _POSTGRESQL_DROP)
    with op.batch_alter_table('kb_feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_feedback_created')

    op.drop_table('kb_feedback')
    with op.batch_alter_table('kb_deflections', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_deflections_created')
        batch_op.drop_index('ix_kb_deflections_article')

    op.drop_table('kb_deflections')
    with op.batch_alter_table('kb_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_attachments_article_id'))

    op.drop_table('kb_attachments')
    with op.batch_alter_table('kb_article_views', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_article_views_day')

    op.drop_table('kb_article_views')
    op.drop_table('kb_article_versions')
    with op.batch_alter_table('kb_article_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_article_tickets_ticket')
        batch_op.drop_index('ix_kb_article_tickets_created')

    op.drop_table('kb_article_tickets')
    with op.batch_alter_table('kb_article_products', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_article_products_product')

    op.drop_table('kb_article_products')
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.drop_index('uq_kb_articles_translation', postgresql_where=sa.text('translation_group_id IS NOT NULL'), sqlite_where=sa.text('translation_group_id IS NOT NULL'))
        batch_op.drop_index('ix_kb_articles_status')
        batch_op.drop_index('ix_kb_articles_review', postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))
        batch_op.drop_index('ix_kb_articles_published', postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))
        batch_op.drop_index(batch_op.f('ix_kb_articles_owner_id'))
        batch_op.drop_index(batch_op.f('ix_kb_articles_category_id'))

    op.drop_table('kb_articles')
    with op.batch_alter_table('kb_searches', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_searches_no_result', postgresql_where=sa.text('results = 0'), sqlite_where=sa.text('results = 0'))
        batch_op.drop_index('ix_kb_searches_created')

    op.drop_table('kb_searches')
    with op.batch_alter_table('kb_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_categories_parent_id'))

    op.drop_table('kb_categories')
