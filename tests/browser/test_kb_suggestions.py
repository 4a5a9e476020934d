"""Help-article suggestions on the web form in a real browser (Debian's Chromium driven by
Playwright): a customer types a Chinese subject about a refund, sees the published article
"如何申请退款", clicks "This solved my problem" and the request ends without a ticket.
Screenshots are kept in test-artifacts/."""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.extensions import db
from tests.conftest import BASE_CONFIG


@pytest.fixture
def kb_server(sqlite_template, tmp_path):
    """The app on a real HTTP port with one published Chinese article about refunds (and an
    internal one that must never be suggested)."""
    path = tmp_path / "kb-browser.db"
    shutil.copy(sqlite_template, path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "TESTING": False})
    with app.app_context():
        from knowledge_base import articles
        from knowledge_base.models import ArticleStatus
        from service.auth.services import create_user

        lead = create_user("lead@browser.test", "lead", "long-enough", "Lead Browser")
        public = articles.create_article(lead, {
            "title": "如何申请退款", "language": "zh", "audience": "public",
            "summary": "在订单页面申请退款，五个工作日内原路退回。",
            "body": "1. 打开订单页面。\n2. 点击“申请退款”。\n3. 退款会在五个工作日内到账。"})
        internal = articles.create_article(lead, {
            "title": "退款审批内部流程", "language": "zh", "audience": "internal",
            "body": "内部：退款超过一千元需要主管审批。"})
        for article in (public, internal):
            articles.set_status(lead, article, ArticleStatus.PUBLISHED)
        db.session.commit()
        article_id = public.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app, article_id
    server.shutdown()
    thread.join()


def test_a_suggested_article_solves_the_problem_without_a_ticket(kb_server, page, artifacts):
    base, app, article_id = kb_server
    page.goto(f"{base}/support/new?lang=zh_CN")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.locator("#subject").press_sequentially("我上周买的耳机想退款，怎么操作？", delay=20)
    suggestion = page.locator(".kb-suggest-list li")
    suggestion.first.wait_for(state="visible")
    assert suggestion.count() == 1  # the internal article is never suggested
    title = page.locator(".kb-suggest-title").first
    assert "如何申请退款" in title.inner_text()
    assert "<mark>" in title.inner_html()
    href = title.get_attribute("href")
    assert href.startswith(f"/help/articles/{article_id}?from=web_form&q=")
    assert title.get_attribute("target") == "_blank"
    page.screenshot(path=str(artifacts / "kb-suggestions-web-form.png"), full_page=True)

    page.locator(".kb-suggest-solved").first.click()
    page.wait_for_url("**/help/deflections/done**")
    assert page.locator("h1").count() == 1
    page.screenshot(path=str(artifacts / "kb-deflected.png"), full_page=True)
    with app.app_context():
        from knowledge_base.models import Deflection, DeflectionSource
        from tickets.models import Ticket

        deflection = db.session.scalar(db.select(Deflection))
        assert deflection is not None and deflection.article_id == article_id
        assert deflection.source == DeflectionSource.WEB_FORM
        assert "退款" in deflection.query and deflection.language == "zh"
        assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 0


def test_the_article_opened_from_a_suggestion_offers_the_same_button(kb_server, page,
                                                                     artifacts):
    base, app, article_id = kb_server
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{base}/help/articles/{article_id}?from=web_form&q=退款&lang=zh_CN")
    assert page.locator("h1").inner_text() == "如何申请退款"
    page.screenshot(path=str(artifacts / "kb-article-mobile.png"), full_page=True)
    page.locator("button.solved").click()
    page.wait_for_url("**/help/deflections/done**")
    with app.app_context():
        from knowledge_base.models import Deflection

        assert db.session.scalar(db.select(Deflection.query)) == "退款"


def test_the_help_centre_search_finds_the_article(kb_server, page, artifacts):
    base, _app, article_id = kb_server
    page.goto(f"{base}/help?lang=zh_CN")
    page.fill("#help-q", "退款")
    page.locator(".hero-search button").click()
    page.wait_for_url("**/help/search?q=**")
    results = page.locator(".results li")
    assert results.count() == 1 and "如何申请退款" in results.first.inner_text()
    page.screenshot(path=str(artifacts / "kb-help-search.png"), full_page=True)
    results.first.locator("a").first.click()
    page.wait_for_url(f"**/help/articles/{article_id}")
    page.locator("#feedback button[value=yes]").click()
    assert page.locator("h1").count() == 1 and "/feedback" in page.url
