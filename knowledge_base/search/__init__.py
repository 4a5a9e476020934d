"""Knowledge-base search: the public contract (queries, hits, results) and the dispatch to
the database's backend (SQLite FTS5 or PostgreSQL tsvector).

Imports stay light: `knowledge_base.models` imports `.schema`, and the backends are loaded
only when a search or an index write runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

if TYPE_CHECKING:
    from knowledge_base.models import Article


@dataclass(frozen=True)
class SearchQuery:
    """What to look for and where: the text and the filters of the help centre/console."""

    text: str
    category_id: int | None = None  # includes subcategories
    product: str | None = None
    language: str | None = None  # "zh" | "en"
    kind: str | None = None
    audience: str | None = None  # "public" | "internal"
    public_only: bool = True  # True: published public articles only (customers)
    statuses: tuple[str, ...] = ("published",)  # staff console may pass drafts too
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class Hit:
    """One matching article, with its title and a snippet highlighted (escaped HTML)."""

    article_id: int
    score: float
    title_html: Markup
    snippet_html: Markup


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, how many matched in all, and the typo-corrected query if any."""

    hits: list[Hit]
    total: int  # relaxed (sentence) matches are counted among the top candidates only
    corrected: str | None


def _backend():
    from service.extensions import db

    if db.session.get_bind().dialect.name == "postgresql":
        from knowledge_base.search import postgres as backend
    else:
        from knowledge_base.search import sqlite as backend
    return backend


def search(query: SearchQuery) -> SearchResult:
    """Articles matching `query`, best first, with highlighted titles and snippets."""
    from knowledge_base.search.engine import run_search

    return run_search(_backend(), query)


def suggest(text: str, *, public_only: bool = True, language: str | None = None,
            product: str | None = None, limit: int = 5) -> list[Hit]:
    """A fast top-N while typing (title and summary weigh most); empty/1-char text → []."""
    from knowledge_base.search.engine import run_suggest

    return run_suggest(_backend(), text, public_only=public_only, language=language,
                       product=product, limit=limit)


def index_article(article: Article) -> None:
    """Insert or replace the article's index rows (in the caller's transaction)."""
    from knowledge_base.search.text import article_document

    _backend().index(article.id, article_document(article))


def remove_article(article_id: int) -> None:
    """Drop the article's index rows (in the caller's transaction)."""
    _backend().remove(article_id)


def reindex_all() -> int:
    """Rebuild the whole index and the typo vocabulary from the articles; returns the count."""
    from knowledge_base.search.engine import rebuild

    return rebuild(_backend())
