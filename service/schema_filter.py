"""Which database objects Alembic's model comparison (autogenerate, `flask db check`, the
models-and-migrations test) looks at."""
from __future__ import annotations


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Leave out what migrations and DDL listeners keep outside the models: the search
    backends' own tables, and PostgreSQL's expression indexes on tickets' SLA moments."""
    from knowledge_base.search.schema import include_name as search_tables
    from tickets.models import EXPRESSION_INDEXES

    return search_tables(name, type_, parent_names) and name not in EXPRESSION_INDEXES
