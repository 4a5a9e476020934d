"""Agents' open-ticket counters stay equal to a recount through every kind of change."""
from __future__ import annotations

from sqlalchemy import select

from service.auth.models import User
from service.extensions import db
from tickets import lifecycle
from tickets.load import reconcile
from tickets.models import Priority, Status
from tickets.services import change_priority

from tests.tickets.helpers_resolution import resolve_ticket


def counters() -> dict[int, tuple[int, int]]:
    db.session.expire_all()
    return {user.id: (user.open_tickets, user.open_load)
            for user in db.session.scalars(select(User))}


def test_counters_follow_assignment_status_and_priority(client, auth, make_ticket, make_user,
                                                        support_team):
    first = make_user("agent", team=support_team)
    second = make_user("agent", team=support_team)
    tickets = [make_ticket(urgency=Priority.HIGH), make_ticket(), make_ticket()]
    # High to first; then second; then second again (same count, lighter load).
    assert counters()[first.id] == (1, 2) and counters()[second.id] == (2, 2)
    # Handing a ticket to someone else takes the assign permission: a lead does it.
    lead = make_user("lead", team=support_team)
    headers = auth(lead)
    client.patch(f"/api/v1/tickets/{tickets[0].id}", json={"assignee": second.id},
                 headers=headers)
    resolve_ticket(lead, tickets[1])
    assert counters()[first.id] == (0, 0) and counters()[second.id] == (2, 3)
    ticket = db.session.get(type(tickets[1]), tickets[1].id)
    lifecycle.change_status(ticket, Status.REOPENED, actor=first, now=ticket.updated_at)
    db.session.commit()
    change_priority(db.session.get(type(ticket), tickets[2].id), Priority.URGENT, first,
                    ticket.updated_at, "escalated")
    db.session.commit()
    client.patch(f"/api/v1/tickets/{tickets[0].id}", json={"assignee": None}, headers=headers)
    before = counters()
    assert before[second.id] == (2, 4)  # reopened normal + urgent
    assert reconcile() == 0  # nothing to fix: the counters were exact all along
    assert counters() == before


def test_reconcile_repairs_drift(make_ticket, make_user, support_team):
    agent = make_user("agent", team=support_team)
    make_ticket()
    agent.open_tickets, agent.open_load = 7, 9
    db.session.commit()
    assert reconcile() == 1
    assert counters()[agent.id] == (1, 1)
