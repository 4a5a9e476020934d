"""The search passes, shared by both backends: parse the query, correct typos, match
strictly then relaxed, build the hits. The backends only run SQL."""
from __future__ import annotations

from dataclasses import dataclass

from knowledge_base.models import ArticleStatus
from knowledge_base.search import Hit, SearchQuery, SearchResult
from knowledge_base.search.snippets import highlight, snippet
from knowledge_base.search.terms import correct
from knowledge_base.search.text import QueryTerms, is_cjk, query_terms, required_matches

MAX_LIMIT = 100
MAX_OFFSET = 1000
COMMON_SHARE = 0.2  # relaxed pass: units in more than this share of articles are dropped
COMMON_MIN = 50
_STATUSES = {status.value for status in ArticleStatus}


@dataclass(frozen=True)
class Weights:
    """Column weights: SQLite bm25 (title, summary, body, tags, title_pairs, text_pairs)
    and PostgreSQL ts_rank_cd ({D, C, B, A}: A title, B summary+tags, C body)."""

    bm25: tuple[float, ...]
    ts_rank: str


SEARCH_WEIGHTS = Weights((10.0, 3.0, 1.0, 5.0, 10.0, 2.0), "{0.05, 0.2, 0.4, 1.0}")
SUGGEST_WEIGHTS = Weights((10.0, 6.0, 0.5, 4.0, 10.0, 1.0), "{0.02, 0.1, 0.6, 1.0}")


@dataclass(frozen=True)
class Filters:
    """Which articles a search may return."""

    public_only: bool = True
    statuses: tuple[str, ...] = ("published",)
    audience: str | None = None
    language: str | None = None
    kind: str | None = None
    category_id: int | None = None
    product: str | None = None

    def sql(self) -> tuple[str, dict]:
        """A WHERE fragment over `a` (kb_articles) with its bound parameters."""
        clauses: list[str] = []
        params: dict = {}
        if self.public_only:
            clauses.append("a.status = 'published' AND a.audience = 'public'")
        else:
            statuses = [status for status in self.statuses if status in _STATUSES]
            names = [f":f_status{i}" for i in range(len(statuses))]
            clauses.append(f"a.status IN ({', '.join(names)})" if names else "1 = 0")
            params.update({name[1:]: status for name, status in zip(names, statuses, strict=True)})
        for column in ("audience", "language", "kind"):
            if (value := getattr(self, column)) is not None:
                clauses.append(f"a.{column} = :f_{column}")
                params[f"f_{column}"] = value
        if self.category_id is not None:
            clauses.append(
                "a.category_id IN (WITH RECURSIVE tree(id) AS ("
                "SELECT id FROM kb_categories WHERE id = :f_category "
                "UNION ALL SELECT c.id FROM kb_categories c JOIN tree t ON c.parent_id = t.id)"
                " SELECT id FROM tree)")
            params["f_category"] = self.category_id
        if self.product is not None:
            clauses.append("EXISTS (SELECT 1 FROM kb_article_products p "
                           "WHERE p.article_id = a.id AND p.product = :f_product)")
            params["f_product"] = self.product
        return " AND ".join(clauses), params


def filters_of(query: SearchQuery) -> Filters:
    return Filters(public_only=query.public_only, statuses=tuple(query.statuses or ()),
                   audience=query.audience, language=query.language, kind=query.kind,
                   category_id=query.category_id, product=query.product)


def find(backend, terms: QueryTerms, filters: Filters, weights: Weights, limit: int,
         offset: int) -> tuple[list[tuple[int, float]], int]:
    """(article id, score) best first, and the number of matches: strict, then relaxed."""
    if not terms.strict:
        if terms.short_words:  # nothing longer to go on: short words, single characters
            return backend.find_short(terms.short_words, filters, limit, offset)
        return [], 0
    ranked, total = backend.find_strict(terms.strict, filters, weights, limit, offset)
    units = terms.units
    if total >= offset + limit or len(units) < 2:
        return ranked, total
    known = [unit for unit, found in zip(units, backend.known(units), strict=True) if found]
    if not known:
        return ranked, total
    # Units in a large share of all articles ("但是", "every") would drag most of the index
    # into the relaxed pass and prove nothing: leave them out (keep the rarest two if all are).
    used = backend.frequencies(known)
    common = max(COMMON_MIN, backend.article_count() * COMMON_SHARE)
    known = [unit for unit in known if used.get(unit, 0) <= common] or sorted(
        known, key=lambda unit: used.get(unit, 0))[:2]
    words = sum(1 for unit in known if not is_cjk(unit))
    need = required_matches(words, len(known) - words)
    relaxed, relaxed_total = backend.find_relaxed(known, need, filters, weights, limit, offset)
    return (relaxed, relaxed_total) if relaxed_total > total else (ranked, total)


def hits(backend, ranked: list[tuple[int, float]], terms: QueryTerms) -> list[Hit]:
    """Hits for the ranked ids, titles and snippets highlighted."""
    if not ranked:
        return []
    texts = backend.texts([article_id for article_id, _ in ranked])
    marks = terms.marks()
    found = []
    for article_id, score in ranked:
        if article_id not in texts:  # deleted since the match: skip rather than fail
            continue
        title, summary, body = texts[article_id]
        found.append(Hit(article_id, float(score), highlight(title, marks),
                         snippet(summary, body, marks)))
    return found


def run_search(backend, query: SearchQuery) -> SearchResult:
    """search(): see knowledge_base.search."""
    terms = query_terms(query.text)
    if terms.empty:
        return SearchResult([], 0, None)
    limit = min(max(int(query.limit), 1), MAX_LIMIT)
    offset = min(max(int(query.offset), 0), MAX_OFFSET)
    filters = filters_of(query)
    terms, corrected = correct(backend, terms, filters)
    ranked, total = find(backend, terms, filters, SEARCH_WEIGHTS, limit, offset)
    return SearchResult(hits(backend, ranked, terms), total, corrected)


def run_suggest(backend, text: str, *, public_only: bool, language: str | None,
                product: str | None, limit: int) -> list[Hit]:
    """suggest(): see knowledge_base.search."""
    if len((text or "").strip()) < 2:
        return []
    terms = query_terms(text)
    if terms.empty:
        return []
    filters = Filters(public_only=public_only, language=language, product=product)
    terms, _ = correct(backend, terms, filters)
    ranked, _ = find(backend, terms, filters, SUGGEST_WEIGHTS, min(max(limit, 1), 20), 0)
    return hits(backend, ranked, terms)


def rebuild(backend) -> int:
    """reindex_all(): every article's document, then the vocabulary, exactly."""
    from collections import Counter

    from service.extensions import db
    from knowledge_base.models import Article
    from knowledge_base.search.text import article_document, vocabulary

    backend.clear()
    counts: Counter[str] = Counter()
    done = 0
    last_id = 0
    while True:  # in batches: never the whole table in memory
        # Columns, not entities: the caller's session and its objects stay untouched.
        batch = db.session.execute(
            db.select(Article.id, Article.kind, Article.title, Article.summary, Article.body,
                      Article.sections, Article.tags)
            .where(Article.id > last_id).order_by(Article.id).limit(500)).all()
        if not batch:
            break
        documents = [(article.id, article_document(article)) for article in batch]
        backend.bulk_index(documents)
        for _, document in documents:
            counts.update(vocabulary(document.normalised))
        done += len(batch)
        last_id = batch[-1].id
    backend.replace_vocabulary(counts)
    return done
