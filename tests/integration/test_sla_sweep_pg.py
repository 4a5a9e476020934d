"""The SLA sweep on PostgreSQL: concurrent sweepers share the work, downtime loses nothing."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select, text, update

from service.db_types import utcnow
from service.extensions import db
from service.notify.models import Notification
from tickets.models import SlaBreach, SlaState, SlaTarget, Ticket, TicketEvent
from tickets.sla_sweep import SweepStats, sweep

pytestmark = pytest.mark.integration

BATCH = 100


@pytest.fixture
def agent(pg_app, make_user, support_team):
    return make_user("agent", team=support_team)


def _opened_hours_ago(make_ticket, hours: float) -> Ticket:
    """A normal-priority ticket (first response 24 h, warning at 80 %) opened back then."""
    with time_machine.travel(utcnow() - timedelta(hours=hours), tick=True):
        return make_ticket()


def _copy(ticket_id: int, copies: int) -> None:
    """Bulk-insert copies of a ticket row (same SLA times, assignee, team)."""
    columns = ", ".join(f'"{column.name}"' for column in Ticket.__table__.columns
                        if column.name != "id")
    db.session.execute(text(f"INSERT INTO tickets ({columns}) SELECT {columns} FROM tickets "
                            "CROSS JOIN generate_series(1, :copies) WHERE id = :id"),
                       {"copies": copies, "id": ticket_id})
    db.session.commit()


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _per_ticket(kind: str) -> dict[int, int]:
    return dict(db.session.execute(select(TicketEvent.ticket_id, func.count())
                                   .where(TicketEvent.kind == kind)
                                   .group_by(TicketEvent.ticket_id)).all())


def _due_now() -> int:
    return _count(Ticket, Ticket.sla_next_check_at <= utcnow())


def test_two_concurrent_sweeps_warn_every_ticket_exactly_once(pg_app, agent, make_ticket):
    total = 1200
    template = _opened_hours_ago(make_ticket, 20)
    assert template.assignee_id == agent.id
    _copy(template.id, total - 1)
    ticket_ids = set(db.session.scalars(select(Ticket.id)))
    assert len(ticket_ids) == total and _due_now() == total

    start = threading.Barrier(2)

    def run_sweep(_: int) -> SweepStats:
        with pg_app.app_context():  # its own session and connection
            start.wait(timeout=10)
            return sweep(batch_size=BATCH)

    with ThreadPoolExecutor(max_workers=2) as pool:
        stats = list(pool.map(run_sweep, range(2)))

    assert all(s.checked for s in stats)  # SKIP LOCKED shares the batches out
    assert sum(s.checked for s in stats) == total  # nobody handled a ticket twice
    assert sum(s.warnings for s in stats) == total
    assert sum(s.breaches for s in stats) == 0
    db.session.expire_all()
    warned = _per_ticket("sla_warning")
    assert set(warned) == ticket_ids
    assert set(warned.values()) == {1}
    assert _count(Ticket, Ticket.first_response_warned_at.is_(None)) == 0
    assert _count(Ticket, Ticket.sla_state != SlaState.AT_RISK) == 0
    notices = db.session.execute(select(Notification.user_id, Notification.kind,
                                        Notification.subject_ref)).all()
    assert len(notices) == total
    assert {(user_id, kind) for user_id, kind, _ in notices} == {(agent.id, "sla_warning")}
    assert {ref for _, _, ref in notices} == {f"ticket:{ticket_id}" for ticket_id in ticket_ids}
    assert _count(Notification, Notification.emailed_at.is_(None)) == 0  # digests went out
    assert _due_now() == 0
    assert sweep(batch_size=BATCH).checked == 0


def test_sweep_after_downtime_catches_up_and_escalates_once(pg_app, make_user, support_team,
                                                            agent, make_ticket):
    lead = make_user("lead")  # leads the team without taking its tickets
    support_team.lead_id = lead.id
    db.session.commit()
    # The sweeper was down for a day: these were never checked.
    breached = _opened_hours_ago(make_ticket, 30)  # due 6 h ago
    at_risk = _opened_hours_ago(make_ticket, 20)  # warning point 48 min ago
    _copy(breached.id, 299)
    _copy(at_risk.id, 99)
    breached_ids = set(db.session.scalars(select(Ticket.id).where(
        Ticket.first_response_due_at == breached.first_response_due_at)))
    assert len(breached_ids) == 300 and _due_now() == 400

    stats = sweep(batch_size=BATCH)

    assert (stats.checked, stats.breaches, stats.warnings) == (400, 300, 100)
    _assert_escalated_once(breached_ids, lead.id, agent.id)
    assert _count(Notification, Notification.user_id == agent.id,
                  Notification.kind == "sla_warning") == 100

    # Even forced to look at every ticket again, a sweep adds nothing.
    db.session.execute(update(Ticket).values(
        sla_next_check_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    again = sweep(batch_size=BATCH)
    assert (again.checked, again.breaches, again.warnings) == (400, 0, 0)
    _assert_escalated_once(breached_ids, lead.id, agent.id)
    assert _count(Notification) == 700
    assert _count(TicketEvent, TicketEvent.kind == "sla_warning") == 100


def _assert_escalated_once(breached_ids: set[int], lead_id: int, agent_id: int) -> None:
    db.session.expire_all()
    rows = db.session.execute(select(SlaBreach.ticket_id, SlaBreach.target,
                                     SlaBreach.due_at)).all()
    assert sorted(row.ticket_id for row in rows) == sorted(breached_ids)
    assert {row.target for row in rows} == {SlaTarget.FIRST_RESPONSE}
    for ticket in db.session.scalars(select(Ticket).where(Ticket.id.in_(breached_ids))):
        assert ticket.first_response_breached_at is not None
        assert ticket.sla_state == SlaState.BREACHED
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "sla_breached"))
    escalations = [(event.ticket_id, event.data["escalated_to"]) for event in events]
    assert sorted(escalations) == sorted((ticket_id, lead_id) for ticket_id in breached_ids)
    for user_id in (lead_id, agent_id):
        refs = db.session.scalars(select(Notification.subject_ref).where(
            Notification.user_id == user_id, Notification.kind == "sla_breached")).all()
        assert sorted(refs) == sorted(f"ticket:{ticket_id}" for ticket_id in breached_ids)
