"""Reactions to ticket events."""
from __future__ import annotations

from service import events
from service.db_types import utcnow
from service.extensions import db
from tickets import lifecycle
from tickets.models import Status, Ticket


@events.ticket_status_changed.connect
def _still_waiting_on_a_department(ticket_id: int, *, previous: Status, current: Status,
                                   **_data) -> None:
    """The customer answered, but a department still works on it: back to pending_internal."""
    from tickets.tasks.services import active_tasks

    if previous != Status.PENDING_CUSTOMER or current != Status.OPEN:
        return
    if not active_tasks(ticket_id):
        return
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != Status.OPEN:
        return
    lifecycle.change_status(ticket, Status.PENDING_INTERNAL, actor=None,
                            now=ticket.updated_at or utcnow(),
                            reason="waiting on a department")
