"""The confirmation sweep in real `rq worker` processes on PostgreSQL + Redis: one reminder,
then the auto-confirmation, each exactly once even when two sweeps run at the same time."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from service import jobs
from service.db_types import utcnow
from service.extensions import db
from tickets.models import ClosedReason, Status, Ticket, TicketEvent
from tickets.resolution.models import (Confirmation, ConfirmationOutcome, ConfirmationState,
                                       Resolution)

pytestmark = pytest.mark.integration


@pytest.fixture
def agent(rq_stack, make_user, support_team):
    return make_user("agent", team=support_team)


def _events(ticket_id: int, kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind))


def _due_now(resolution_id: int, **columns) -> None:
    """Move the resolution's deadlines into the past, as if the days had gone by."""
    past = utcnow() - timedelta(minutes=1)
    db.session.execute(update(Resolution).where(Resolution.id == resolution_id)
                       .values(next_action_at=past, **{name: past for name in columns}))
    db.session.commit()


def _sweep_twice_at_once(stack) -> None:
    """Two sweep jobs on the real queue, taken by two workers running side by side."""
    from tickets.resolution import jobs as resolution_jobs

    # Two transactions: within one, the same call queued twice runs once.
    for _ in range(2):
        jobs.enqueue(resolution_jobs.sweep_confirmations)
        db.session.commit()
    assert stack.queue("sweeps").count == 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(stack.run_burst_worker, ("sweeps", "mail")) for _ in range(2)]
        for run in runs:
            run.result()  # a worker's failure fails the test here
    stack.run_burst_worker()  # mail queued by the sweeps, if a sweeper finished last


def test_the_worker_reminds_once_then_auto_confirms_once(rq_stack, agent, make_ticket):
    from tickets.resolution.services import resolve

    ticket = make_ticket(subject="Sync fails after the upgrade")
    ticket_id, customer = ticket.id, ticket.contact.email
    resolution = resolve(agent, ticket, summary="Upgraded to 4.2.1", root_cause="A race",
                         method="reproduced_and_retested", result="100 runs, no failure")
    resolution_id = resolution.id
    rq_stack.run_burst_worker()  # the acknowledgement and the confirmation request
    asked = len(rq_stack.smtp.to(customer))
    assert asked >= 2, [mail.subject for mail in rq_stack.smtp.mails]
    assert _events(ticket_id, "confirmation_requested") == 1

    # Half the waiting time has gone by: one reminder, however many sweeps run.
    _due_now(resolution_id, remind_at=True)
    _sweep_twice_at_once(rq_stack)

    db.session.expire_all()
    resolution = db.session.get(Resolution, resolution_id)
    assert resolution.reminded_at is not None
    assert resolution.state == ConfirmationState.PENDING
    assert _events(ticket_id, "confirmation_reminded") == 1
    assert len(rq_stack.smtp.to(customer)) == asked + 1
    assert db.session.get(Ticket, ticket_id).status == Status.RESOLVED

    # The waiting time is up: closed as auto-confirmed, once.
    _due_now(resolution_id, auto_close_at=True)
    _sweep_twice_at_once(rq_stack)

    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    assert (ticket.status, ticket.closed_reason) == (Status.CLOSED, ClosedReason.AUTO_CONFIRMED)
    resolution = db.session.get(Resolution, resolution_id)
    assert resolution.state == ConfirmationState.AUTO_CONFIRMED
    assert resolution.next_action_at is None
    answers = db.session.scalars(select(Confirmation).where(
        Confirmation.resolution_id == resolution_id)).all()
    assert [answer.outcome for answer in answers] == [ConfirmationOutcome.AUTO_CONFIRMED]
    assert _events(ticket_id, "auto_confirmed") == 1
    assert _events(ticket_id, "confirmation_reminded") == 1
    assert len(rq_stack.smtp.to(customer)) == asked + 1  # no second reminder

    # Nothing is left for a later sweep to do.
    _sweep_again = db.session.scalar(select(func.count()).select_from(Resolution).where(
        Resolution.next_action_at.is_not(None)))
    assert _sweep_again == 0
