"""Typo tolerance (English): the vocabulary's upkeep and the correction of query words.

`kb_search_terms` holds every Latin word (≥ 4 letters) and every CJK pair of every indexed
article with the number of articles using it (the pairs' counts serve the relaxed pass).
`index_article`/`remove_article` keep the counts exact (the old words are read back from
the index row being replaced); `reindex_all` rebuilds them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from knowledge_base.search.text import (QueryTerms, allowed_edits, damerau_levenshtein,
                                        is_vocabulary_word, normalise, replace_words)

if TYPE_CHECKING:
    from knowledge_base.search.engine import Filters

CANDIDATES_CHECKED = 3  # closest vocabulary words tried against the caller's filters


def vocabulary_delta(old: set[str], new: set[str]) -> tuple[set[str], set[str]]:
    """(words to count once more, words to count once less)."""
    return new - old, old - new


def closest(word: str, candidates: list[tuple[str, int]]) -> list[str]:
    """Candidates within the allowed edits, closest first, then the most used."""
    limit = allowed_edits(word)
    scored = []
    for term, articles in candidates:
        distance = damerau_levenshtein(word, term, limit)
        if term != word and distance <= limit:
            scored.append((distance, -articles, term))
    return [term for _, _, term in sorted(scored)]


def correct(backend, terms: QueryTerms, filters: Filters) -> tuple[QueryTerms, str | None]:
    """Replace query words no article contains by the closest vocabulary word that finds
    something within `filters` (so a correction never reveals words of articles the caller
    may not see). Returns the terms to search and the corrected query, if any."""
    words = [word for word in terms.long_words if is_vocabulary_word(word)]
    if not words:
        return terms, None
    unknown = [word for word, found in zip(words, backend.known(words), strict=True) if not found]
    corrections: dict[str, str] = {}
    for word in unknown:
        for term in closest(word, backend.similar(word))[:CANDIDATES_CHECKED]:
            if backend.visible(term, filters):
                corrections[word] = term
                break
    if not corrections:
        return terms, None
    text = replace_words(terms.text, corrections)
    fixed = QueryTerms(text, list(dict.fromkeys(corrections.get(word, word)
                                                for word in terms.long_words)),
                       terms.short_words, terms.runs)
    return fixed, normalise(text).strip()
