"""Agents' open-ticket counters, kept in step with tickets inside the same transaction.

Assignment reads `users.open_tickets` and `users.open_load` (priority-weighted) instead of
counting a million tickets under a lock. Every flush that adds a ticket or changes its
assignee, status or priority adjusts the counters with relative SQL updates, so whatever
code path changes a ticket, the counters commit or roll back with it. `reconcile` recounts
from the tickets table as a safety net.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import case, event, func, inspect, select, update
from sqlalchemy.orm import Session

from service.auth.models import User
from service.extensions import db
from tickets.models import OPEN_STATUSES, Priority, Ticket

PRIORITY_WEIGHT = {Priority.LOW: 1, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


def _old(state, name: str):
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return getattr(state.object, name)


def _contribution(assignee_id, status, priority) -> tuple[int | None, int, int]:
    if assignee_id is None or status not in OPEN_STATUSES:
        return None, 0, 0
    return assignee_id, 1, PRIORITY_WEIGHT.get(priority, 1)


@event.listens_for(Session, "before_flush")
def _track_agent_load(session: Session, _context, _instances) -> None:
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    assigned_at: dict[int, object] = {}  # agent → when they last received a ticket
    for ticket in session.new:
        if isinstance(ticket, Ticket):
            agent, count, weight = _contribution(ticket.assignee_id, ticket.status,
                                                 ticket.priority)
            if agent is not None:
                deltas[agent][0] += count
                deltas[agent][1] += weight
                assigned_at[agent] = ticket.updated_at
    for ticket in session.dirty:
        if not isinstance(ticket, Ticket):
            continue
        state = inspect(ticket)
        if not any(state.attrs[name].history.has_changes()
                   for name in ("assignee_id", "status", "priority")):
            continue
        before = _contribution(_old(state, "assignee_id"), _old(state, "status"),
                               _old(state, "priority"))
        after = _contribution(ticket.assignee_id, ticket.status, ticket.priority)
        if ticket.assignee_id is not None and state.attrs.assignee_id.history.has_changes():
            assigned_at[ticket.assignee_id] = ticket.updated_at
        for (agent, count, weight), sign in ((before, -1), (after, 1)):
            if agent is not None:
                deltas[agent][0] += sign * count
                deltas[agent][1] += sign * weight
    users = User.__table__
    for agent_id in sorted(set(deltas) | set(assigned_at)):  # id order: no lock cycles
        count, weight = deltas.get(agent_id, (0, 0))
        values = {}
        if count or weight:
            values.update(open_tickets=users.c.open_tickets + count,
                          open_load=users.c.open_load + weight)
        if agent_id in assigned_at:
            values["last_assigned_at"] = assigned_at[agent_id]
        if not values:
            continue
        session.connection().execute(update(users).where(users.c.id == agent_id).values(values))
        agent = session.identity_map.get((User, (agent_id,), None))
        if agent is not None:
            session.expire(agent, ["open_tickets", "open_load", "last_assigned_at"])


def reconcile() -> int:
    """Recount every agent's open tickets from the tickets table; returns rows fixed."""
    weight = case(*[(Ticket.priority == p, w) for p, w in PRIORITY_WEIGHT.items()], else_=1)
    ids = list(db.session.scalars(select(User.id).order_by(User.id)
                                  .with_for_update(key_share=True)))
    actual = {row.assignee_id: (row.count, row.weighted) for row in db.session.execute(
        select(Ticket.assignee_id, func.count().label("count"), func.sum(weight).label("weighted"))
        .where(Ticket.assignee_id.is_not(None), Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.assignee_id))}
    fixed = 0
    for user in db.session.scalars(select(User).where(User.id.in_(ids))):
        count, weighted = actual.get(user.id, (0, 0))
        if (user.open_tickets, user.open_load) != (count, int(weighted or 0)):
            user.open_tickets, user.open_load = count, int(weighted or 0)
            fixed += 1
    db.session.commit()
    return fixed
