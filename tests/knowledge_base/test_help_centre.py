"""The public help centre (/help): pages in both languages, only published public articles,
search (recorded), files, headers, and the suggestion slot on the request forms.

test_feedback.py and test_deflection.py import the helpers below.
"""
from __future__ import annotations

import re

import pytest
from flask_babel import refresh
from sqlalchemy import func, select

from knowledge_base import articles, categories
from knowledge_base.models import (Article, ArticleDailyViews, ArticleStatus, Search,
                                   SearchSource)
from knowledge_base.searches import normalize_query, record_search
from service.extensions import db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
       b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# ---- helpers (test_feedback and test_deflection import them) ----

def csrf_of(html: str | bytes) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text).group(1)


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def write(user, title: str, *, status: ArticleStatus = ArticleStatus.PUBLISHED,
          audience: str = "public", language: str = "en", **fields) -> Article:
    """An article written by `user` and brought to `status` (committed)."""
    data = {"title": title, "language": language, "audience": audience,
            "summary": fields.pop("summary", f"About {title}"),
            "body": fields.pop("body", f"How to deal with {title}."), **fields}
    article = articles.create_article(user, data)
    if status in (ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED):
        articles.set_status(user, article, ArticleStatus.PUBLISHED)
    if status == ArticleStatus.ARCHIVED:
        articles.set_status(user, article, ArticleStatus.ARCHIVED)
    if status == ArticleStatus.IN_REVIEW:
        articles.set_status(user, article, ArticleStatus.IN_REVIEW)
    db.session.commit()
    return article


def hidden_articles(user, title: str, **fields) -> list[Article]:
    """The same article internal, draft, in review and archived: never for customers."""
    return [write(user, f"{title} internal", audience="internal", **fields),
            write(user, f"{title} draft", status=ArticleStatus.DRAFT, **fields),
            write(user, f"{title} in review", status=ArticleStatus.IN_REVIEW, **fields),
            write(user, f"{title} archived", status=ArticleStatus.ARCHIVED, **fields)]


@pytest.fixture
def editor(make_user):
    """A lead: writes, publishes and makes categories."""
    return make_user("lead")


def get(client, path: str):
    refresh()  # the test keeps one app context, where Flask-Babel caches the locale
    return client.get(path)


# ---- start page and categories ----

@pytest.fixture
def billing(editor):
    """Billing › Refunds, with articles in both languages and hidden ones."""
    top = categories.create_category(editor, {"slug": "billing", "name_en": "Billing",
                                              "name_zh": "账单与付款", "position": 1})
    child = categories.create_category(editor, {"slug": "refunds", "name_en": "Refund rules",
                                                "name_zh": "退款规则", "parent_id": top.id})
    categories.create_category(editor, {"slug": "empty", "name_en": "Empty shelf",
                                         "name_zh": "空类别", "position": 2})
    db.session.commit()
    write(editor, "Invoice copies", category_id=top.id)
    write(editor, "如何申请退款", language="zh", category_id=child.id,
          body="在订单页面点击“申请退款”。")
    write(editor, "Apply for a refund", category_id=child.id)
    hidden_articles(editor, "Secret refunds", category_id=child.id)
    return top, child


def test_start_page_in_both_languages_with_public_counts(client, billing):
    english = get(client, "/help?lang=en").get_data(as_text=True)
    assert "Billing" in english and "账单与付款" not in english
    # Billing counts its own article and the two public ones of Refund rules; the hidden
    # four count nowhere.
    billing_block = english.split("Billing", 1)[1].split("</li>", 1)[0]
    assert "3 articles" in billing_block
    assert "Empty shelf" in english and "0 articles" in english
    assert "Refund rules" not in english  # only top-level categories here
    assert "Secret refunds" not in english
    chinese = get(client, "/help?lang=zh_CN").get_data(as_text=True)
    assert "账单与付款" in chinese and ">Billing<" not in chinese
    assert 'lang="zh-CN"' in chinese
    assert 'href="/help?lang=en"' in chinese  # the language switch


def test_start_page_lists_popular_and_recent_public_articles(client, editor, billing):
    popular = db.session.scalar(select(Article).where(Article.title == "Invoice copies"))
    popular.view_count = 50
    hidden = db.session.scalar(select(Article).where(Article.title == "Secret refunds internal"))
    hidden.view_count = 500
    db.session.commit()
    page = get(client, "/help?lang=en").get_data(as_text=True)
    popular_block = page.split("Popular articles", 1)[1].split("</section>", 1)[0]
    assert popular_block.index("Invoice copies") < popular_block.index("Apply for a refund")
    assert "Secret" not in page
    recent_block = page.split("Recently updated", 1)[1].split("</section>", 1)[0]
    assert "Apply for a refund" in recent_block


def test_category_page_breadcrumbs_and_own_language_first(client, billing):
    top, child = billing
    page = get(client, f"/help/categories/{child.id}?lang=en").get_data(as_text=True)
    assert 'aria-label="Breadcrumbs"' in page and "Billing" in page and "Refund rules" in page
    assert page.index("Apply for a refund") < page.index("如何申请退款")
    assert ">中文</span>" in page  # the Chinese article is marked with its language
    assert "Secret" not in page
    chinese = get(client, f"/help/categories/{child.id}?lang=zh_CN").get_data(as_text=True)
    assert chinese.index("如何申请退款") < chinese.index("Apply for a refund")
    assert "退款规则" in chinese and "账单与付款" in chinese
    parent = get(client, f"/help/categories/{top.id}?lang=en").get_data(as_text=True)
    assert "Refund rules" in parent and "2 articles" in parent  # the subcategory, counted
    assert get(client, "/help/categories/999999").status_code == 404
    assert get(client, "/help/categories/abc").status_code == 404
    assert get(client, f"/help/categories/{child.id}?page=abc").status_code == 200


# ---- articles ----

def test_article_page_counts_a_view_and_shows_the_article(client, editor):
    article = write(editor, "Reset your password", body="Click **Forgot password**.",
                    tags=["login", "password"])
    response = get(client, f"/help/articles/{article.id}?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Reset your password</h1>" in page
    assert "<strong>Forgot password</strong>" in page  # rendered Markdown
    assert "How-to" in page and "Last updated" in page and "Was this helpful?" in page
    assert 'href="/help/search?q=login"' in page  # tags search the help centre
    assert "/support/new?subject=Reset+your+password" in page
    db.session.expire_all()
    assert db.session.get(Article, article.id).view_count == 1
    assert db.session.scalar(select(ArticleDailyViews.views)) == 1
    assert get(client, f"/help/articles/{article.id}-reset-your-password").status_code == 200
    client.head(f"/help/articles/{article.id}")  # a link checker is no reader
    db.session.expire_all()
    assert db.session.get(Article, article.id).view_count == 2


def test_known_issue_shows_status_and_affected_products(client, editor):
    issue = write(editor, "Sync stalls on large folders", kind="known_issue",
                  known_issue_status="workaround", products=["Desktop app", "Sync"],
                  sections={"symptoms": "The progress bar stops.",
                            "workaround": "Pause and resume."})
    page = get(client, f"/help/articles/{issue.id}?lang=en").get_data(as_text=True)
    assert "Known issue" in page and "Workaround available" in page
    assert "Affected products" in page and "Desktop app" in page and "Sync" in page
    assert "The progress bar stops." in page and "Pause and resume." in page


def test_hidden_articles_are_never_reachable(client, editor):
    for article in hidden_articles(editor, "Server keys"):
        response = get(client, f"/help/articles/{article.id}")
        assert response.status_code == 404, article.title
        assert b"Server keys" not in response.data
    assert get(client, "/help/articles/424242").status_code == 404
    assert get(client, "/help/articles/0").status_code == 404
    assert get(client, "/help/articles/99999999999").status_code == 404
    assert db.session.scalar(select(func.sum(Article.view_count))) == 0
    assert count(ArticleDailyViews) == 0


def test_translation_link_only_to_a_published_public_translation(client, editor):
    english = write(editor, "Change the invoice address")
    chinese = write(editor, "修改发票地址", language="zh", translation_of=english.id)
    page = get(client, f"/help/articles/{english.id}?lang=en").get_data(as_text=True)
    assert "阅读中文版" in page and f'href="/help/articles/{chinese.id}?lang=zh_CN"' in page
    back = get(client, f"/help/articles/{chinese.id}?lang=zh_CN").get_data(as_text=True)
    assert "Read in English" in back
    articles.set_status(editor, chinese, ArticleStatus.ARCHIVED)
    db.session.commit()
    assert "阅读中文版" not in get(client, f"/help/articles/{english.id}").get_data(as_text=True)


def test_related_articles_exclude_itself_and_hidden_ones(client, editor):
    article = write(editor, "Printer offline after update")
    write(editor, "Printer offline on Wi-Fi")
    hidden_articles(editor, "Printer offline")
    page = get(client, f"/help/articles/{article.id}?lang=en").get_data(as_text=True)
    related = page.split("Related articles", 1)[1]
    assert "Printer offline on Wi-Fi" in related
    assert "Printer offline after update" not in related
    assert "internal" not in related and "draft" not in related and "archived" not in related


def test_came_from_a_request_form_offers_this_solved_my_problem(client, editor):
    article = write(editor, "Apply for a refund")
    page = get(client, f"/help/articles/{article.id}?from=web_form&q=refund+please")
    text = page.get_data(as_text=True)
    assert "This solved my problem" in text and "No, back to my request" in text
    assert re.search(r'<input[^>]*name="source"[^>]*value="web_form"', text)
    assert re.search(r'<input[^>]*name="q"[^>]*value="refund please"', text)
    assert "/support/new?subject=refund+please" in text
    portal = get(client, f"/help/articles/{article.id}?from=portal&q=x").get_data(as_text=True)
    assert "/portal/tickets/new?subject=x" in portal
    plain = get(client, f"/help/articles/{article.id}?from=elsewhere").get_data(as_text=True)
    assert "This solved my problem" not in plain


def test_pages_set_headers_and_the_visitor_cookie(client, editor):
    article = write(editor, "Apply for a refund")
    response = get(client, f"/help/articles/{article.id}")
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "private" in response.headers["Cache-Control"]
    cookie = next(value for value in response.headers.getlist("Set-Cookie")
                  if value.startswith("kb_visitor="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/help" in cookie
    assert re.match(r"kb_visitor=[A-Za-z0-9_-]{32};", cookie)
    again = get(client, "/help")
    assert not any(value.startswith("kb_visitor=")
                   for value in again.headers.getlist("Set-Cookie"))  # kept, not renewed
    search = get(client, "/help/search?q=refund")
    assert search.headers["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in search.get_data(as_text=True)


def test_help_pages_work_without_javascript(client, billing):
    for path in ("/help", f"/help/categories/{billing[0].id}", "/help/search?q=refund"):
        assert b"<script" not in get(client, path).data


def test_user_text_is_escaped_everywhere(client, editor):
    article = write(editor, "<img src=x onerror=alert(1)> refund", summary="<b>bold</b>",
                    body="<script>alert(2)</script>Refund **now**")
    for path in (f"/help/articles/{article.id}", "/help/search?q=refund", "/help",
                 "/help/search?q=<script>alert(3)</script>"):
        page = get(client, path).get_data(as_text=True)
        assert "<img src=x" not in page and "<script>alert" not in page, path
        assert "<b>bold</b>" not in page, path


# ---- search ----

def test_search_shows_highlighted_public_results_and_is_recorded(client, editor):
    write(editor, "Apply for a refund", body="Refunds take five days.")
    hidden_articles(editor, "Refund secrets")
    response = get(client, "/help/search?q=Refund&lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<mark>" in page and "1 result" in page
    assert "secrets" not in page
    search = db.session.scalar(select(Search))
    assert (search.query, search.source, search.results, search.language) == (
        "refund", SearchSource.HELP_CENTRE, 1, "en")


def test_search_without_result_records_zero_and_offers_a_request(client, editor):
    write(editor, "Apply for a refund")
    page = get(client, "/help/search?q=quantum+teleporter").get_data(as_text=True)
    assert "We found nothing" in page
    assert "/support/new?subject=quantum+teleporter" in page
    assert db.session.scalar(select(Search.results)) == 0
    get(client, "/help/search?q=")  # an empty search is no search
    assert count(Search) == 1


def test_search_filters_by_category_and_kind(client, editor, billing):
    top, child = billing
    write(editor, "Refund of a known fault", kind="known_issue")
    in_child = get(client, f"/help/search?q=refund&category={child.id}").get_data(as_text=True)
    assert "Apply for a <mark>refund</mark>" in in_child and "known fault" not in in_child
    issues = get(client, "/help/search?q=refund&kind=known_issue").get_data(as_text=True)
    assert "known fault" in issues and "Apply for a" not in issues


def test_search_shows_the_corrected_query(client, editor):
    write(editor, "Apply for a refund", body="Refunds take five days.")
    page = get(client, "/help/search?q=refnud&lang=en").get_data(as_text=True)
    assert "Showing results for" in page and "<strong>refund</strong>" in page
    assert "Apply for a <mark>refund</mark>" in page


def test_odd_query_parameters_never_break_a_page(client, editor, billing):
    """Names url_for takes itself or a path's own name must not reach the language links."""
    article = write(editor, "Reset the router")
    _top, child = billing
    for path in (f"/help/articles/{article.id}?article_id=3&q=router",
                 f"/help/articles/{article.id}?endpoint=x", "/help?_scheme=x&_anchor=y",
                 f"/help/categories/{child.id}?category_id=1&page=%C2%B2"):
        response = get(client, path)
        assert response.status_code == 200, path
        assert "endpoint=" not in response.get_data(as_text=True), path
    page = get(client, f"/help/articles/{article.id}?article_id=3&q=router&lang=en")
    assert f'href="/help/articles/{article.id}?q=router&amp;lang=zh' in page.get_data(as_text=True)


@pytest.mark.parametrize("query", ["q=refund&category=abc", "q=" + "x" * 201,
                                   "q=refund&kind=poem", "q=refund&page=0",
                                   "q=refund&category=99999999999", "q=a&product=" + "p" * 101])
def test_bad_search_parameters_are_a_400_page(client, editor, query):
    write(editor, "Apply for a refund")
    response = get(client, f"/help/search?{query}")
    assert response.status_code == 400
    assert b'class="form-errors"' in response.data
    assert count(Search) == 0


def test_record_search_normalises_and_skips_empty(app):
    record_search("  Refund   PLEASE\t now ", SearchSource.API, language="zh_CN", results=3)
    record_search(" \n ", SearchSource.API, language=None, results=0)
    db.session.commit()
    search = db.session.scalar(select(Search))
    assert (search.query, search.language, search.results) == ("refund please now", "zh", 3)
    assert count(Search) == 1
    assert len(normalize_query("x" * 500)) == 200


# ---- files ----

def test_public_files_of_a_published_article(client, editor):
    from knowledge_base.attachments import add_attachment

    article = write(editor, "Where is the button")
    image = add_attachment(editor, article, "shot.png", PNG, "image/png")
    text = add_attachment(editor, article, "notes.pdf", PDF, "application/pdf")
    other = write(editor, "Another article")
    db.session.commit()
    response = client.get(f"/help/articles/{article.id}/files/{image.id}")
    assert response.status_code == 200 and response.data == PNG
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "inline" in response.headers.get("Content-Disposition", "inline")
    assert "max-age" in response.headers["Cache-Control"]
    assert "public" in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    cached = client.get(f"/help/articles/{article.id}/files/{image.id}",
                        headers={"If-None-Match": response.headers["ETag"]})
    assert cached.status_code == 304
    download = client.get(f"/help/articles/{article.id}/files/{text.id}")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert client.get(f"/help/articles/{other.id}/files/{image.id}").status_code == 404
    assert client.get(f"/help/articles/{article.id}/files/999").status_code == 404


def test_files_of_hidden_articles_are_404(client, editor):
    from knowledge_base.attachments import add_attachment

    for article in hidden_articles(editor, "Diagram"):
        attachment = add_attachment(editor, article, "d.png", PNG, "image/png")
        db.session.commit()
        assert client.get(f"/help/articles/{article.id}/files/{attachment.id}"
                          ).status_code == 404


# ---- the request forms' suggestion slot ----

def test_slot_renders_on_the_web_form(client):
    page = get(client, "/support/new?lang=zh_CN").get_data(as_text=True)
    assert 'data-kb-suggest' in page and 'aria-live="polite"' in page
    assert 'data-suggest-url="/api/v1/kb/suggest"' in page
    assert 'data-deflect-url="/help/deflections"' in page
    assert 'data-source="web_form"' in page and 'data-subject-id="subject"' in page
    assert 'data-language="zh"' in page
    assert re.search(r'data-csrf-token="[^"]+"', page)
    assert '/static/kb-suggest.js" defer' in page
    assert '<noscript>' in page and 'href="/help"' in page


def test_slot_renders_on_the_portal_new_request_page(client, make_ticket):
    contact = make_ticket(customer_email="casey@example.com").contact
    with client.session_transaction() as session:
        import time

        session["portal"] = {"c": contact.id, "s": "all", "iat": int(time.time())}
    page = get(client, "/portal/tickets/new?lang=en").get_data(as_text=True)
    assert 'data-source="portal"' in page and 'data-language="en"' in page
    assert 'data-subject-id="subject"' in page


# ---- PostgreSQL ----

def test_help_centre_on_postgresql(pg_app, make_user):
    client = pg_app.test_client()
    editor = make_user("lead")
    article = write(editor, "Apply for a refund", body="Refunds take five days.")
    hidden_articles(editor, "Refund secrets")
    assert get(client, f"/help/articles/{article.id}").status_code == 200
    page = get(client, "/help/search?q=refund&lang=en").get_data(as_text=True)
    assert "Apply for a <mark>refund</mark>" in page and "secrets" not in page
    assert db.session.scalar(select(Search.results)) == 1
    db.session.expire_all()
    assert db.session.get(Article, article.id).view_count == 1
    home = get(client, "/help?lang=en").get_data(as_text=True)
    assert "Apply for a refund" in home and "secrets" not in home
