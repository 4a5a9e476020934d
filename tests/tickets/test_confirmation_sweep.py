"""The confirmation sweep with frozen time: one reminder at half-time, auto-close at N days."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from service import events
from service.extensions import db
from service.notify.models import OutboundMail
from tickets.models import ClosedReason, Status, Ticket, TicketEvent
from tickets.resolution import jobs as resolution_jobs
from tickets.resolution import services
from tickets.resolution.models import (Confirmation, ConfirmationChannel, ConfirmationOutcome,
                                       ConfirmationState, Resolution)
from tickets.resolution.sweep import SweepResult, sweep_confirmations
from tickets.services import update_ticket

from tests.tickets.helpers_resolution import resolve_ticket

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture
def agent(make_user, support_team):
    return make_user("agent", team=support_team)


@pytest.fixture
def resolved(agent, make_ticket):
    """resolved() → a ticket resolved at T0 (7 days to answer: reminder at 3.5 days)."""

    def factory(**intake) -> Ticket:
        with time_machine.travel(T0, tick=False):
            ticket = make_ticket(**intake)
            resolve_ticket(agent, ticket, now=T0)
        return ticket

    return factory


def fresh(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def reminders() -> list[OutboundMail]:
    return list(db.session.scalars(select(OutboundMail).where(
        OutboundMail.dedupe_key.like("confirm-reminder:%"))))


def events_of(ticket_id: int, kind: str) -> list[TicketEvent]:
    return list(db.session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)))


def sweep_at(moment: datetime, **kwargs) -> SweepResult:
    with time_machine.travel(moment, tick=False):
        return sweep_confirmations(now=moment, **kwargs)


def test_nothing_happens_before_half_time(resolved):
    ticket = resolved()
    assert sweep_at(T0 + timedelta(days=3.5) - timedelta(seconds=1)) == SweepResult(0, 0)
    assert fresh(ticket.id).status == Status.RESOLVED and reminders() == []


def test_one_reminder_at_half_time_however_often_it_runs(resolved):
    ticket = resolved()
    half = T0 + timedelta(days=3.5)
    assert sweep_at(half) == SweepResult(reminded=1, auto_closed=0)
    assert sweep_at(half + timedelta(minutes=1)) == SweepResult(0, 0)
    assert sweep_at(T0 + timedelta(days=6)) == SweepResult(0, 0)
    [mail] = reminders()
    assert mail.to_address == fresh(ticket.id).contact.email
    assert "/portal/confirm/" in mail.body_text and ticket.number in mail.subject
    resolution = services.current_resolution(ticket.id)
    assert resolution.reminded_at == half
    assert resolution.next_action_at == resolution.auto_close_at
    assert len(events_of(ticket.id, "confirmation_reminded")) == 1
    assert fresh(ticket.id).status == Status.RESOLVED
    # A retried reminder job sends nothing more.
    resolution_jobs.send_confirmation_reminder(resolution.id)
    assert len(reminders()) == 1


def test_no_answer_in_seven_days_closes_as_auto_confirmed(resolved):
    ticket = resolved()
    sweep_at(T0 + timedelta(days=3.5))
    closed: list[int] = []
    end = T0 + timedelta(days=7)
    with events.ticket_closed.connected_to(lambda sender, **data: closed.append(sender)):
        assert sweep_at(end - timedelta(seconds=1)) == SweepResult(0, 0)
        assert sweep_at(end) == SweepResult(reminded=0, auto_closed=1)
        assert sweep_at(end + timedelta(hours=1)) == SweepResult(0, 0)
    assert closed == [ticket.id]
    ticket = fresh(ticket.id)
    assert ticket.status == Status.CLOSED and ticket.closed_reason == ClosedReason.AUTO_CONFIRMED
    assert ticket.closed_at == end
    [confirmation] = db.session.scalars(select(Confirmation)).all()
    assert (confirmation.outcome, confirmation.channel, confirmation.actor_kind.value) == (
        ConfirmationOutcome.AUTO_CONFIRMED, ConfirmationChannel.SYSTEM, "system")
    assert confirmation.contact_id is None and confirmation.user_id is None
    resolution = services.current_resolution(ticket.id)
    assert resolution.state == ConfirmationState.AUTO_CONFIRMED
    assert resolution.answered_at == end and resolution.next_action_at is None
    [event] = events_of(ticket.id, "auto_confirmed")
    assert event.data == {"resolution_id": resolution.id, "confirmation_id": confirmation.id}
    assert len(reminders()) == 1


def test_after_downtime_an_overdue_resolution_closes_without_a_late_reminder(resolved):
    ticket = resolved()
    assert sweep_at(T0 + timedelta(days=9)) == SweepResult(reminded=0, auto_closed=1)
    assert fresh(ticket.id).closed_reason == ClosedReason.AUTO_CONFIRMED and reminders() == []


def test_the_policys_confirmation_days_are_honoured(resolved, make_ticket):
    from tickets.models import Priority, SlaPolicy

    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.priority == Priority.HIGH))
    policy.confirmation_days = 2
    db.session.commit()
    quick = resolved(urgency=Priority.HIGH)
    normal = resolved()
    assert sweep_at(T0 + timedelta(days=1)) == SweepResult(reminded=1, auto_closed=0)
    assert sweep_at(T0 + timedelta(days=2)) == SweepResult(reminded=0, auto_closed=1)
    assert fresh(quick.id).status == Status.CLOSED
    assert fresh(normal.id).status == Status.RESOLVED


def test_answered_and_superseded_resolutions_are_left_alone(resolved, agent):
    confirmed, rejected, reopened = resolved(), resolved(), resolved()
    services.answer(confirmed, ConfirmationOutcome.CONFIRMED,
                    channel=ConfirmationChannel.PORTAL, contact_id=confirmed.contact_id)
    services.answer(rejected, ConfirmationOutcome.REJECTED, comment="Still broken.",
                    channel=ConfirmationChannel.PORTAL, contact_id=rejected.contact_id)
    update_ticket(agent, fresh(reopened.id), {"status": Status.REOPENED})
    assert sweep_at(T0 + timedelta(days=10)) == SweepResult(0, 0)
    assert [fresh(t.id).status for t in (confirmed, rejected, reopened)] == [
        Status.CLOSED, Status.REOPENED, Status.REOPENED]
    assert fresh(confirmed.id).closed_reason == ClosedReason.CONFIRMED
    assert reminders() == []


def test_a_leftover_pending_resolution_is_retired_not_acted_on(resolved):
    ticket = resolved()
    # A change that bypassed the listener (a direct database edit) left it pending.
    db.session.execute(Ticket.__table__.update().where(Ticket.__table__.c.id == ticket.id)
                       .values(status=Status.REOPENED.value))
    db.session.commit()
    assert sweep_at(T0 + timedelta(days=8)) == SweepResult(0, 0)
    assert services.current_resolution(ticket.id).state == ConfirmationState.SUPERSEDED
    assert fresh(ticket.id).status == Status.REOPENED


def test_batches_cover_every_due_resolution(resolved):
    tickets = [resolved() for _ in range(5)]
    assert sweep_at(T0 + timedelta(days=4), batch_size=2) == SweepResult(5, 0)
    assert sweep_at(T0 + timedelta(days=8), batch_size=2) == SweepResult(0, 5)
    assert {fresh(t.id).status for t in tickets} == {Status.CLOSED}
    assert count(Resolution, Resolution.state == ConfirmationState.PENDING) == 0
    assert len(reminders()) == 5


def test_the_sweep_job_runs_the_sweep(resolved):
    ticket = resolved()
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        resolution_jobs.sweep_confirmations()
    assert fresh(ticket.id).closed_reason == ClosedReason.AUTO_CONFIRMED


# ---- PostgreSQL: row locks ----

def test_on_postgresql_a_ticket_locked_elsewhere_is_skipped_then_swept(pg_app, resolved):
    from sqlalchemy import text

    busy, free = resolved(), resolved()
    with db.engine.connect() as other:  # e.g. a customer's answer in flight
        other.execute(text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"),
                      {"id": busy.id})
        assert sweep_at(T0 + timedelta(days=8)) == SweepResult(0, 1)
        other.rollback()
    assert fresh(busy.id).status == Status.RESOLVED
    assert fresh(free.id).closed_reason == ClosedReason.AUTO_CONFIRMED
    assert sweep_at(T0 + timedelta(days=8)) == SweepResult(0, 1)
    assert fresh(busy.id).closed_reason == ClosedReason.AUTO_CONFIRMED


def test_on_postgresql_answers_and_the_sweep_agree(pg_app, resolved):
    confirmed, silent = resolved(), resolved()
    services.answer(confirmed, ConfirmationOutcome.CONFIRMED,
                    channel=ConfirmationChannel.EMAIL_LINK, contact_id=confirmed.contact_id,
                    ip="203.0.113.5", user_agent="pytest")
    assert sweep_at(T0 + timedelta(days=4)) == SweepResult(1, 0)
    assert sweep_at(T0 + timedelta(days=8)) == SweepResult(0, 1)
    assert fresh(confirmed.id).closed_reason == ClosedReason.CONFIRMED
    assert fresh(silent.id).closed_reason == ClosedReason.AUTO_CONFIRMED
    assert count(Confirmation) == 2
