"""SQLite backend: FTS5 with the trigram tokenizer (`kb_search_fts`, rowid = article id).

Text columns hold NFKC text (the tokenizer folds case); Latin words of ≥ 3 characters and
CJK runs of ≥ 3 match as substring phrases over title/summary/body/tags, a two-character
CJK word as `" 退款"` over the pairs columns. Ranked with bm25() column weights.
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy import bindparam, text

from knowledge_base.search.engine import Filters, Weights
from knowledge_base.search.terms import vocabulary_delta
from knowledge_base.search.text import (ArticleDocument, is_cjk, normalise, pairs_doc,
                                        vocabulary)
from service.extensions import db

RELAXED_CANDIDATES = (60, 300)  # top candidates checked in Python: at least, at most
_TEXT_COLUMNS = "{title summary body tags}"
_PAIR_COLUMNS = "{title_pairs text_pairs}"


def _quote(phrase: str) -> str:
    """An FTS5 string: double quotes doubled, so user text is never query syntax."""
    return '"' + phrase.replace('"', '""') + '"'


def _term(term: str) -> str:
    """The FTS5 expression of a strict term or relaxed unit."""
    if is_cjk(term) and len(term) == 2:
        return f"{_PAIR_COLUMNS} : {_quote(' ' + term)}"
    return f"{_TEXT_COLUMNS} : {_quote(term)}"


def _bm25(weights: Weights) -> str:
    return "bm25(kb_search_fts, " + ", ".join(f"{weight:g}" for weight in weights.bm25) + ")"


# ---------------------------------------------------------------- index upkeep

def _row(article_id: int, document: ArticleDocument) -> dict:
    normal_title = normalise(document.title)
    rest = normalise(" ".join((document.summary, document.body, document.tags)))
    return {"id": article_id, "title": document.title, "summary": document.summary,
            "body": document.body, "tags": document.tags,
            "title_pairs": pairs_doc(normal_title), "text_pairs": pairs_doc(rest)}


_INSERT = text("INSERT INTO kb_search_fts (rowid, title, summary, body, tags, title_pairs, "
               "text_pairs) VALUES (:id, :title, :summary, :body, :tags, :title_pairs, "
               ":text_pairs)")


def index(article_id: int, document: ArticleDocument) -> None:
    """Replace the article's row and move the vocabulary counts by the words that changed."""
    old = db.session.execute(text("SELECT title, summary, body, tags FROM kb_search_fts "
                                  "WHERE rowid = :id"), {"id": article_id}).first()
    old_words = vocabulary(normalise(" ".join(old))) if old else set()
    db.session.execute(text("DELETE FROM kb_search_fts WHERE rowid = :id"), {"id": article_id})
    db.session.execute(_INSERT, _row(article_id, document))
    _adjust(*vocabulary_delta(old_words, vocabulary(document.normalised)))


def remove(article_id: int) -> None:
    """Drop the article's row and its words' counts."""
    old = db.session.execute(text("SELECT title, summary, body, tags FROM kb_search_fts "
                                  "WHERE rowid = :id"), {"id": article_id}).first()
    if old is None:
        return
    db.session.execute(text("DELETE FROM kb_search_fts WHERE rowid = :id"), {"id": article_id})
    _adjust(set(), vocabulary(normalise(" ".join(old))))


def _adjust(added: set[str], removed: set[str]) -> None:
    if added:
        rows = [{"term": term} for term in sorted(added)]
        db.session.execute(text(
            "INSERT INTO kb_search_terms (term, articles) VALUES (:term, 1) "
            "ON CONFLICT (term) DO UPDATE SET articles = articles + 1"), rows)
        # A count of 1 after the upsert: the word is new, so it enters the trigram table
        # (English words only: the typo lookup's; pairs have no trigram anyway).
        latin = [row for row in rows if not is_cjk(row["term"])]
        if latin:
            db.session.execute(text(
                "INSERT INTO kb_search_terms_fts (rowid, term) SELECT rowid, term "
                "FROM kb_search_terms WHERE term = :term AND articles = 1"), latin)
    if removed:
        db.session.execute(text("UPDATE kb_search_terms SET articles = articles - 1 "
                                "WHERE term = :term"),
                           [{"term": term} for term in sorted(removed)])
        gone = db.session.scalars(
            text("SELECT term FROM kb_search_terms WHERE articles <= 0 AND term IN :terms")
            .bindparams(bindparam("terms", expanding=True)), {"terms": sorted(removed)}).all()
        for term in (term for term in gone if not is_cjk(term)):
            # By content, not rowid: a VACUUM may renumber kb_search_terms.
            db.session.execute(text("DELETE FROM kb_search_terms_fts WHERE kb_search_terms_fts "
                                    "MATCH :phrase AND term = :term"),
                               {"phrase": _quote(term), "term": term})
        if gone:
            db.session.execute(text("DELETE FROM kb_search_terms WHERE articles <= 0"))


def clear() -> None:
    """Empty the index and the vocabulary (reindex_all)."""
    for table in ("kb_search_fts", "kb_search_terms_fts", "kb_search_terms"):
        db.session.execute(text(f"DELETE FROM {table}"))


def bulk_index(documents: list[tuple[int, ArticleDocument]]) -> None:
    """Insert many rows (after `clear`)."""
    db.session.execute(_INSERT, [_row(article_id, document) for article_id, document in documents])


def replace_vocabulary(counts: Counter[str]) -> None:
    """The vocabulary from exact counts (after `clear`)."""
    if counts:
        db.session.execute(text("INSERT INTO kb_search_terms (term, articles) "
                                "VALUES (:term, :articles)"),
                           [{"term": term, "articles": n} for term, n in sorted(counts.items())])
    db.session.execute(text("INSERT INTO kb_search_terms_fts (rowid, term) "
                            "SELECT rowid, term FROM kb_search_terms WHERE term GLOB '[a-z]*'"))


# ---------------------------------------------------------------- queries

def _where(filters: Filters) -> tuple[str, dict]:
    # Every query below joins kb_articles with CROSS JOIN: in SQLite that fixes the join
    # order, so FTS5 runs the MATCH once and kb_articles is probed by rowid. With a plain
    # JOIN the planner may drive from kb_articles' index and re-run the MATCH per article
    # (hundreds of ms on 20,000 articles).
    return filters.sql()


def _count(match: str, filters: Filters) -> int:
    where, params = _where(filters)
    return db.session.execute(text(
        "SELECT count(*) FROM kb_search_fts CROSS JOIN kb_articles a ON a.id = kb_search_fts.rowid "
        f"WHERE kb_search_fts MATCH :match AND {where}"), {**params, "match": match}).scalar_one()


def find_strict(terms: list[str], filters: Filters, weights: Weights, limit: int,
                offset: int) -> tuple[list[tuple[int, float]], int]:
    """Articles matching every term, best first, and how many there are."""
    match = " AND ".join(_term(term) for term in terms)
    where, params = _where(filters)
    rows = db.session.execute(text(
        "SELECT id, rank, count(*) OVER () AS total FROM ("
        f"SELECT kb_search_fts.rowid AS id, {_bm25(weights)} AS rank FROM kb_search_fts "
        "CROSS JOIN kb_articles a ON a.id = kb_search_fts.rowid "
        f"WHERE kb_search_fts MATCH :match AND {where}) "
        "ORDER BY rank, id DESC LIMIT :limit OFFSET :offset"),
        {**params, "match": match, "limit": limit, "offset": offset}).all()
    if not rows:
        return [], (_count(match, filters) if offset else 0)
    return [(row.id, -row.rank) for row in rows], rows[0].total


def find_relaxed(units: list[str], need: int, filters: Filters, weights: Weights, limit: int,
                 offset: int) -> tuple[list[tuple[int, float]], int]:
    """Articles matching any unit, kept when they match at least `need` distinct units
    (checked in Python on the top candidates' indexed text): most units, then bm25."""
    match = " OR ".join(_term(unit) for unit in units)
    where, params = _where(filters)
    low, high = RELAXED_CANDIDATES
    rows = db.session.execute(text(
        f"SELECT kb_search_fts.rowid AS id, {_bm25(weights)} AS rank, kb_search_fts.title, "
        "kb_search_fts.summary, kb_search_fts.body, kb_search_fts.tags FROM kb_search_fts "
        "CROSS JOIN kb_articles a ON a.id = kb_search_fts.rowid "
        f"WHERE kb_search_fts MATCH :match AND {where} ORDER BY rank LIMIT :candidates"),
        {**params, "match": match,
         "candidates": min(high, max(low, 3 * (offset + limit)))}).all()
    scored = []
    for row in rows:
        indexed = normalise(" ".join((row.title, row.summary, row.body, row.tags)))
        matched = sum(1 for unit in units if unit in indexed)
        if matched >= need:
            scored.append((-matched, row.rank, -row.id))
    scored.sort()
    return [(-article_id, -rank) for _, rank, article_id in scored[offset:offset + limit]], \
        len(scored)


def find_short(words: list[str], filters: Filters, limit: int,
               offset: int) -> tuple[list[tuple[int, float]], int]:
    """Only short words (< 3 chars) or single CJK characters: substrings of title, summary
    and tags (a scan; trigrams cannot index them). Newest first."""
    where, params = _where(filters)
    clauses = []
    for i, word in enumerate(words):
        params[f"s{i}"] = "%" + word.replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        clauses.append(" OR ".join(f"kb_search_fts.{column} LIKE :s{i} ESCAPE '\\'"
                                   for column in ("title", "summary", "tags")))
    rows = db.session.execute(text(
        "SELECT kb_search_fts.rowid AS id, count(*) OVER () AS total FROM kb_search_fts "
        "CROSS JOIN kb_articles a ON a.id = kb_search_fts.rowid "
        f"WHERE ({') AND ('.join(clauses)}) AND {where} "
        "ORDER BY a.updated_at DESC, a.id DESC LIMIT :limit OFFSET :offset"),
        {**params, "limit": limit, "offset": offset}).all()
    return [(row.id, 0.0) for row in rows], (rows[0].total if rows else 0)


def known(units: list[str]) -> list[bool]:
    """Whether any indexed article (whatever its status) contains each unit."""
    if not units:
        return []
    columns = ", ".join(f"EXISTS (SELECT 1 FROM kb_search_fts WHERE kb_search_fts MATCH :k{i})"
                        for i in range(len(units)))
    row = db.session.execute(text(f"SELECT {columns}"),
                             {f"k{i}": _term(unit) for i, unit in enumerate(units)}).one()
    return [bool(value) for value in row]


def frequencies(units: list[str]) -> dict[str, int]:
    """How many articles use each unit (vocabulary words and pairs; others are absent)."""
    rows = db.session.execute(text(
        "SELECT term, articles FROM kb_search_terms WHERE term IN :units")
        .bindparams(bindparam("units", expanding=True)), {"units": units}).all()
    return {row.term: row.articles for row in rows}


def article_count() -> int:
    """How many articles are indexed."""
    return db.session.execute(text("SELECT count(*) FROM kb_articles")).scalar_one()


def similar(word: str) -> list[tuple[str, int]]:
    """Vocabulary words sharing trigrams with `word` (the best few), with their counts."""
    trigrams = list(dict.fromkeys(word[i:i + 3] for i in range(len(word) - 2)))
    if not trigrams:
        return []
    rows = db.session.execute(text(
        "SELECT t.term, t.articles FROM kb_search_terms_fts "
        "JOIN kb_search_terms t ON t.term = kb_search_terms_fts.term "
        "WHERE kb_search_terms_fts MATCH :match AND length(kb_search_terms_fts.term) "
        "BETWEEN :shortest AND :longest ORDER BY bm25(kb_search_terms_fts) LIMIT 30"),
        {"match": " OR ".join(_quote(trigram) for trigram in trigrams),
         "shortest": len(word) - 2, "longest": len(word) + 2}).all()
    return [(row.term, row.articles) for row in rows]


def visible(term: str, filters: Filters) -> bool:
    """Whether `term` finds at least one article within `filters`."""
    where, params = _where(filters)
    return db.session.execute(text(
        "SELECT 1 FROM kb_search_fts CROSS JOIN kb_articles a ON a.id = kb_search_fts.rowid "
        f"WHERE kb_search_fts MATCH :match AND {where} LIMIT 1"),
        {**params, "match": _term(term)}).first() is not None


def texts(ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """(title, summary, body text) of the hits, from the index itself."""
    rows = db.session.execute(text(
        "SELECT rowid AS id, title, summary, body FROM kb_search_fts WHERE rowid IN :ids")
        .bindparams(bindparam("ids", expanding=True)), {"ids": ids}).all()
    return {row.id: (row.title, row.summary, row.body) for row in rows}
