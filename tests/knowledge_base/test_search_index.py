"""The search index's upkeep: index_article/remove_article in the caller's transaction, the
vocabulary's exact counts, reindex_all and `flask kb reindex`, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from flask import current_app

from knowledge_base.models import ArticleStatus
from knowledge_base.search import (SearchQuery, index_article, reindex_all, remove_article,
                                   search)
from service.extensions import db
from tests.knowledge_base.corpus import add_article, build_corpus


@pytest.fixture(params=["app", "pg_app"])
def corpus(request):
    request.getfixturevalue(request.param)
    # The vocabulary has no foreign key, so the PostgreSQL fixture's TRUNCATE … CASCADE
    # leaves it behind: start from an empty one.
    db.session.execute(db.text("DELETE FROM kb_search_terms"))
    return build_corpus()


def count(term: str) -> int | None:
    return db.session.execute(db.text("SELECT articles FROM kb_search_terms WHERE term = :term"),
                              {"term": term}).scalar()


def ids(text: str, **filters) -> list[int]:
    return [hit.article_id for hit in search(SearchQuery(text, **filters)).hits]


def test_vocabulary_counts_follow_saves(corpus):
    # refund: refund_policy_en, internal_en, draft_en, review_en, archived_en.
    assert count("refund") == 5
    assert count("退款") == 2  # Chinese pairs are counted too
    article = add_article("Refund by bank transfer", body="Refunds to a bank account.")
    assert count("refund") == 6 and count("transfer") == 1
    article.title, article.body = "Bank payouts", ""
    index_article(article)
    assert count("refund") == 5 and count("transfer") is None and count("payouts") == 1
    index_article(article)  # saving again without changes counts nothing twice
    assert count("payouts") == 1
    remove_article(article.id)
    assert count("payouts") is None and count("bank") is None
    remove_article(article.id)  # already gone: nothing happens
    assert count("refund") == 5


def test_index_writes_belong_to_the_callers_transaction(corpus):
    article = corpus.articles["password_en"]
    article.title = "Rotate your passphrase"
    index_article(article)
    assert ids("passphrase") == [article.id]
    db.session.rollback()
    assert ids("passphrase") == []
    assert ids("password") == [corpus.id("password_en")]
    assert count("passphrase") is None


def test_status_changes_are_seen_at_once(corpus):
    article = corpus.articles["draft_en"]
    assert ids("upcoming") == []
    article.status = ArticleStatus.PUBLISHED
    index_article(article)
    db.session.commit()
    assert ids("upcoming") == [article.id]


def test_reindex_all_rebuilds_index_and_vocabulary(corpus):
    db.session.execute(db.text("DELETE FROM kb_search_terms"))
    remove_article(corpus.id("password_en"))
    db.session.commit()
    assert ids("password") == []
    assert reindex_all() == len(corpus.articles)
    db.session.commit()
    assert ids("password") == [corpus.id("password_en")]
    assert search(SearchQuery("pasword")).corrected == "password"
    assert (count("refund"), count("password"), count("退款")) == (5, 1, 2)
    # The caller's objects stay usable (reindex_all reads columns, not entities).
    assert corpus.articles["refund_zh"].title == "退款政策"


def test_reindex_all_after_an_index_written_elsewhere(corpus):
    # Index rows of an article that no longer exists vanish with a rebuild.
    db.session.execute(db.text("DELETE FROM kb_article_products WHERE article_id = :id"),
                       {"id": corpus.id("export_en")})
    db.session.execute(db.text("DELETE FROM kb_articles WHERE id = :id"),
                       {"id": corpus.id("export_en")})
    reindex_all()
    db.session.commit()
    assert ids("export") == [corpus.id("billing_en")]


def test_reindex_command(corpus):
    db.session.execute(db.text("DELETE FROM kb_search_terms"))
    db.session.commit()
    result = current_app.test_cli_runner().invoke(args=["kb", "reindex"])
    assert result.exit_code == 0, result.output
    assert f"Indexed {len(corpus.articles)} articles" in result.output
    assert count("password") == 1
