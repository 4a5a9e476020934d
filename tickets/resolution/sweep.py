"""The confirmation sweep: one reminder at half-time, then closed as auto-confirmed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from service import jobs
from service.db_types import utcnow
from service.extensions import db
from tickets import lifecycle, timeline
from tickets.models import ActorKind, ClosedReason, Status, Ticket
from tickets.resolution.models import (Confirmation, ConfirmationChannel, ConfirmationOutcome,
                                       ConfirmationState, Resolution)


@dataclass
class SweepResult:
    reminded: int = 0
    auto_closed: int = 0


def sweep_confirmations(now: datetime | None = None, batch_size: int = 100) -> SweepResult:
    """Handle every pending resolution whose next action is due, batch by batch (commits).

    Batches are small because closing a ticket is ORM work (status, timeline, agent load,
    events) at about 7 ms a ticket: 100 keep a batch's row locks under a second, so a
    customer answering one of those tickets waits at most that long (bench/RESULTS.md).

    The tickets are locked first, with FOR UPDATE SKIP LOCKED on PostgreSQL, in the same
    order `answer` locks (ticket, then resolution): several sweepers share the work, and a
    customer answering at that moment either wins or finds the ticket closed. Every
    resolution a batch takes leaves the work list or moves its next action into the
    future, so running the sweep twice (or at once) reminds once and closes once.
    """
    now = now or utcnow()
    result = SweepResult()
    while True:
        due = (select(Resolution.ticket_id)
               .where(Resolution.state == ConfirmationState.PENDING,
                      Resolution.next_action_at <= now)
               .order_by(Resolution.next_action_at, Resolution.id).limit(batch_size))
        tickets = {ticket.id: ticket for ticket in db.session.scalars(
            select(Ticket).where(Ticket.id.in_(due))
            .with_for_update(skip_locked=True, of=Ticket)
            .execution_options(populate_existing=True))}
        if not tickets:
            break
        _handle_batch(tickets, now, result)
        db.session.commit()
        if len(tickets) < batch_size:
            break
    return result


def _handle_batch(tickets: dict[int, Ticket], now: datetime, result: SweepResult) -> None:
    latest = {ticket_id: resolution_id for ticket_id, resolution_id in db.session.execute(
        select(Resolution.ticket_id, func.max(Resolution.id))
        .where(Resolution.ticket_id.in_(list(tickets))).group_by(Resolution.ticket_id))}
    resolutions = db.session.scalars(
        select(Resolution).where(Resolution.ticket_id.in_(list(tickets)),
                                 Resolution.state == ConfirmationState.PENDING,
                                 Resolution.next_action_at <= now)
        .order_by(Resolution.id).with_for_update(of=Resolution)
        .execution_options(populate_existing=True))
    closing: list[tuple[Ticket, Resolution, Confirmation]] = []
    for resolution in resolutions:
        ticket = tickets[resolution.ticket_id]
        if resolution.id != latest.get(ticket.id) or ticket.status != Status.RESOLVED:
            # Left over from a change that bypassed the listener: nothing to ask any more.
            resolution.state = ConfirmationState.SUPERSEDED
            resolution.next_action_at = None
        elif resolution.auto_close_at is None or resolution.auto_close_at <= now:
            closing.append((ticket, resolution, _auto_confirmation(ticket, resolution, now)))
        elif resolution.reminded_at is None:
            _remind(ticket, resolution, now)
            result.reminded += 1
        else:
            resolution.next_action_at = resolution.auto_close_at
    if closing:
        # One INSERT for the batch's confirmations (their ids go on the timeline), rather
        # than a flush per ticket while the batch's rows stay locked.
        db.session.flush()
        for ticket, resolution, confirmation in closing:
            _auto_close(ticket, resolution, confirmation, now)
        result.auto_closed += len(closing)


def _auto_confirmation(ticket: Ticket, resolution: Resolution, now: datetime) -> Confirmation:
    confirmation = Confirmation(
        resolution_id=resolution.id, ticket_id=ticket.id,
        outcome=ConfirmationOutcome.AUTO_CONFIRMED, channel=ConfirmationChannel.SYSTEM,
        actor_kind=ActorKind.SYSTEM, created_at=now)
    db.session.add(confirmation)
    return confirmation


def _auto_close(ticket: Ticket, resolution: Resolution, confirmation: Confirmation,
                now: datetime) -> None:
    # Settled before the status changes, so the listener does not supersede it.
    resolution.state = ConfirmationState.AUTO_CONFIRMED
    resolution.answered_at = now
    resolution.next_action_at = None
    lifecycle.change_status(ticket, Status.CLOSED, actor=None, now=now,
                            closed_reason=ClosedReason.AUTO_CONFIRMED,
                            reason="no answer from the customer in time")
    timeline.record(ticket.id, "auto_confirmed", at=now, resolution_id=resolution.id,
                    confirmation_id=confirmation.id)


def _remind(ticket: Ticket, resolution: Resolution, now: datetime) -> None:
    from tickets.resolution import jobs as resolution_jobs

    resolution.reminded_at = now
    resolution.next_action_at = resolution.auto_close_at
    timeline.record(ticket.id, "confirmation_reminded", at=now, resolution_id=resolution.id,
                    auto_close_at=resolution.auto_close_at.isoformat())
    jobs.enqueue(resolution_jobs.send_confirmation_reminder, resolution.id)
