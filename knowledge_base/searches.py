"""Searches people ran, kept for the content-gap list (what was searched and not found)."""
from __future__ import annotations

import re

from knowledge_base.models import Search, SearchSource
from service.extensions import db
from service.validation import strip_controls

QUERY_MAX = 200  # Search.query's column width
_SPACES = re.compile(r"\s+")


def normalize_query(query: str | None) -> str:
    """A query as it is kept: no control characters, trimmed, whitespace collapsed, lower
    case, at most QUERY_MAX characters."""
    text = _SPACES.sub(" ", strip_controls(query or "")).strip().lower()
    return text[:QUERY_MAX].rstrip()


def search_language(language: str | None) -> str | None:
    """"zh" or "en" from a locale or language tag ("zh_CN", "en-US"…), else None."""
    value = (language or "").strip().lower()
    if value.startswith("zh"):
        return "zh"
    if value.startswith("en"):
        return "en"
    return None


def record_search(query: str, source: SearchSource, *, language: str | None,
                  results: int) -> None:
    """Keep one search (normalised query, where, language, number of results); an empty
    query keeps nothing. Flushes; the caller commits."""
    text = normalize_query(query)
    if not text:
        return
    db.session.add(Search(query=text, source=SearchSource(source),
                          language=search_language(language), results=max(int(results), 0)))
    db.session.flush()
