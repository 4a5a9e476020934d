""""This solved my problem": deflections counted with their source and query, only for
published public articles, nothing recorded on bad input or without a CSRF token."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from knowledge_base.deflections import record_deflection
from knowledge_base.models import Deflection, DeflectionSource
from service.errors import InvalidInput, NotFound
from service.extensions import db
from tests.knowledge_base.test_help_centre import count, csrf_of, get, hidden_articles, write
from tickets.models import Ticket


@pytest.fixture
def editor(make_user):
    return make_user("lead")


def deflect(client, fields: dict, *, token: str | None = None):
    token = token or csrf_of(get(client, "/support/new").data)
    return client.post("/help/deflections", data={"csrf_token": token, **fields})


# ---- the service ----

def test_record_deflection_keeps_source_query_and_language(app, editor):
    article = write(editor, "Apply for a refund")
    deflection = record_deflection(article.id, DeflectionSource.PORTAL,
                                   query="  refund   for order 42 ", language="zh_CN")
    db.session.commit()
    assert (deflection.article_id, deflection.source, deflection.query, deflection.language,
            deflection.contact_id) == (article.id, DeflectionSource.PORTAL,
                                       "refund for order 42", "zh", None)
    assert len(record_deflection(article.id, "web_form", query="q" * 400).query) == 300


def test_record_deflection_refuses_hidden_articles_and_bad_input(app, editor):
    for article in hidden_articles(editor, "Server keys"):
        with pytest.raises(NotFound):
            record_deflection(article.id, DeflectionSource.WEB_FORM)
    article = write(editor, "Apply for a refund")
    with pytest.raises(NotFound):
        record_deflection(999999, DeflectionSource.WEB_FORM)
    with pytest.raises(InvalidInput) as refused:
        record_deflection(article.id, "chat")
    assert "source" in refused.value.errors
    with pytest.raises(InvalidInput):
        record_deflection(article.id, DeflectionSource.WEB_FORM, contact_id=-1)
    assert count(Deflection) == 0


# ---- the page ----

def test_this_solved_my_problem_is_counted_and_thanked(client, editor):
    article = write(editor, "Apply for a refund")
    page = get(client, f"/help/articles/{article.id}?from=web_form&q=I+want+a+refund")
    response = client.post("/help/deflections", data={
        "csrf_token": csrf_of(page.data), "article_id": str(article.id),
        "source": "web_form", "q": "I want a refund"})
    assert response.status_code == 303
    done = get(client, response.headers["Location"])
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "Glad we could help" in text
    assert "/support/new?subject=I+want+a+refund" in text  # submit a request anyway
    assert done.headers["X-Robots-Tag"] == "noindex"
    deflection = db.session.scalar(select(Deflection))
    assert (deflection.article_id, deflection.source, deflection.query) == (
        article.id, DeflectionSource.WEB_FORM, "I want a refund")
    assert count(Ticket) == 0


def test_the_slot_token_of_the_web_form_is_accepted(client, editor):
    article = write(editor, "Apply for a refund")
    response = deflect(client, {"article_id": str(article.id), "source": "web_form",
                                "q": "refund"})
    assert response.status_code == 303
    assert db.session.scalar(select(Deflection.source)) == DeflectionSource.WEB_FORM


def test_a_signed_in_portal_contact_is_kept(client, editor, make_ticket):
    article = write(editor, "Apply for a refund")
    contact = make_ticket(customer_email="casey@example.com").contact
    with client.session_transaction() as session:
        session["portal"] = {"c": contact.id, "s": "all", "iat": int(time.time())}
    response = deflect(client, {"article_id": str(article.id), "source": "portal"})
    assert response.status_code == 303
    assert "/portal/tickets/new" in get(client, response.headers["Location"]).get_data(
        as_text=True)
    assert db.session.scalar(select(Deflection.contact_id)) == contact.id


def test_hidden_or_unknown_articles_are_404_and_nothing_is_recorded(client, editor):
    for article in hidden_articles(editor, "Server keys"):
        response = deflect(client, {"article_id": str(article.id), "source": "web_form"})
        assert response.status_code == 404
        assert b"Server keys" not in response.data
    assert deflect(client, {"article_id": "999999", "source": "web_form"}).status_code == 404
    assert deflect(client, {"article_id": "2147483648",
                            "source": "web_form"}).status_code == 404
    assert count(Deflection) == 0


@pytest.mark.parametrize("fields", [
    {"article_id": "abc", "source": "web_form"},
    {"article_id": "", "source": "web_form"},
    {"source": "web_form"},
    {"article_id": "ARTICLE", "source": "chat"},
    {"article_id": "ARTICLE", "source": ""},
    {"article_id": "ARTICLE", "source": "web_form", "q": "x" * 301},
])
def test_bad_input_is_a_400_page_and_nothing_is_recorded(client, editor, fields):
    article = write(editor, "Apply for a refund")
    data = {key: str(article.id) if value == "ARTICLE" else value
            for key, value in fields.items()}
    response = deflect(client, data)
    assert response.status_code == 400
    assert b"could not be completed" in response.data
    assert count(Deflection) == 0


def test_csrf_token_is_required(client, editor):
    article = write(editor, "Apply for a refund")
    get(client, "/help")
    response = client.post("/help/deflections", data={"article_id": str(article.id),
                                                      "source": "web_form"})
    assert response.status_code == 400
    assert count(Deflection) == 0


def test_deflections_on_postgresql(pg_app, make_user):
    article = write(make_user("lead"), "Apply for a refund")
    record_deflection(article.id, DeflectionSource.HELP_CENTRE, query="refund")
    db.session.commit()
    client = pg_app.test_client()
    internal = hidden_articles(make_user("lead"), "Secret")[0]
    assert deflect(client, {"article_id": str(internal.id), "source": "web_form"}
                   ).status_code == 404
    assert deflect(client, {"article_id": str(article.id), "source": "web_form"}
                   ).status_code == 303
    assert count(Deflection) == 2
