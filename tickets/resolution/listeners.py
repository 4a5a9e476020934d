"""Reactions to ticket events."""
from __future__ import annotations

from service import events
from service.extensions import db
from tickets.models import Status, Ticket


@events.ticket_status_changed.connect
def _supersede_the_pending_confirmation(ticket_id: int, *, previous: Status | None = None,
                                        current: Status | None = None, **_data) -> None:
    """A resolved ticket reopened or closed other than by an answer (staff, a customer's
    reply): the question to the customer is withdrawn, so no reminder or auto-close follows.

    `answer` and the sweep settle the resolution before changing the status, so they find
    nothing pending here.
    """
    if previous != Status.RESOLVED:
        return
    from tickets.resolution.services import supersede_pending

    ticket = db.session.get(Ticket, ticket_id)  # in the session already: no query
    # The status change's own time (lifecycle set it), so frozen-time callers agree.
    supersede_pending(ticket_id, ticket.updated_at if ticket is not None else None)
