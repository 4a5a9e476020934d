"""The issue's "done when", end to end over HTTP on both databases: an agent turns a
resolved ticket into an article, a lead publishes it, a customer typing a Chinese subject
is offered it and says it solved the problem, and the lead sees the deflection counted."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from knowledge_base.models import Article, ArticleStatus, Audience, Deflection
from service.extensions import db
from tests.tickets.helpers_resolution import resolve_ticket
from tickets.models import Ticket

CUSTOMER = "zhang.san@example.cn"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    """The app on SQLite, or on PostgreSQL (migrated)."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def tickets() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


def test_resolved_ticket_to_published_article_to_deflection(database, make_user, make_ticket,
                                                            support_team, console_login):
    agent = make_user("agent", team=support_team)
    lead = make_user("lead", team=support_team)
    ticket = make_ticket(
        subject="申请退款后一直没有到账", language="zh", customer_email=CUSTOMER,
        customer_name="张三",
        description=f"我上周申请了退款，但是钱一直没有退回银行卡。我的邮箱是 {CUSTOMER}。")
    resolve_ticket(lead, ticket, summary="重新提交了退款请求，款项已退回客户的银行卡。",
                   root_cause="支付网关的退款回调失败，退款单一直停在处理中。")
    db.session.commit()

    # The agent drafts the article from the ticket's knowledge-base panel.
    staff = database.test_client()
    console_login(staff, agent)
    page = staff.get(f"/console/tickets/{ticket.id}").get_data(as_text=True)
    assert f"/console/kb/tickets/{ticket.id}/draft" in page
    response = staff.post(f"/console/kb/tickets/{ticket.id}/draft",
                          data={"csrf_token": staff.csrf_token})
    assert response.status_code == 303
    article = db.session.scalar(select(Article))
    assert response.headers["Location"].endswith(f"/console/kb/articles/{article.id}/edit")
    assert CUSTOMER not in str(article.sections) and "张三" not in str(article.sections)
    assert "回调失败" in article.sections["root_cause"]

    # She gives it a customer-facing title, makes it public and sends it for review.
    edit = staff.post(f"/console/kb/articles/{article.id}/edit", data={
        "csrf_token": staff.csrf_token, "kind": "root_cause",
        "title": "申请退款后迟迟没有到账怎么办",
        "summary": "退款一般在 3 个工作日内退回原支付方式。",
        "language": "zh", "audience": "public", "tags": "退款", "products": "",
        "category_id": "", "owner_id": "", "review_by": "", "body": "",
        **{f"section_{name}": value for name, value in article.sections.items()},
        "note": "ready for customers", "action": "save"})
    assert edit.status_code == 303, edit.get_data(as_text=True)[:2000]
    status_url = f"/console/kb/articles/{article.id}/status"
    assert staff.post(status_url, data={"csrf_token": staff.csrf_token,
                                        "status": "in_review"}).status_code == 303

    # The lead publishes it.
    console_login(staff, lead)
    assert staff.post(status_url, data={"csrf_token": staff.csrf_token,
                                        "status": "published"}).status_code == 303
    db.session.refresh(article)
    assert (article.status, article.audience) == (ArticleStatus.PUBLISHED, Audience.PUBLIC)

    # A customer types a matching subject in Chinese: the form has the suggestion box, and
    # the suggestions it asks for offer the article.
    customer = database.test_client()
    form = customer.get("/support/new?lang=zh_CN").get_data(as_text=True)
    assert "kb-suggest.js" in form
    subject = "我的退款一直没有到账，怎么回事？"
    suggested = customer.get("/api/v1/kb/suggest", query_string={"q": subject})
    assert suggested.status_code == 200
    assert suggested.json["items"][0]["id"] == article.id

    # "This solved my problem" ends the request without a ticket.
    before = tickets()
    opened = customer.get(f"/help/articles/{article.id}",
                          query_string={"from": "web_form", "q": subject})
    assert opened.status_code == 200
    response = customer.post("/help/deflections", data={
        "csrf_token": csrf_of(opened.get_data(as_text=True)), "article_id": str(article.id),
        "source": "web_form", "q": subject})
    assert response.status_code == 303
    assert tickets() == before
    deflection = db.session.scalar(select(Deflection))
    assert (deflection.article_id, deflection.source.value) == (article.id, "web_form")

    # The lead sees it counted.
    numbers = staff.get("/console/kb/numbers.json?days=7")
    assert numbers.status_code == 200
    assert numbers.json["deflections"] == 1
    assert numbers.json["deflections_by_source"] == {"web_form": 1}
