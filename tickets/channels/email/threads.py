"""Which ticket an inbound mail belongs to, and whether it is a verified agent's reply."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.auth.models import User
from service.extensions import db
from tickets.channels.email import identity
from tickets.channels.email.models import TicketMailId
from tickets.models import Ticket

if TYPE_CHECKING:
    from tickets.channels.email.parse import ParsedEmail

_SUBJECT_NUMBER = re.compile(r"\[\s*T-?(\d{1,10})\s*\]", re.IGNORECASE)
MAX_REFERENCES = 50


@dataclass(frozen=True)
class Thread:
    ticket: Ticket | None
    agent: User | None = None  # set only for a signed agent reference from that agent
    matched_by: str | None = None  # "references" | "subject"


def find(parsed: ParsedEmail, sender: str) -> Thread:
    """The ticket this mail replies to: by our Message-IDs first, then by `[T-000123]`."""
    ids = [*parsed.in_reply_to, *reversed(parsed.references)][:MAX_REFERENCES]
    for message_id in ids:
        ours = identity.read(message_id)
        if ours is not None and ours.signed:
            ticket = db.session.get(Ticket, ours.ticket_id)
            if ticket is not None:
                return Thread(ticket, _verified_agent(ours, sender), "references")
    known = db.session.scalar(select(TicketMailId.ticket_id)
                              .where(TicketMailId.message_id.in_(ids)).limit(1)) if ids else None
    if known is not None:
        return Thread(db.session.get(Ticket, known), None, "references")
    match = _SUBJECT_NUMBER.search(parsed.subject)
    if match:
        ticket = db.session.get(Ticket, int(match.group(1)))
        # A number in a subject is easy to guess: it threads only mail from the ticket's
        # customer or a colleague at the same account, never a stranger's.
        if ticket is not None and _same_customer(ticket, sender):
            return Thread(ticket, None, "subject")
    return Thread(None)


def _verified_agent(ours: identity.OurId, sender: str) -> User | None:
    if ours.user_id is None:
        return None
    user = db.session.get(User, ours.user_id)
    if user is None or not user.is_active or user.email.lower() != sender:
        return None
    return user


def _same_customer(ticket: Ticket, sender: str) -> bool:
    contact = ticket.contact
    if contact.email == sender:
        return True
    if ticket.account_id is None:
        return False
    from service.directory.models import Contact

    return db.session.scalar(select(Contact.id).where(
        Contact.email == sender, Contact.account_id == ticket.account_id)) is not None


def remember(message_id: str | None, ticket_id: int, direction: str) -> None:
    """Record a Message-ID as part of a ticket's thread (once; later mail threads by it)."""
    if not message_id or len(message_id) > 250:
        return
    if db.session.get(TicketMailId, message_id) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(TicketMailId(message_id=message_id, ticket_id=ticket_id,
                                        direction=direction))
    except IntegrityError:
        pass  # recorded concurrently: same fact


def references_for(ticket_id: int, limit: int = 20) -> list[str]:
    """The Message-IDs of a ticket's thread, oldest first (for References on our mail)."""
    rows = db.session.scalars(select(TicketMailId.message_id)
                              .where(TicketMailId.ticket_id == ticket_id)
                              .order_by(TicketMailId.created_at.desc()).limit(limit)).all()
    return list(reversed(rows))


def last_inbound_id(ticket_id: int) -> str | None:
    """The customer's latest Message-ID on the ticket, which our next mail replies to."""
    return db.session.scalar(select(TicketMailId.message_id)
                             .where(TicketMailId.ticket_id == ticket_id,
                                    TicketMailId.direction == "in")
                             .order_by(TicketMailId.created_at.desc()).limit(1))
