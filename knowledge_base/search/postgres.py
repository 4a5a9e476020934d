"""PostgreSQL backend: `kb_search_index.vector`, a weighted 'simple' tsvector per article
(A title, B summary and tags, C body; Latin words as they are, Chinese as overlapping
pairs) under a GIN index; tsqueries are built here from lexemes quoted here and passed as
bound parameters to to_tsquery. Ranked with ts_rank_cd.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import bindparam, text

from knowledge_base.search.engine import Filters, Weights
from knowledge_base.search.snippets import quick_plain
from knowledge_base.search.terms import vocabulary_delta
from knowledge_base.search.text import (ArticleDocument, is_cjk, is_vocabulary_word,
                                        normalise, pairs, vector_doc, vocabulary)
from service.extensions import db

RELAXED_CAP = 1000  # relaxed matches counted at most (SearchResult.total)


def _lexeme(value: str) -> str:
    """A quoted tsquery lexeme ('' and \\ escaped: user text is never query syntax)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _term(term: str) -> str:
    """The tsquery of a strict term or relaxed unit."""
    if is_cjk(term):
        if len(term) == 1:
            return _lexeme(term) + ":*"  # a single character: pairs starting with it
        return "(" + " <-> ".join(_lexeme(pair) for pair in pairs(term)) + ")"
    return _lexeme(term) + ":*"  # Latin words: prefixes ("export" finds "exporting")


# ---------------------------------------------------------------- index upkeep

def _docs(article_id: int, document: ArticleDocument) -> dict:
    return {"id": article_id, "a": vector_doc(normalise(document.title)),
            "b": vector_doc(normalise(document.summary + " " + document.tags)),
            "c": vector_doc(normalise(document.body))}


_UPSERT = text(
    "INSERT INTO kb_search_index (article_id, vector) VALUES (:id, "
    "setweight(to_tsvector('simple', :a), 'A') || setweight(to_tsvector('simple', :b), 'B')"
    " || setweight(to_tsvector('simple', :c), 'C')) "
    "ON CONFLICT (article_id) DO UPDATE SET vector = EXCLUDED.vector")


def _old_words(article_id: int) -> set[str] | None:
    lexemes = db.session.execute(text("SELECT tsvector_to_array(vector) FROM kb_search_index "
                                      "WHERE article_id = :id"), {"id": article_id}).first()
    return None if lexemes is None else vocabulary(" ".join(lexemes[0]))


def index(article_id: int, document: ArticleDocument) -> None:
    """Upsert the article's vector; move the vocabulary counts by the words that changed."""
    old = _old_words(article_id) or set()
    db.session.execute(_UPSERT, _docs(article_id, document))
    _adjust(*vocabulary_delta(old, vocabulary(document.normalised)))


def remove(article_id: int) -> None:
    """Drop the article's vector and its words' counts."""
    old = _old_words(article_id)
    if old is None:
        return
    db.session.execute(text("DELETE FROM kb_search_index WHERE article_id = :id"),
                       {"id": article_id})
    _adjust(set(), old)


def _adjust(added: set[str], removed: set[str]) -> None:
    if added:
        db.session.execute(text(
            "INSERT INTO kb_search_terms (term, articles) VALUES (:term, 1) "
            "ON CONFLICT (term) DO UPDATE SET articles = kb_search_terms.articles + 1"),
            [{"term": term} for term in sorted(added)])
    if removed:
        terms = sorted(removed)
        db.session.execute(text("UPDATE kb_search_terms SET articles = articles - 1 "
                                "WHERE term = ANY(:terms)"), {"terms": terms})
        db.session.execute(text("DELETE FROM kb_search_terms WHERE term = ANY(:terms) "
                                "AND articles <= 0"), {"terms": terms})


def clear() -> None:
    """Empty the index and the vocabulary (reindex_all)."""
    db.session.execute(text("DELETE FROM kb_search_index"))
    db.session.execute(text("DELETE FROM kb_search_terms"))


def bulk_index(documents: list[tuple[int, ArticleDocument]]) -> None:
    """Insert many rows (after `clear`)."""
    db.session.execute(_UPSERT, [_docs(article_id, document)
                                 for article_id, document in documents])


def replace_vocabulary(counts: Counter[str]) -> None:
    """The vocabulary from exact counts (after `clear`)."""
    if counts:
        db.session.execute(text("INSERT INTO kb_search_terms (term, articles) "
                                "VALUES (:term, :articles)"),
                           [{"term": term, "articles": n} for term, n in sorted(counts.items())])


# ---------------------------------------------------------------- queries

_FROM = "FROM kb_search_index s JOIN kb_articles a ON a.id = s.article_id"
_PLAN_SETTINGS = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin")


@contextmanager
def _index_plans() -> Iterator[None]:
    """Run the statements inside with the GIN index and primary-key lookups.

    The planner charges nothing for de-TOASTing a tsvector in a filter, so for a word in a
    few percent of the articles it prefers a (parallel) sequential scan that reads every
    vector (~40 ms on 20,000 articles) over the GIN bitmap scan (~4 ms). The settings are
    transaction-local (set_config(…, true)) and put back afterwards; on an error the
    transaction is rolled back, which undoes them too.
    """
    names = {f"n{i}": name for i, name in enumerate(_PLAN_SETTINGS)}
    previous = db.session.execute(text("SELECT " + ", ".join(
        f"current_setting(:n{i})" for i in range(len(names)))), names).one()
    db.session.execute(text("SELECT " + ", ".join(
        f"set_config(:n{i}, 'off', true)" for i in range(len(names)))), names)
    yield
    db.session.execute(text("SELECT " + ", ".join(
        f"set_config(:n{i}, :v{i}, true)" for i in range(len(names)))),
        {**names, **{f"v{i}": value for i, value in enumerate(previous)}})


def _rank(weights: Weights) -> str:
    return f"ts_rank_cd('{weights.ts_rank}'::float4[], s.vector, to_tsquery('simple', :query))"


def find_strict(terms: list[str], filters: Filters, weights: Weights, limit: int,
                offset: int) -> tuple[list[tuple[int, float]], int]:
    """Articles matching every term, best first, and how many there are."""
    return _find(" & ".join(_term(term) for term in terms), filters, weights, limit, offset)


def _find(query: str, filters: Filters, weights: Weights, limit: int,
          offset: int) -> tuple[list[tuple[int, float]], int]:
    where, params = filters.sql()
    matching = f"{_FROM} WHERE s.vector @@ to_tsquery('simple', :query) AND {where}"
    with _index_plans():
        rows = db.session.execute(text(
            f"SELECT s.article_id AS id, {_rank(weights)} AS score, count(*) OVER () AS total "
            f"{matching} ORDER BY score DESC, s.article_id DESC LIMIT :limit OFFSET :offset"),
            {**params, "query": query, "limit": limit, "offset": offset}).all()
        if not rows and offset:  # past the end: still say how many there are
            total = db.session.execute(text(f"SELECT count(*) {matching}"),
                                       {**params, "query": query}).scalar_one()
            return [], total
    if not rows:
        return [], 0
    return [(row.id, row.score) for row in rows], rows[0].total


def find_relaxed(units: list[str], need: int, filters: Filters, weights: Weights, limit: int,
                 offset: int) -> tuple[list[tuple[int, float]], int]:
    """Articles matching at least `need` distinct units: most units first, then ts_rank_cd.

    Each unit's articles come from its own GIN bitmap scan (exact for lexemes: no vector is
    read), counted per article; only the articles that pass are ranked, which reads their
    vectors. Ranking every article that matches any unit was ~10x slower for sentences.
    """
    where, params = filters.sql()
    per_unit = " UNION ALL ".join(
        f"SELECT article_id FROM kb_search_index WHERE vector @@ to_tsquery('simple', :u{i})"
        for i in range(len(units)))
    with _index_plans():
        rows = db.session.execute(text(
            f"WITH counted AS (SELECT article_id, count(*) AS matched FROM ({per_unit}) hits "
            "GROUP BY article_id HAVING count(*) >= :need) "
            f"SELECT s.article_id AS id, {_rank(weights)} AS score, c.matched, "
            "count(*) OVER () AS total FROM counted c "
            "JOIN kb_search_index s ON s.article_id = c.article_id "
            f"JOIN kb_articles a ON a.id = c.article_id WHERE {where} "
            "ORDER BY c.matched DESC, score DESC, s.article_id DESC LIMIT :limit OFFSET :offset"),
            {**params, **{f"u{i}": _term(unit) for i, unit in enumerate(units)},
             "query": " | ".join(_term(unit) for unit in units), "need": need,
             "limit": limit, "offset": offset}).all()
    return [(row.id, row.score) for row in rows], (min(rows[0].total, RELAXED_CAP)
                                                   if rows else 0)


def find_short(words: list[str], filters: Filters, limit: int,
               offset: int) -> tuple[list[tuple[int, float]], int]:
    """Only short words or single characters: prefixes of the lexemes."""
    return _find(" & ".join(_term(word) for word in words), filters,
                 Weights((), "{0.05, 0.2, 0.4, 1.0}"), limit, offset)


def known(units: list[str]) -> list[bool]:
    """Whether any indexed article (whatever its status) contains each unit: looked up in
    the vocabulary (a tsvector EXISTS for an absent lexeme scans every row, as the planner
    expects it to be common), the index itself only for words the vocabulary lacks."""
    if not units:
        return []
    counted = frequencies([unit for unit in units if is_cjk(unit)])
    found = []
    for unit in units:
        if is_cjk(unit):
            found.append(unit in counted)
        elif is_vocabulary_word(unit):
            found.append(db.session.execute(text(
                "SELECT EXISTS (SELECT 1 FROM kb_search_terms WHERE term LIKE :prefix)"),
                {"prefix": unit + "%"}).scalar_one())
        else:  # three letters, digits: not in the vocabulary, so ask the index
            with _index_plans():
                found.append(db.session.execute(text(
                    "SELECT EXISTS (SELECT 1 FROM kb_search_index "
                    "WHERE vector @@ to_tsquery('simple', :query))"),
                    {"query": _term(unit)}).scalar_one())
    return found


def frequencies(units: list[str]) -> dict[str, int]:
    """How many articles use each unit (vocabulary words and pairs; others are absent)."""
    if not units:
        return {}
    rows = db.session.execute(text(
        "SELECT term, articles FROM kb_search_terms WHERE term = ANY(:units)"),
        {"units": list(units)}).all()
    return {row.term: row.articles for row in rows}


def article_count() -> int:
    """How many articles are indexed (the planner's estimate once analysed: cheap)."""
    estimate = db.session.execute(text(
        "SELECT reltuples FROM pg_class WHERE oid = 'kb_search_index'::regclass")).scalar()
    if estimate is not None and estimate >= 0:
        return int(estimate)
    return db.session.execute(text("SELECT count(*) FROM kb_search_index")).scalar_one()


def similar(word: str) -> list[tuple[str, int]]:
    """Vocabulary words similar to `word` by trigrams (pg_trgm), with their counts."""
    rows = db.session.execute(text(
        "SELECT term, articles FROM kb_search_terms WHERE term % :word "
        "ORDER BY term <-> :word LIMIT 30"), {"word": word}).all()
    return [(row.term, row.articles) for row in rows]


def visible(term: str, filters: Filters) -> bool:
    """Whether `term` finds at least one article within `filters`."""
    where, params = filters.sql()
    with _index_plans():
        return db.session.execute(text(
            f"SELECT 1 {_FROM} WHERE s.vector @@ to_tsquery('simple', :query) AND {where} "
            "LIMIT 1"), {**params, "query": _term(term)}).first() is not None


def texts(ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """(title, summary, body text) of the hits: sections and body quickly stripped of
    Markdown (a regex pass, not a render)."""
    from knowledge_base.models import KIND_SECTIONS, ArticleKind

    rows = db.session.execute(text(
        "SELECT id, kind, title, summary, body, sections FROM kb_articles WHERE id IN :ids")
        .bindparams(bindparam("ids", expanding=True)), {"ids": ids}).all()
    found = {}
    for row in rows:
        sections = row.sections or {}
        if isinstance(sections, str):  # JSON column read through text(): may be raw
            import json
            sections = json.loads(sections)
        parts = [sections.get(key) or "" for key in KIND_SECTIONS.get(ArticleKind(row.kind), ())]
        body = quick_plain("\n".join(filter(None, [*parts, row.body or ""])))
        found[row.id] = (row.title, row.summary or "", body)
    return found
