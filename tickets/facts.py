"""What other domains may know about tickets, without reading our tables themselves.

Surveys copy a closed ticket's team, agent and product onto its CSAT invitation; account
health counts reopened, breached and complaint tickets; the opportunity rules count
repeated problems. Each answer here is one query.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import Select, and_, func, or_, select

from service.auth.models import User
from service.extensions import db
from tickets.models import OPEN_STATUSES, Message, Ticket


@dataclass(frozen=True)
class TicketFacts:
    id: int
    subject: str
    status: str
    channel: str
    language: str | None
    category: str | None
    product: str | None
    contact_id: int
    account_id: int | None
    team_id: int | None
    assignee_id: int | None
    reopen_count: int
    closed_reason: str | None
    created_at: datetime
    closed_at: datetime | None


def ticket_facts(ticket_id: int) -> TicketFacts | None:
    """The facts of one ticket, or None when there is no such ticket."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    return TicketFacts(
        id=ticket.id, subject=ticket.subject, status=ticket.status.value,
        channel=ticket.channel.value, language=ticket.language, category=ticket.category,
        product=ticket.product, contact_id=ticket.contact_id, account_id=ticket.account_id,
        team_id=ticket.team_id, assignee_id=ticket.assignee_id,
        reopen_count=ticket.reopen_count,
        closed_reason=ticket.closed_reason.value if ticket.closed_reason else None,
        created_at=ticket.created_at, closed_at=ticket.closed_at)


@dataclass(frozen=True)
class MessageFacts:
    id: int
    ticket_id: int
    body: str
    author_kind: str  # "customer", "agent", "system"
    visibility: str  # "public", "internal"


def message_facts(message_id: int) -> MessageFacts | None:
    """One message's text and who wrote it, or None."""
    message = db.session.get(Message, message_id)
    if message is None:
        return None
    return MessageFacts(id=message.id, ticket_id=message.ticket_id, body=message.body or "",
                        author_kind=message.author_kind.value,
                        visibility=message.visibility.value)


@dataclass(frozen=True)
class AccountTicketStats:
    tickets: int  # created since the start
    reopened: int  # of those, reopened at least once
    breached: int  # of those, with a breached SLA target
    open_complaints: int  # open now, in a complaint category (whenever created)


def complaint_categories() -> list[str]:
    """The ticket categories that count as complaints (COMPLAINT_CATEGORIES), lower-cased."""
    return [name.strip().lower() for name in current_app.config["COMPLAINT_CATEGORIES"]
            if name.strip()]


def account_ticket_stats(account_id: int, since: datetime) -> AccountTicketStats:
    """How the account's tickets since `since` went, and its open complaints now."""
    recent = Ticket.created_at >= since
    breached = or_(Ticket.first_response_breached_at.is_not(None),
                   Ticket.resolution_breached_at.is_not(None))
    complaint = and_(Ticket.status.in_(OPEN_STATUSES),
                     func.lower(Ticket.category).in_(complaint_categories() or [""]))
    row = db.session.execute(
        select(func.count().filter(recent),
               func.count().filter(recent, Ticket.reopen_count > 0),
               func.count().filter(recent, breached),
               func.count().filter(complaint))
        .where(Ticket.account_id == account_id)).one()
    return AccountTicketStats(*(int(value or 0) for value in row))


def recent_ticket_count(since: datetime, *, account_id: int | None = None,
                        contact_id: int | None = None) -> int:
    """Tickets the account (else the contact) opened since `since`."""
    if account_id is None and contact_id is None:
        raise ValueError("give an account or a contact")
    owner = Ticket.account_id == account_id if account_id is not None \
        else Ticket.contact_id == contact_id
    return db.session.scalar(select(func.count()).where(owner, Ticket.created_at >= since)) or 0


def contacts_active_since(since: datetime, *, after_contact_id: int = 0,
                          limit: int = 500) -> list[int]:
    """Ids of contacts with a ticket created since `since`, by id, after the given one."""
    return list(db.session.scalars(
        select(Ticket.contact_id).where(Ticket.created_at >= since,
                                        Ticket.contact_id > after_contact_id)
        .group_by(Ticket.contact_id).order_by(Ticket.contact_id).limit(limit)))


def last_ticket_at(contact_ids: list[int]) -> dict[int, datetime]:
    """Each contact's newest ticket's creation time (absent: no ticket)."""
    if not contact_ids:
        return {}
    rows = db.session.execute(select(Ticket.contact_id, func.max(Ticket.created_at))
                              .where(Ticket.contact_id.in_(contact_ids))
                              .group_by(Ticket.contact_id))
    return {contact_id: at for contact_id, at in rows}


def contacts_with_ticket_since(since: datetime) -> Select:
    """A subquery of the ids of contacts with a ticket created since `since` (for IN)."""
    return select(Ticket.contact_id).where(Ticket.created_at >= since)


def first_message_facts(ticket_id: int) -> MessageFacts | None:
    """The ticket's first message (what the customer wrote when opening it), or None."""
    message_id = db.session.scalar(select(func.min(Message.id))
                                   .where(Message.ticket_id == ticket_id))
    return message_facts(message_id) if message_id is not None else None


def message_ids_of(ticket_id: int) -> list[int]:
    """Ids of the ticket's messages, oldest first."""
    return list(db.session.scalars(select(Message.id).where(Message.ticket_id == ticket_id)
                                   .order_by(Message.id)))


def recent_ticket_ids(since: datetime, *, account_id: int | None = None,
                      contact_id: int | None = None, limit: int = 20) -> list[int]:
    """Ids of the account's (else the contact's) tickets created since `since`, newest first."""
    if account_id is None and contact_id is None:
        raise ValueError("give an account or a contact")
    owner = Ticket.account_id == account_id if account_id is not None \
        else Ticket.contact_id == contact_id
    return list(db.session.scalars(select(Ticket.id).where(owner, Ticket.created_at >= since)
                                   .order_by(Ticket.id.desc()).limit(limit)))


@dataclass(frozen=True)
class ResolutionFacts:
    ticket_id: int
    summary: str
    root_cause: str
    verification_method: str
    verification_result: str
    created_at: datetime


def resolution_facts(ticket_id: int) -> ResolutionFacts | None:
    """The ticket's latest resolution (summary, root cause, how it was verified), or None."""
    from tickets.resolution.models import Resolution

    resolution = db.session.scalar(select(Resolution).where(Resolution.ticket_id == ticket_id)
                                   .order_by(Resolution.id.desc()).limit(1))
    if resolution is None:
        return None
    return ResolutionFacts(
        ticket_id=ticket_id, summary=resolution.summary, root_cause=resolution.root_cause,
        verification_method=resolution.verification_method,
        verification_result=resolution.verification_result, created_at=resolution.created_at)


@dataclass(frozen=True)
class TicketSummary:
    id: int
    number: str
    subject: str
    status: str


def ticket_summaries(ticket_ids: list[int], *,
                     visible_to_user: User | None = None) -> dict[int, TicketSummary]:
    """Number, subject and status of these tickets in one query; with `visible_to_user`,
    only the ones that staff user may see."""
    from tickets.models import format_number
    from tickets.services import visible_to

    if not ticket_ids:
        return {}
    query = select(Ticket.id, Ticket.subject, Ticket.status).where(Ticket.id.in_(ticket_ids))
    if visible_to_user is not None:
        query = query.where(visible_to(visible_to_user))
    return {row.id: TicketSummary(row.id, format_number(row.id), row.subject, row.status.value)
            for row in db.session.execute(query)}


def open_breached_ticket_count() -> int:
    """Open tickets whose SLA is breached now (one COUNT on the sla_state index)."""
    from tickets.models import SlaState

    return db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.sla_state == SlaState.BREACHED, Ticket.status.in_(OPEN_STATUSES))) or 0


@dataclass(frozen=True)
class TicketRow:
    id: int
    number: str
    subject: str
    status: str
    priority: str
    team: str | None
    team_zh: str | None
    assignee: str | None
    created_at: datetime


def ticket_rows(ids: Select, *, limit: int = 50, after: int | None = None,
                visible_to_user: User | None = None) -> tuple[int, list[TicketRow]]:
    """The tickets whose ids `ids` selects, newest first (created, then id): how many in
    all, and up to `limit` of those after ticket `after` in that order; with
    `visible_to_user`, only the ones that staff user may see. Two queries."""
    from service.directory.models import Team
    from tickets.models import format_number
    from tickets.services import visible_to

    chosen = [Ticket.id.in_(ids)]
    if visible_to_user is not None:
        chosen.append(visible_to(visible_to_user))
    total = db.session.scalar(select(func.count()).select_from(Ticket).where(*chosen)) or 0
    query = (select(Ticket.id, Ticket.subject, Ticket.status, Ticket.priority,
                    Ticket.created_at, Team.name.label("team"), Team.name_zh.label("team_zh"),
                    User.name.label("assignee"))
             .outerjoin(Team, Team.id == Ticket.team_id)
             .outerjoin(User, User.id == Ticket.assignee_id).where(*chosen))
    if after is not None:
        since = select(Ticket.created_at).where(Ticket.id == after).scalar_subquery()
        query = query.where(or_(Ticket.created_at < since,
                                and_(Ticket.created_at == since, Ticket.id < after)))
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    return total, [TicketRow(row.id, format_number(row.id), row.subject, row.status.value,
                             row.priority.value, row.team, row.team_zh, row.assignee,
                             row.created_at) for row in db.session.execute(query)]
