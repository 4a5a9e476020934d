"""The ticket status flow: one transition table, one place that checks and applies it."""
from __future__ import annotations

from datetime import datetime

from service import events, jobs
from service.auth.models import User
from service.errors import InvalidTransition
from tickets import sla, timeline
from tickets.models import ActorKind, ClosedReason, Status, Ticket

_WORKING = {Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_INTERNAL, Status.RESOLVED}

TRANSITIONS: dict[Status, set[Status]] = {
    Status.NEW: {Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_INTERNAL,
                 Status.RESOLVED, Status.CLOSED},
    Status.OPEN: _WORKING - {Status.OPEN},
    Status.REOPENED: _WORKING,
    Status.PENDING_CUSTOMER: _WORKING - {Status.PENDING_CUSTOMER},
    Status.PENDING_INTERNAL: _WORKING - {Status.PENDING_INTERNAL},
    Status.RESOLVED: {Status.CLOSED, Status.REOPENED},
    # Only a customer's message within the grace window reopens a closed ticket
    # (tickets.resolution.services.reopen_after_close); staff changes refuse closed tickets.
    Status.CLOSED: {Status.REOPENED},
}


def can_transition(current: Status, target: Status) -> bool:
    """Whether the flow allows moving from `current` to `target`."""
    return target in TRANSITIONS[current]


def change_status(ticket: Ticket, target: Status, *, actor: User | None, now: datetime,
                  channel: str | None = None, reason: str | None = None,
                  contact_id: int | None = None,
                  closed_reason: ClosedReason | None = None) -> None:
    """Move the ticket to `target`, driving its SLA clock, or raise InvalidTransition.

    Closing records why (`closed_reason`, by default closed by staff); reopening forgets
    when and why the ticket was closed.
    """
    current = ticket.status
    if current == target:
        return
    if not can_transition(current, target):
        raise InvalidTransition(f"A ticket cannot go from {current} to {target}.")
    if current == Status.PENDING_CUSTOMER:
        sla.resume(ticket, now)
    if target == Status.PENDING_CUSTOMER:
        sla.pause(ticket, now, reason or "waiting on customer",
                  ActorKind.STAFF if actor else
                  (ActorKind.CUSTOMER if contact_id else ActorKind.SYSTEM),
                  actor.id if actor else None)
    elif target == Status.RESOLVED:
        sla.stop_resolution_clock(ticket, now)
    elif target == Status.REOPENED:
        ticket.reopen_count += 1
        ticket.closed_at = None
        ticket.closed_reason = None
        sla.restart_resolution_clock(ticket, now)
    elif target == Status.CLOSED:
        ticket.closed_at = now
        ticket.closed_reason = closed_reason or ClosedReason.CLOSED_BY_STAFF
        if ticket.resolved_at is None:
            sla.stop_resolution_clock(ticket, now)
    ticket.status = target
    ticket.updated_at = now
    data = {"from": current.value, "to": target.value, "reason": reason}
    if target == Status.CLOSED:
        data["closed_reason"] = ticket.closed_reason.value
    timeline.record(ticket.id, "status_changed", actor=actor, contact_id=contact_id,
                    channel=channel, at=now, **data)
    events.ticket_status_changed.send(ticket.id, previous=current, current=target)
    if target == Status.RESOLVED:
        events.ticket_resolved.send(ticket.id)
    if target == Status.CLOSED:
        events.ticket_closed.send(ticket.id, closed_reason=ticket.closed_reason.value)
    if target in (Status.RESOLVED, Status.CLOSED) and ticket.assignee_id is not None:
        # The agent's load dropped: someone's queued ticket may now fit.
        from tickets import jobs as ticket_jobs

        jobs.enqueue(ticket_jobs.assign_queued_tickets)
