"""The SLA sweep: warnings at 80 %, escalation at breach, once each, mailed as digests."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from service.extensions import db
from service.notify.models import Notification, OutboundMail
from tickets.models import Priority, SlaBreach, SlaState, TicketEvent
from tickets.sla_sweep import sweep

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_warning_then_breach_each_once(make_ticket, make_user, make_team):
    lead = make_user("lead")
    team = make_team("Escalations", lead=lead, is_default=False)
    agent = make_user("agent", team=team)
    from tickets.models import RoutingRule

    db.session.add(RoutingRule(position=1, name="all", team_id=team.id, conditions={}))
    db.session.commit()
    with time_machine.travel(START, tick=False):
        ticket = make_ticket(urgency=Priority.URGENT)
    assert ticket.assignee_id == agent.id

    stats = sweep(now=START + timedelta(minutes=47))
    assert stats.checked == 0

    stats = sweep(now=START + timedelta(minutes=50))
    assert (stats.warnings, stats.breaches) == (1, 0)
    db.session.refresh(ticket)
    assert ticket.first_response_warned_at == START + timedelta(minutes=50)
    assert ticket.sla_state == SlaState.AT_RISK
    assert ticket.sla_next_check_at == ticket.first_response_due_at
    warning = db.session.scalar(select(Notification).where(Notification.kind == "sla_warning"))
    assert warning.user_id == agent.id and ticket.number in warning.title
    assert sweep(now=START + timedelta(minutes=55)).warnings == 0

    stats = sweep(now=START + timedelta(minutes=61))
    assert stats.breaches == 1
    db.session.refresh(ticket)
    assert ticket.sla_state == SlaState.BREACHED
    assert ticket.first_response_breached_at == START + timedelta(minutes=61)
    breach = db.session.scalar(select(SlaBreach))
    assert breach.due_at == START + timedelta(hours=1) and breach.team_id == team.id
    escalated = {n.user_id for n in db.session.scalars(
        select(Notification).where(Notification.kind == "sla_breached"))}
    assert escalated == {lead.id, agent.id}
    kinds = [e.kind for e in db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))]
    assert kinds.count("sla_warning") == 1 and kinds.count("sla_breached") == 1
    assert sweep(now=START + timedelta(minutes=70)).breaches == 0
    assert count(SlaBreach) == 1


def test_downtime_catch_up_and_digest_per_recipient(make_ticket, make_user, support_team):
    agent = make_user("agent", team=support_team, max_open_tickets=100)
    with time_machine.travel(START, tick=False):
        tickets = [make_ticket(urgency=Priority.URGENT) for _ in range(25)]
    assert {t.assignee_id for t in tickets} == {agent.id}
    # Nobody swept for hours: one pass finds every warning and breach.
    stats = sweep(now=START + timedelta(hours=10), batch_size=7)
    assert stats.checked == 25
    assert stats.breaches == 50  # first response and resolution of each ticket
    digests = list(db.session.scalars(select(OutboundMail).where(
        OutboundMail.dedupe_key.like("sla-digest:%"))))
    # One mail per sweep for the agent, never one per ticket or per batch.
    assert len(digests) == 1
    assert all(d.to_address == agent.email for d in digests)
    assert count(Notification, Notification.emailed_at.is_(None)) == 0
    body = "\n".join(d.body_text for d in digests)
    assert all(t.number in body for t in tickets)


def test_paused_and_met_tickets_are_not_swept(make_ticket, make_user, support_team):
    from tickets import lifecycle
    from tickets.models import Status

    agent = make_user("agent", team=support_team)
    with time_machine.travel(START, tick=False):
        paused = make_ticket(urgency=Priority.URGENT)
        done = make_ticket(urgency=Priority.URGENT)
    lifecycle.change_status(paused, Status.PENDING_CUSTOMER, actor=agent,
                            now=START + timedelta(minutes=5))
    from tickets.conversation import add_staff_message
    from tickets.models import Visibility

    add_staff_message(done, agent, "fixed", Visibility.PUBLIC, START + timedelta(minutes=5))
    lifecycle.change_status(done, Status.RESOLVED, actor=agent, now=START + timedelta(minutes=6))
    db.session.commit()
    stats = sweep(now=START + timedelta(hours=20))
    assert stats.breaches == 0 and stats.warnings == 0
