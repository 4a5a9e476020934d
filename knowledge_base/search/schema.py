"""The search backends' own tables, outside the models (Alembic neither builds nor compares
them from metadata; migration 0009 creates them with a frozen copy of these statements).

- SQLite: `kb_search_fts`, an FTS5 table with the trigram tokenizer (rowid = article id):
  substrings of three or more characters in any language. Chinese words of two characters
  are found through `title_pairs`/`text_pairs`, which hold each run of Chinese characters as
  space-separated overlapping pairs (" 申请 请退 退款 "), so the trigram " 退款" matches.
  `kb_search_terms` (+ its trigram FTS5 `kb_search_terms_fts`) is the English vocabulary
  for typo tolerance.
- PostgreSQL: `kb_search_index`, a weighted tsvector per article (Chinese as overlapping
  pairs, English words as they are) under a GIN index, and `kb_search_terms`, the English
  vocabulary under a pg_trgm GIN index for typo tolerance.

`create_all` (the SQLite test template, `flask setup` on an empty database) builds them too:
see `install_ddl_listeners`.
"""
from __future__ import annotations

from sqlalchemy import DDL, event

SQLITE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_search_fts USING fts5("
    "title, summary, body, tags, title_pairs, text_pairs, tokenize = 'trigram')",
    "CREATE TABLE IF NOT EXISTS kb_search_terms ("
    "term VARCHAR(100) NOT NULL PRIMARY KEY, articles INTEGER NOT NULL DEFAULT 0)",
    # rowid = kb_search_terms.rowid
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_search_terms_fts USING fts5("
    "term, tokenize = 'trigram')",
)
SQLITE_DROP = ("DROP TABLE IF EXISTS kb_search_terms_fts", "DROP TABLE IF EXISTS kb_search_terms",
               "DROP TABLE IF EXISTS kb_search_fts")

POSTGRESQL = (
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
POSTGRESQL_DROP = ("DROP TABLE IF EXISTS kb_search_terms", "DROP TABLE IF EXISTS kb_search_index")

PREFIX = "kb_search_"


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's filter: leave the search backends' own tables (and FTS5 shadows) alone."""
    return not (type_ == "table" and name is not None and name.startswith(PREFIX))


def install_ddl_listeners(articles_table) -> None:
    """Create the backend's tables whenever `create_all` creates kb_articles."""
    for statement in SQLITE:
        event.listen(articles_table, "after_create",
                     DDL(statement).execute_if(dialect="sqlite"))
    for statement in POSTGRESQL:
        event.listen(articles_table, "after_create",
                     DDL(statement).execute_if(dialect="postgresql"))
    for statement in SQLITE_DROP:
        event.listen(articles_table, "before_drop",
                     DDL(statement).execute_if(dialect="sqlite"))
    for statement in POSTGRESQL_DROP:
        event.listen(articles_table, "before_drop",
                     DDL(statement).execute_if(dialect="postgresql"))
