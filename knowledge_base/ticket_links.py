"""Articles on tickets: used in a reply, linked as a case of a known issue or root cause.

A link is one ArticleTicket row per (article, ticket, kind); making it again changes
nothing (INSERT … ON CONFLICT DO NOTHING, so concurrent clicks never collide). Each new
link, and each unlink, is told on the ticket's timeline. Services flush; the caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, select

from service.auth.models import User
from service.auth.permissions import Permission, require
from service.db_types import utcnow
from service.errors import Conflict, InvalidInput
from service.extensions import db
from knowledge_base import access
from knowledge_base.models import (Article, ArticleKind, ArticleStatus, ArticleTicket,
                                   TicketLinkKind)
from tickets import facts, timeline
from tickets.services import ensure_visible

# The kinds a ticket may be "a case of".
LINKABLE_KINDS = (ArticleKind.KNOWN_ISSUE, ArticleKind.ROOT_CAUSE)
# Timeline event kinds (tickets.ticket_page is taught their sentences by ticket_panel).
EVENT_USED = "kb_article_used"
EVENT_LINKED = "kb_article_linked"
EVENT_UNLINKED = "kb_article_unlinked"


@dataclass(frozen=True)
class LinkedTicket:
    ticket_id: int
    number: str
    subject: str
    status: str
    kind: str
    created_at: datetime


def _checked(user: User, ticket_id: int, article_id: int) -> Article:
    """KB_WRITE, a ticket the user sees, an article they see (else Forbidden / NotFound)."""
    require(user, Permission.KB_WRITE)
    ensure_visible(user, ticket_id)
    return access.visible_article(user, article_id)


def _published(article: Article) -> None:
    if article.status != ArticleStatus.PUBLISHED:
        raise Conflict(_("Only a published article can be used on a ticket."))


def _insert_once(user: User, ticket_id: int, article: Article,
                 kind: TicketLinkKind) -> tuple[ArticleTicket, bool]:
    """The link row, and whether this call made it (a repeat finds the existing one)."""
    table = ArticleTicket.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    made = db.session.scalar(
        insert(table).values(article_id=article.id, ticket_id=ticket_id, kind=kind,
                             user_id=user.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[table.c.article_id, table.c.ticket_id,
                                                table.c.kind])
        .returning(table.c.id))
    row = db.session.scalar(select(ArticleTicket).where(
        ArticleTicket.article_id == article.id, ArticleTicket.ticket_id == ticket_id,
        ArticleTicket.kind == kind))
    return row, made is not None


def _record(user: User, ticket_id: int, kind: str, article: Article) -> None:
    timeline.record(ticket_id, kind, actor=user, article_id=article.id, title=article.title)


def use_article(user: User, ticket_id: int, article_id: int) -> ArticleTicket:
    """Note that the article went into a reply on the ticket (once per ticket)."""
    article = _checked(user, ticket_id, article_id)
    _published(article)
    row, made = _insert_once(user, ticket_id, article, TicketLinkKind.USED)
    if made:
        _record(user, ticket_id, EVENT_USED, article)
    return row


def link_article(user: User, ticket_id: int, article_id: int) -> ArticleTicket:
    """Mark the ticket as a case of a known issue or root cause (once)."""
    article = _checked(user, ticket_id, article_id)
    if article.kind not in LINKABLE_KINDS:
        message = _("Only known issues and root-cause analyses can be linked to a ticket.")
        raise InvalidInput(message, errors={"article_id": [message]})
    _published(article)
    row, made = _insert_once(user, ticket_id, article, TicketLinkKind.LINKED)
    if made:
        _record(user, ticket_id, EVENT_LINKED, article)
    return row


def unlink_article(user: User, ticket_id: int, article_id: int) -> None:
    """Remove the ticket's "case of" link to the article (nothing happens when there is none)."""
    article = _checked(user, ticket_id, article_id)
    removed = db.session.execute(delete(ArticleTicket).where(
        ArticleTicket.article_id == article.id, ArticleTicket.ticket_id == ticket_id,
        ArticleTicket.kind == TicketLinkKind.LINKED).execution_options(
            synchronize_session="fetch"))
    if removed.rowcount:
        _record(user, ticket_id, EVENT_UNLINKED, article)


def articles_of(ticket_id: int) -> list[tuple[Article, ArticleTicket]]:
    """The articles used on, linked to or drafted from the ticket, oldest link first."""
    return [(article, link) for link, article in db.session.execute(
        select(ArticleTicket, Article).join(Article, Article.id == ArticleTicket.article_id)
        .where(ArticleTicket.ticket_id == ticket_id)
        .order_by(ArticleTicket.created_at, ArticleTicket.id))]


def tickets_of(article_id: int, *, limit: int = 50,
               user: User | None = None) -> list[LinkedTicket]:
    """The tickets the article served, newest link first; only those `user` sees if given."""
    links = db.session.execute(
        select(ArticleTicket.ticket_id, ArticleTicket.kind, ArticleTicket.created_at)
        .where(ArticleTicket.article_id == article_id)
        .order_by(ArticleTicket.created_at.desc(), ArticleTicket.id.desc())
        .limit(max(1, min(limit, 200)))).all()
    tickets = facts.ticket_summaries([link.ticket_id for link in links], visible_to_user=user)
    return [LinkedTicket(link.ticket_id, tickets[link.ticket_id].number,
                         tickets[link.ticket_id].subject, tickets[link.ticket_id].status,
                         getattr(link.kind, "value", link.kind), link.created_at)
            for link in links if link.ticket_id in tickets]
