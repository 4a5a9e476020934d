"""Draft a root-cause article from a resolved ticket, with the customer's data taken out.

The draft is internal (a reviewer decides whether it becomes public), tells the problem in
the customer's first words, the root cause and the fix from the ticket's resolution, and
keeps the ticket as its source. One live draft per ticket: a second one points at the first.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from service.auth.models import User
from service.auth.permissions import Permission, require
from service.directory.models import Account, Contact
from service.errors import Conflict
from service.extensions import db
from knowledge_base import scrub
from knowledge_base.models import (Article, ArticleKind, ArticleStatus, ArticleTicket, Audience,
                                   TicketLinkKind)
from knowledge_base.searches import search_language
from tickets import facts, timeline
from tickets.models import format_number
from tickets.services import get_ticket

PROBLEM_MAX = 2000
SECTION_MAX = 20000
TITLE_MAX = 200
PRODUCT_MAX = 100
DRAFTABLE_STATUSES = ("resolved", "closed")
EVENT_DRAFTED = "kb_article_drafted"


class DraftExists(Conflict):
    """An article (not archived) was already drafted from this ticket."""

    def __init__(self, article_id: int):
        super().__init__(_("An article was already drafted from this ticket (#%(id)s).",
                           id=article_id),
                         errors={"article_id": [str(article_id)]})
        self.article_id = article_id


def existing_draft(ticket_id: int) -> int | None:
    """The id of the live (not archived) article drafted from the ticket, if any."""
    return db.session.scalar(select(Article.id).where(
        Article.source_ticket_id == ticket_id, Article.status != ArticleStatus.ARCHIVED)
        .order_by(Article.id).limit(1))


def customer_names(contact_id: int | None, account_id: int | None) -> tuple[list[str], list[str]]:
    """The contact's name, e-mail and phone, and the account's name (what scrub removes)."""
    names: list[str] = []
    companies: list[str] = []
    contact = db.session.get(Contact, contact_id) if contact_id else None
    if contact is not None:
        names = [value for value in (contact.name, contact.email, contact.phone) if value]
        if contact.company:
            companies.append(contact.company)
        account_id = account_id or contact.account_id
    account = db.session.get(Account, account_id) if account_id else None
    if account is not None:
        companies.append(account.name)
    return names, companies


def draft_from_ticket(user: User, ticket_id: int) -> Article:
    """A draft root-cause article (internal) from a resolved or closed ticket; flushes.

    Forbidden without KB_WRITE, NotFound for a ticket the user may not see, Conflict when
    the ticket is not resolved or closed, DraftExists (a Conflict) when it has a draft.
    """
    require(user, Permission.KB_WRITE)
    # Locked: two clicks on "Draft" wait for each other, and the second finds the first.
    get_ticket(user, ticket_id, for_update=True)
    ticket = facts.ticket_facts(ticket_id)
    if ticket is None or ticket.status not in DRAFTABLE_STATUSES:
        raise Conflict(_("Only a resolved or closed ticket can become an article."))
    existing = existing_draft(ticket_id)
    if existing is not None:
        raise DraftExists(existing)
    names, companies = customer_names(ticket.contact_id, ticket.account_id)

    def clean(text: str | None, limit: int) -> str:
        return scrub.scrub(text or "", names=names, companies=companies).strip()[:limit]

    first = facts.first_message_facts(ticket_id)
    resolution = facts.resolution_facts(ticket_id)
    language = search_language(ticket.language) or "en"
    data = {
        "kind": ArticleKind.ROOT_CAUSE,
        "title": clean(ticket.subject, TITLE_MAX) or _("Draft from a resolved ticket"),
        "summary": "",
        "body": "",
        "sections": {
            "problem": clean(first.body if first and first.visibility == "public" else "",
                             PROBLEM_MAX),
            "root_cause": clean(resolution.root_cause if resolution else "", SECTION_MAX),
            "fix": clean(resolution.summary if resolution else "", SECTION_MAX),
            "prevention": "",
        },
        "language": language,
        "audience": Audience.INTERNAL,
        "products": [ticket.product.strip()[:PRODUCT_MAX]] if (ticket.product or "").strip()
        else [],
        "tags": [],
    }
    from knowledge_base import articles  # the articles part; imported late (app start)

    number = format_number(ticket_id)
    article = articles.create_article(user, data, source_ticket_id=ticket_id,
                                      note=f"Drafted from {number}")
    db.session.add(ArticleTicket(article_id=article.id, ticket_id=ticket_id,
                                 kind=TicketLinkKind.SOURCE, user_id=user.id))
    timeline.record(ticket_id, EVENT_DRAFTED, actor=user, article_id=article.id,
                    title=article.title)
    db.session.flush()
    return article
