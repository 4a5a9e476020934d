"""What a portal viewer may see: one condition that every portal lookup goes through."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, select
from sqlalchemy.orm import joinedload, selectinload

from service.extensions import db
from service.validation import MAX_ID
from tickets.models import Attachment, Message, Ticket, Visibility, format_number
from tickets.portal.auth import PortalViewer
from tickets.resolution.models import ConfirmationState, Resolution

_NUMBER = re.compile(r"^T-(\d{6,10})$")
PAGE_SIZE = 25


def parse_number(ref: str) -> int | None:
    """The ticket id in a ticket number ("T-000123"), else None."""
    match = _NUMBER.match(ref or "")
    if match is None:
        return None
    ticket_id = int(match.group(1))
    return ticket_id if 1 <= ticket_id <= MAX_ID else None


def visible_condition(viewer: PortalViewer) -> ColumnElement[bool]:
    """SQL condition: the tickets this viewer may see (anything else answers 404).

    A contact sees the tickets they opened; the account's designated admin contact sees
    every ticket of the account, but only after a full sign-in. A session from one
    ticket's mail link sees only the tickets whose links it followed.
    """
    contact = viewer.contact
    own = Ticket.contact_id == contact.id
    if viewer.ticket_ids is not None:
        if not viewer.ticket_ids:
            return false()
        return and_(own, Ticket.id.in_(sorted(viewer.ticket_ids)))
    if contact.is_account_admin and contact.account_id is not None:
        return own | (Ticket.account_id == contact.account_id)
    return own


def ticket_for(viewer: PortalViewer, ref: str | int) -> Ticket | None:
    """The ticket a number (or id) names, if this viewer may see it; else None (→ 404)."""
    ticket_id = ref if isinstance(ref, int) else parse_number(ref)
    if ticket_id is None or not 1 <= ticket_id <= MAX_ID:
        return None
    return db.session.scalar(
        select(Ticket).options(joinedload(Ticket.assignee), joinedload(Ticket.contact))
        .where(Ticket.id == ticket_id, visible_condition(viewer)))


def ticket_for_link(ticket_id: int, contact_id: int) -> Ticket | None:
    """The ticket a signed mail link names, if it is still that contact's ticket."""
    if not 1 <= ticket_id <= MAX_ID:
        return None
    return db.session.scalar(select(Ticket).where(Ticket.id == ticket_id,
                                                  Ticket.contact_id == contact_id))


def can_see(viewer: PortalViewer, ticket_id: int | None) -> bool:
    """Whether the viewer may see this ticket (e.g. before linking to it)."""
    return ticket_id is not None and ticket_for(viewer, ticket_id) is not None


def attachment_for(viewer: PortalViewer, ref: str, attachment_id: int) -> Attachment | None:
    """A public attachment of a ticket the viewer may see, else None (→ 404)."""
    ticket = ticket_for(viewer, ref)
    if ticket is None:
        return None
    attachment = db.session.get(Attachment, attachment_id)
    if (attachment is None or attachment.ticket_id != ticket.id
            or attachment.visibility != Visibility.PUBLIC):
        return None
    if attachment.message_id is not None:
        # Belt and braces: a file is public only on a public message.
        message_visibility = db.session.scalar(
            select(Message.visibility).where(Message.id == attachment.message_id))
        if message_visibility != Visibility.PUBLIC:
            return None
    return attachment


def public_messages(ticket: Ticket) -> list[Message]:
    """The conversation the customer sees: public messages only, oldest first."""
    return list(db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id,
                              Message.visibility == Visibility.PUBLIC)
        .options(joinedload(Message.author_user), joinedload(Message.author_contact),
                 selectinload(Message.attachments))
        .order_by(Message.id)))


@dataclass(frozen=True)
class TicketPage:
    """One page of the viewer's ticket list, newest first."""

    tickets: list[Ticket]
    awaiting_confirmation: frozenset[int]  # ids of resolved tickets with a pending answer
    next_before: int | None  # the `before` of the next page, if there is one


def list_tickets(viewer: PortalViewer, before: int | None = None,
                 limit: int = PAGE_SIZE) -> TicketPage:
    """The viewer's tickets (an admin contact: the account's), newest first, keyset-paged."""
    query = (select(Ticket).options(joinedload(Ticket.contact))
             .where(visible_condition(viewer)).order_by(Ticket.id.desc()).limit(limit + 1))
    if before is not None:
        query = query.where(Ticket.id < before)
    rows = list(db.session.scalars(query))
    next_before = rows[limit - 1].id if len(rows) > limit else None
    rows = rows[:limit]
    return TicketPage(rows, awaiting_confirmation([ticket.id for ticket in rows]), next_before)


def awaiting_confirmation(ticket_ids: list[int]) -> frozenset[int]:
    """Which of these tickets wait for the customer's answer to a resolution."""
    if not ticket_ids:
        return frozenset()
    return frozenset(db.session.scalars(
        select(Resolution.ticket_id).where(Resolution.ticket_id.in_(ticket_ids),
                                           Resolution.state == ConfirmationState.PENDING)))


def ticket_number(ticket_id: int) -> str:
    """The human number of a ticket id."""
    return format_number(ticket_id)
