"""Timeline events: every change on a ticket is recorded here, with who and how."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from service.auth.models import User
from service.db_types import utcnow
from service.extensions import db
from tickets.models import ActorKind, Ticket, TicketEvent


def record(ticket: Ticket | int, kind: str, *, actor: User | None = None,
           contact_id: int | None = None, channel: str | None = None,
           at: datetime | None = None, **data: Any) -> TicketEvent:
    """Add one event to a ticket's timeline (staff actor, customer or the system).

    `ticket` may be an unsaved Ticket: the event then joins the same INSERT batch.
    """
    if actor is not None:
        actor_kind = ActorKind.STAFF
    elif contact_id is not None:
        actor_kind = ActorKind.CUSTOMER
    else:
        actor_kind = ActorKind.SYSTEM
    link = {"ticket": ticket} if isinstance(ticket, Ticket) else {"ticket_id": ticket}
    event = TicketEvent(**link, kind=kind, actor_kind=actor_kind,
                        actor_user_id=actor.id if actor else None, actor_contact_id=contact_id,
                        channel=channel, data=data, created_at=at or utcnow())
    db.session.add(event)
    return event
