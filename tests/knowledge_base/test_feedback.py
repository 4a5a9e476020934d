""""Was this helpful?": one vote per visitor and article, counters that follow a changed
vote, comments, and a form that refuses bad input and a missing CSRF token."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from knowledge_base import feedback
from knowledge_base.models import Article, ArticleFeedback
from service.errors import InvalidInput, NotFound
from service.extensions import db
from tests.knowledge_base.test_help_centre import count, csrf_of, get, hidden_articles, write

KEY_A = hashlib.sha256(b"visitor a").hexdigest()
KEY_B = hashlib.sha256(b"visitor b").hexdigest()


@pytest.fixture
def editor(make_user):
    return make_user("lead")


def counters(article_id: int) -> tuple[int, int]:
    db.session.expire_all()
    article = db.session.get(Article, article_id)
    return article.helpful_yes, article.helpful_no


def post_vote(client, article_id: int, **fields):
    token = csrf_of(get(client, f"/help/articles/{article_id}").data)
    return client.post(f"/help/articles/{article_id}/feedback",
                       data={"csrf_token": token, **fields})


# ---- the service ----

def test_one_vote_per_visitor_and_a_changed_vote_moves_the_counters(app, editor):
    article = write(editor, "Reset your password")
    feedback.vote(article.id, KEY_A, True, comment="Clear steps", language="zh_CN")
    feedback.vote(article.id, KEY_B, True)
    db.session.commit()
    assert counters(article.id) == (2, 0)
    feedback.vote(article.id, KEY_A, True)  # the same answer again: nothing moves
    db.session.commit()
    assert counters(article.id) == (2, 0)
    row = db.session.scalar(select(ArticleFeedback).where(ArticleFeedback.visitor_key == KEY_A))
    assert row.comment == "Clear steps" and row.language == "zh"  # comment kept
    feedback.vote(article.id, KEY_A, False, comment="Step 3 is missing")
    db.session.commit()
    assert counters(article.id) == (1, 1)
    assert count(ArticleFeedback) == 2
    db.session.refresh(row)
    assert (row.helpful, row.comment) == (False, "Step 3 is missing")
    feedback.vote(article.id, KEY_A, True)  # changed back without a comment: comment dropped
    db.session.commit()
    db.session.refresh(row)
    assert counters(article.id) == (2, 0) and row.comment is None


@pytest.mark.parametrize("key, helpful, comment, field", [
    ("not-a-key", True, None, "visitor_key"),
    (KEY_A.upper(), True, None, "visitor_key"),
    (KEY_A, "yes", None, "helpful"),
    (KEY_A, True, "x" * 2001, "comment"),
])
def test_bad_votes_are_refused_and_nothing_is_written(app, editor, key, helpful, comment,
                                                      field):
    article = write(editor, "Reset your password")
    with pytest.raises(InvalidInput) as refused:
        feedback.vote(article.id, key, helpful, comment=comment)
    assert field in refused.value.errors
    assert count(ArticleFeedback) == 0 and counters(article.id) == (0, 0)


def test_hidden_articles_take_no_votes(app, editor):
    for article in hidden_articles(editor, "Server keys"):
        with pytest.raises(NotFound):
            feedback.vote(article.id, KEY_A, True)
    for impossible in (0, 2**31, "1", True):
        with pytest.raises(NotFound):
            feedback.vote(impossible, KEY_A, True)
    assert count(ArticleFeedback) == 0


# ---- the page ----

def test_voting_on_the_page_thanks_and_a_second_vote_replaces_the_first(client, editor):
    article = write(editor, "Reset your password")
    response = post_vote(client, article.id, helpful="yes", comment="  Very clear  ")
    assert response.status_code == 200
    assert "Thank you for your feedback" in response.get_data(as_text=True)
    assert counters(article.id) == (1, 0)
    row = db.session.scalar(select(ArticleFeedback))
    assert row.comment == "Very clear" and len(row.visitor_key) == 64
    page = get(client, f"/help/articles/{article.id}?lang=en").get_data(as_text=True)
    assert "You said this article was helpful" in page
    post_vote(client, article.id, helpful="no")
    assert counters(article.id) == (0, 1) and count(ArticleFeedback) == 1
    # Another browser is another visitor.
    other = client.application.test_client()
    assert post_vote(other, article.id, helpful="no").status_code == 200
    assert counters(article.id) == (0, 2) and count(ArticleFeedback) == 2


def test_the_visitor_cookie_is_stored_only_hashed(client, editor):
    article = write(editor, "Reset your password")
    post_vote(client, article.id, helpful="yes")
    raw = client.get_cookie("kb_visitor", path="/help").value
    row = db.session.scalar(select(ArticleFeedback))
    assert row.visitor_key == hashlib.sha256(raw.encode()).hexdigest() != raw


def test_a_portal_contact_votes_once_on_every_device(client, editor, make_ticket):
    import time

    article = write(editor, "Reset your password")
    contact = make_ticket(customer_email="casey@example.com").contact
    other = client.application.test_client()
    for browser in (client, other):
        with browser.session_transaction() as session:
            session["portal"] = {"c": contact.id, "s": "all", "iat": int(time.time())}
        post_vote(browser, article.id, helpful="yes")
    assert count(ArticleFeedback) == 1 and counters(article.id) == (1, 0)


@pytest.mark.parametrize("fields", [{"helpful": "maybe"}, {}, {"helpful": "yes",
                                                               "comment": "x" * 2001}])
def test_bad_input_shows_the_article_again_with_400(client, editor, fields):
    article = write(editor, "Reset your password")
    response = post_vote(client, article.id, **fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Reset your password" in page and 'class="form-errors"' in page
    assert count(ArticleFeedback) == 0 and counters(article.id) == (0, 0)


def test_csrf_token_is_required(client, editor):
    article = write(editor, "Reset your password")
    get(client, f"/help/articles/{article.id}")
    response = client.post(f"/help/articles/{article.id}/feedback", data={"helpful": "yes"})
    assert response.status_code == 400
    assert count(ArticleFeedback) == 0


def test_no_voting_on_hidden_articles(client, editor):
    token = csrf_of(get(client, f"/help/articles/{write(editor, 'Open').id}").data)
    for article in hidden_articles(editor, "Server keys"):
        response = client.post(f"/help/articles/{article.id}/feedback",
                               data={"csrf_token": token, "helpful": "yes"})
        assert response.status_code == 404
    assert count(ArticleFeedback) == 0


def test_votes_on_postgresql(pg_app, make_user):
    article = write(make_user("lead"), "Reset your password")
    feedback.vote(article.id, KEY_A, True, comment="Good")
    feedback.vote(article.id, KEY_B, False)
    feedback.vote(article.id, KEY_A, False)
    db.session.commit()
    assert counters(article.id) == (0, 2) and count(ArticleFeedback) == 2
