"""A customer's ticket history for other domains' pages: only what the reader may see."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from service.auth.models import User
from service.directory.models import Contact
from service.extensions import db
from tickets.models import Ticket
from tickets.services import visible_to

MAX_LIMIT = 200

# Plain rows, not ORM objects: a history is a read-only list of a few columns.
_COLUMNS = (
    Ticket.id, Ticket.subject, Ticket.status, Ticket.priority, Ticket.channel,
    Ticket.sla_state, Ticket.created_at, Ticket.updated_at, Ticket.contact_id,
    Contact.name.label("contact_name"),
)


def tickets_of_contact(user: User, contact_id: int, limit: int = 20) -> list[Any]:
    """The contact's tickets that the user may see, newest first."""
    return _newest(user, Ticket.contact_id == contact_id, limit)


def tickets_of_account(user: User, account_id: int, limit: int = 20) -> list[Any]:
    """The account's tickets that the user may see, newest first."""
    return _newest(user, Ticket.account_id == account_id, limit)


def ticket_counts_of_contacts(user: User, contact_ids: Sequence[int]) -> dict[int, int]:
    """How many tickets the user may see for each of these contacts (absent: none)."""
    if not contact_ids:
        return {}
    rows = db.session.execute(
        select(Ticket.contact_id, func.count(Ticket.id))
        .where(Ticket.contact_id.in_(list(contact_ids)), visible_to(user))
        .group_by(Ticket.contact_id))
    return {contact_id: count for contact_id, count in rows}


def _newest(user: User, condition, limit: int) -> list[Any]:
    limit = max(1, min(limit, MAX_LIMIT))
    query = (select(*_COLUMNS).join(Contact, Contact.id == Ticket.contact_id)
             .where(condition, visible_to(user))
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))
    return list(db.session.execute(query))
