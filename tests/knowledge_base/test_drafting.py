"""Drafting a root-cause article from a resolved ticket: content, scrubbing, the rules."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from knowledge_base import articles, drafting
from knowledge_base.ticket_panel import console_url
from knowledge_base.models import (ArticleKind, ArticleStatus, ArticleTicket, ArticleVersion,
                                   Audience, TicketLinkKind)
from service.errors import Conflict, Forbidden, NotFound
from service.extensions import db
from tests.tickets.helpers_resolution import resolve_ticket
from tickets.models import TicketEvent

EMAIL = "wang.xiaoming@customer-corp.cn"
PHONE = "+86 139 1234 5678"


@pytest.fixture
def world(app, make_user, make_ticket, support_team):
    lead = make_user("lead", team=support_team)
    agent = make_user("agent", team=support_team)
    ticket = make_ticket(
        subject="Wang Xiaoming: invoice PDF is blank for order 2024011500012345",
        description=(f"Hello, I am Wang Xiaoming ({EMAIL}, phone 13912345678). The invoice "
                     "PDF at https://billing.example.com/invoices/8812?token=s3cr3t is blank. "
                     "发票是空白的，请帮忙。"),
        customer_email=EMAIL, customer_name="Wang Xiaoming", customer_phone=PHONE,
        product="Billing portal", language="en")
    return {"lead": lead, "agent": agent, "ticket": ticket}


def resolved(world, **overrides):
    resolve_ticket(world["lead"], world["ticket"], **{
        "summary": "Regenerated the PDF for wang.xiaoming@customer-corp.cn; fixed the font "
                   "cache on 10.0.3.17.",
        "root_cause": "The PDF renderer lost its CJK font after the T-000042 deploy.",
        **overrides})
    return world["ticket"]


def test_draft_from_a_resolved_ticket(world):
    ticket = resolved(world)
    article = drafting.draft_from_ticket(world["agent"], ticket.id)
    db.session.commit()
    assert article.kind == ArticleKind.ROOT_CAUSE
    assert article.status == ArticleStatus.DRAFT
    assert article.audience == Audience.INTERNAL
    assert article.language == "en"
    assert article.product_names == ["Billing portal"]
    assert article.source_ticket_id == ticket.id
    assert article.title == "[customer]: invoice PDF is blank for order [number]"
    sections = article.sections
    assert sections["problem"].startswith("Hello, I am [customer] ([customer], phone "
                                          "[customer]). The invoice PDF at [link] is blank.")
    assert "发票是空白的，请帮忙。" in sections["problem"]
    assert sections["root_cause"] == ("The PDF renderer lost its CJK font after the [ticket] "
                                      "deploy.")
    assert sections["fix"] == "Regenerated the PDF for [customer]; fixed the font cache on [ip]."
    assert sections["prevention"] == ""
    everything = " ".join([article.title, *sections.values()])
    for secret in ("Wang", "Xiaoming", "wang.xiaoming", "13912345678", "139 1234", "s3cr3t",
                   "10.0.3.17"):
        assert secret not in everything
    [source] = db.session.scalars(select(ArticleTicket).where(
        ArticleTicket.ticket_id == ticket.id)).all()
    assert (source.article_id, source.kind) == (article.id, TicketLinkKind.SOURCE)
    version = db.session.scalar(select(ArticleVersion).where(
        ArticleVersion.article_id == article.id))
    assert version.note == f"Drafted from T-{ticket.id:06d}"
    assert db.session.scalar(select(TicketEvent.id).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == drafting.EVENT_DRAFTED))


def test_problem_is_cut_to_2000_characters(world, make_ticket):
    ticket = make_ticket(subject="Long story", description="打印机坏了。" * 600)
    resolve_ticket(world["lead"], ticket)
    article = drafting.draft_from_ticket(world["agent"], ticket.id)
    assert len(article.sections["problem"]) == drafting.PROBLEM_MAX


def test_chinese_ticket_gives_a_chinese_draft(world, make_ticket):
    ticket = make_ticket(subject="打印机无法连接无线网络", description="升级固件以后连不上。",
                         language="zh")
    resolve_ticket(world["lead"], ticket)
    article = drafting.draft_from_ticket(world["agent"], ticket.id)
    assert article.language == "zh"
    assert article.title == "打印机无法连接无线网络"
    assert article.product_names == []


def test_an_open_ticket_cannot_be_drafted(world):
    with pytest.raises(Conflict):
        drafting.draft_from_ticket(world["agent"], world["ticket"].id)
    assert drafting.existing_draft(world["ticket"].id) is None


def test_a_second_draft_points_at_the_first(world):
    ticket = resolved(world)
    first = drafting.draft_from_ticket(world["agent"], ticket.id)
    db.session.commit()
    with pytest.raises(drafting.DraftExists) as error:
        drafting.draft_from_ticket(world["agent"], ticket.id)
    assert error.value.article_id == first.id and error.value.status == 409
    db.session.rollback()
    # Once the first is archived, the ticket may be drafted again.
    articles.set_status(world["lead"], first, ArticleStatus.PUBLISHED)
    articles.set_status(world["lead"], first, ArticleStatus.ARCHIVED)
    db.session.commit()
    second = drafting.draft_from_ticket(world["agent"], ticket.id)
    assert second.id != first.id


def test_who_may_draft(world, make_user, make_team, support_team):
    ticket = resolved(world)
    with pytest.raises(Forbidden):
        drafting.draft_from_ticket(make_user("department", team=support_team), ticket.id)
    with pytest.raises(NotFound):
        drafting.draft_from_ticket(make_user("agent", team=make_team("Elsewhere")), ticket.id)
    with pytest.raises(NotFound):
        drafting.draft_from_ticket(world["agent"], 999999)


def test_console_draft_button(world, client, console_login):
    ticket = world["ticket"]
    console_login(client, world["agent"])
    html = client.get(f"/console/tickets/{ticket.id}").get_data(as_text=True)
    assert "Draft an article from this ticket" not in html  # still open
    response = client.post(f"/console/kb/tickets/{ticket.id}/draft",
                           data={"csrf_token": client.csrf_token})
    assert response.status_code == 303
    assert "Only a resolved or closed ticket" in client.get(
        f"/console/tickets/{ticket.id}").get_data(as_text=True)
    resolved(world)
    html = client.get(f"/console/tickets/{ticket.id}").get_data(as_text=True)
    assert "Draft an article from this ticket" in html
    response = client.post(f"/console/kb/tickets/{ticket.id}/draft",
                           data={"csrf_token": client.csrf_token})
    assert response.status_code == 303
    article_id = drafting.existing_draft(ticket.id)
    assert article_id is not None
    with client.application.test_request_context():
        edit_url = console_url("kb_console.edit", article_id)
    assert response.headers["Location"].endswith(edit_url)  # the console's editor
    html = client.get(f"/console/tickets/{ticket.id}").get_data(as_text=True)
    assert "Draft an article from this ticket" not in html
    assert f"An article was drafted from this ticket (#{article_id})." in html
    # A second click: refused, nothing new; it opens the first draft.
    response = client.post(f"/console/kb/tickets/{ticket.id}/draft",
                           data={"csrf_token": client.csrf_token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/console/kb/articles/{article_id}")
    assert drafting.existing_draft(ticket.id) == article_id
