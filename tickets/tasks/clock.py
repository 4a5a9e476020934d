"""Who used the customer's resolution time, and whether the customer is due an update."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select

from service.directory.models import Team
from service.extensions import db
from tickets import sla
from tickets.calendar import business_time_between
from tickets.models import (ActorKind, Message, SlaPause, SlaPolicy, Status, Ticket,
                            TicketEvent, Visibility)
from tickets.tasks.models import Task

Span = tuple[datetime, datetime]


class DepartmentTime(NamedTuple):
    """The customer's time during which one department had a task open."""
    team_id: int
    name: str
    name_zh: str | None
    seconds: int


@dataclass(frozen=True)
class TimeUsed:
    """The customer's resolution time so far, split between support and each department."""
    total_seconds: int
    support_seconds: int
    departments: list[DepartmentTime]


@dataclass(frozen=True)
class CustomerUpdate:
    """When the customer last heard from us while tasks are open, and when they are due again."""
    last_update_at: datetime
    due_at: datetime
    late: bool
    minutes: int


def time_used(ticket: Ticket, now: datetime) -> TimeUsed:
    """Split the customer's resolution time so far between support and departments.

    The customer's time is the ticket's SLA clock: from `sla_started_at` to `resolved_at`
    (or `now`), leaving out the stretches the clock stood still (waiting on the customer,
    and resolved until reopened), counted in business time on the ticket's SLA calendar
    (calendar time when it has no policy). A department's share is the part of that
    time during which it had at least one task open (created, not yet done or cancelled).
    Departments working at the same time each count the overlap, so their shares may add
    up to more than the total; support's share is the time no department had a task open.
    """
    end = ticket.resolved_at or now
    running = _subtract([(ticket.sla_started_at, end)], _stopped_spans(ticket, end))
    terms = sla.terms_of(ticket)

    def measure(spans: Iterable[Span]) -> int:
        if terms is None:
            return int(sum(((hi - lo) for lo, hi in spans), timedelta()).total_seconds())
        return int(sum((business_time_between(terms.calendar, lo, hi) for lo, hi in spans),
                       timedelta()).total_seconds())

    by_department: dict[int, list[Span]] = {}
    for department_id, created_at, finished_at in db.session.execute(
            select(Task.department_id, Task.created_at, Task.finished_at)
            .where(Task.ticket_id == ticket.id)):
        by_department.setdefault(department_id, []).append((created_at, finished_at or end))
    names = {row.id: row for row in db.session.execute(
        select(Team.id, Team.name, Team.name_zh).where(Team.id.in_(list(by_department))))
    } if by_department else {}
    departments = []
    every_department: list[Span] = []
    for department_id, spans in by_department.items():
        busy = _intersect(_merge(spans), running)
        every_department.extend(busy)
        team = names.get(department_id)
        departments.append(DepartmentTime(department_id, team.name if team else "",
                                          team.name_zh if team else None, measure(busy)))
    departments.sort(key=lambda item: (-item.seconds, item.name))
    total = measure(running)
    support = total - measure(_merge(every_department))
    return TimeUsed(total_seconds=total, support_seconds=max(support, 0),
                    departments=departments)


def _stopped_spans(ticket: Ticket, end: datetime) -> list[Span]:
    """When the clock stood still: SLA pauses, and resolved stretches later reopened."""
    spans = [(paused_at, resumed_at or end) for paused_at, resumed_at in db.session.execute(
        select(SlaPause.paused_at, SlaPause.resumed_at).where(SlaPause.ticket_id == ticket.id))]
    resolved_since = None
    for data, at in db.session.execute(
            select(TicketEvent.data, TicketEvent.created_at)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "status_changed")
            .order_by(TicketEvent.id)):
        data = data or {}
        if data.get("to") == Status.RESOLVED.value:
            resolved_since = at
        elif data.get("from") == Status.RESOLVED.value and resolved_since is not None:
            spans.append((resolved_since, at))
            resolved_since = None
    return _merge(spans)


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping spans covering the same time (empty ones dropped)."""
    merged: list[Span] = []
    for lo, hi in sorted(span for span in spans if span[1] > span[0]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _intersect(first: list[Span], second: list[Span]) -> list[Span]:
    """The time in both (each argument merged)."""
    result, i, j = [], 0, 0
    while i < len(first) and j < len(second):
        lo, hi = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if lo < hi:
            result.append((lo, hi))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def _subtract(spans: list[Span], removed: list[Span]) -> list[Span]:
    """The time in `spans` but not in `removed` (both merged)."""
    result = []
    for lo, hi in spans:
        for cut_lo, cut_hi in removed:
            if cut_hi <= lo or cut_lo >= hi:
                continue
            if cut_lo > lo:
                result.append((lo, cut_lo))
            lo = max(lo, cut_hi)
        if lo < hi:
            result.append((lo, hi))
    return result


def customer_update_status(ticket: Ticket, now: datetime) -> CustomerUpdate | None:
    """Whether the customer is due a progress update while departments work on the ticket.

    Applies when the ticket's SLA policy sets `customer_update_minutes` and the ticket has
    active tasks (and is not resolved or closed). The last update is the latest public
    staff message, else the first active task's opening; the next is due that many
    minutes (calendar time) later. None when no update is promised.
    """
    from tickets.tasks.services import active_tasks

    if ticket.sla_policy_id is None or ticket.status in (Status.RESOLVED, Status.CLOSED):
        return None
    minutes = db.session.scalar(select(SlaPolicy.customer_update_minutes)
                                .where(SlaPolicy.id == ticket.sla_policy_id))
    if not minutes:
        return None
    tasks = active_tasks(ticket.id)
    if not tasks:
        return None
    last = db.session.scalar(select(func.max(Message.created_at)).where(
        Message.ticket_id == ticket.id, Message.author_kind == ActorKind.STAFF,
        Message.visibility == Visibility.PUBLIC))
    if last is None:
        last = min(task.created_at for task in tasks)
    due = last + timedelta(minutes=minutes)
    return CustomerUpdate(last_update_at=last, due_at=due, late=now > due, minutes=minutes)
