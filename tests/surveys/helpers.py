"""Helpers shared by the survey tests: closed tickets and answered surveys made the way the
product makes them (services, not hand-written rows)."""
from __future__ import annotations

from datetime import datetime

from service.db_types import utcnow
from service.extensions import db
from tickets import lifecycle
from tickets.models import ClosedReason, Status, Ticket


def close_ticket(ticket: Ticket, *, now: datetime | None = None,
                 reason: ClosedReason = ClosedReason.CONFIRMED) -> Ticket:
    """Walk a ticket to closed (open → resolved → closed), firing the usual events; commits.

    `ticket_closed` fires with `closed_reason`, so surveys schedule the CSAT invitation.
    """
    now = now or utcnow()
    if ticket.status == Status.NEW:
        lifecycle.change_status(ticket, Status.OPEN, actor=None, now=now)
    if ticket.status != Status.RESOLVED:
        lifecycle.change_status(ticket, Status.RESOLVED, actor=None, now=now)
    lifecycle.change_status(ticket, Status.CLOSED, actor=None, now=now, closed_reason=reason)
    db.session.commit()
    return ticket
