"""SLA clocks: due times in business time, pauses, warnings and breaches."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.cache import snapshot
from service.extensions import db
from tickets.calendar import WorkingCalendar, add_business_time, business_time_between
from tickets.calendar import parse_weekly_hours
from tickets.models import (ActorKind, BusinessCalendar, CalendarDay, Priority, SlaBreach,
                            SlaPause, SlaPolicy, SlaState, SlaTarget, Ticket)

DEFAULT_TARGETS: dict[Priority, tuple[int, int]] = {  # minutes: first response, resolution
    Priority.URGENT: (60, 8 * 60),
    Priority.HIGH: (4 * 60, 24 * 60),
    Priority.NORMAL: (24 * 60, 72 * 60),
    Priority.LOW: (24 * 60, 120 * 60),
}


def working_calendar(calendar: BusinessCalendar) -> WorkingCalendar:
    """The calendar engine's view of a stored calendar (cached until it changes)."""
    extra = tuple((day.day, tuple(tuple(pair) for pair in (day.hours or [])))
                  for day in calendar.days if day.is_working_day)
    holidays = frozenset(day.day for day in calendar.days if not day.is_working_day)
    return _build_calendar(calendar.timezone, _freeze(calendar.weekly_hours), holidays, extra)


def _freeze(weekly: dict) -> tuple:
    return tuple(sorted((key, tuple(tuple(pair) for pair in value))
                        for key, value in weekly.items()))


@lru_cache(maxsize=64)
def _build_calendar(timezone: str, weekly: tuple, holidays: frozenset[date],
                    extra: tuple) -> WorkingCalendar:
    extra_days = {day: [(_parse_time(start), _parse_time(end)) for start, end in hours]
                  for day, hours in extra}
    return WorkingCalendar(timezone=timezone,
                           weekly_hours=parse_weekly_hours({k: v for k, v in weekly}),
                           holidays=holidays, extra_working_days=extra_days)


def _parse_time(text: str) -> time:
    return time(0, 0) if text == "24:00" else time.fromisoformat(text)


@dataclass(frozen=True)
class PolicyTerms:
    """What the clock needs of an SLA policy, as plain data."""
    id: int
    name: str
    priority: Priority
    first_response_minutes: int
    resolution_minutes: int
    warning_ratio: float
    calendar: WorkingCalendar


def _load_policies() -> dict[int, PolicyTerms]:
    policies = db.session.scalars(select(SlaPolicy).options(
        selectinload(SlaPolicy.calendar).selectinload(BusinessCalendar.days)))
    return {policy.id: PolicyTerms(policy.id, policy.name, policy.priority,
                                   policy.first_response_minutes, policy.resolution_minutes,
                                   policy.warning_ratio_percent / 100,
                                   working_calendar(policy.calendar))
            for policy in policies}


_policies = snapshot("sla_policies", _load_policies, ttl=10,
                     watch=(SlaPolicy, BusinessCalendar, CalendarDay))


def policy_for(priority: Priority) -> PolicyTerms | None:
    """The SLA policy that applies to a priority."""
    return next((terms for terms in _policies().values() if terms.priority == priority), None)


def terms_of(ticket: Ticket) -> PolicyTerms | None:
    """The policy the ticket's clock runs on."""
    return _policies().get(ticket.sla_policy_id) if ticket.sla_policy_id else None


def start_clock(ticket: Ticket, policy: PolicyTerms | None, now: datetime) -> None:
    """Start a new ticket's SLA clock under `policy`."""
    ticket.sla_policy_id = policy.id if policy else None
    ticket.sla_started_at = now
    ticket.sla_paused_seconds = 0
    recompute(ticket, now)


def recompute(ticket: Ticket, now: datetime) -> None:
    """Set due and warning times of the unmet targets, then the state and next check."""
    policy = terms_of(ticket)
    if policy is None or ticket.sla_paused_at is not None:
        refresh_state(ticket, now)
        return
    calendar = policy.calendar
    paused = timedelta(seconds=ticket.sla_paused_seconds)
    ratio = policy.warning_ratio

    def due(minutes: float) -> datetime:
        return add_business_time(calendar, ticket.sla_started_at,
                                 timedelta(minutes=minutes) + paused)

    if ticket.first_responded_at is None:
        ticket.first_response_due_at = due(policy.first_response_minutes)
        ticket.first_response_warn_at = due(policy.first_response_minutes * ratio)
        if ticket.first_response_warn_at > now:
            ticket.first_response_warned_at = None  # a later deadline earns a new warning
    if ticket.resolved_at is None:
        ticket.resolution_due_at = due(policy.resolution_minutes)
        ticket.resolution_warn_at = due(policy.resolution_minutes * ratio)
        if ticket.resolution_warn_at > now:
            ticket.resolution_warned_at = None
    refresh_state(ticket, now)


def _active_targets(ticket: Ticket) -> list[SlaTarget]:
    if ticket.sla_policy_id is None:
        return []
    targets = []
    if ticket.first_responded_at is None:
        targets.append(SlaTarget.FIRST_RESPONSE)
    if ticket.resolved_at is None:
        targets.append(SlaTarget.RESOLUTION)
    return targets


def _times(ticket: Ticket, target: SlaTarget) -> tuple[datetime | None, datetime | None,
                                                      datetime | None, datetime | None]:
    """(warn_at, due_at, warned_at, breached_at) of one target."""
    if target is SlaTarget.FIRST_RESPONSE:
        return (ticket.first_response_warn_at, ticket.first_response_due_at,
                ticket.first_response_warned_at, ticket.first_response_breached_at)
    return (ticket.resolution_warn_at, ticket.resolution_due_at,
            ticket.resolution_warned_at, ticket.resolution_breached_at)


def live_state(ticket: Ticket, now: datetime) -> SlaState:
    """The SLA state as of `now` (the stored one may lag by one sweep interval)."""
    if ticket.first_response_breached_at or ticket.resolution_breached_at:
        return SlaState.BREACHED
    active = _active_targets(ticket)
    if ticket.sla_paused_at is not None and active:
        return SlaState.PAUSED
    if not active:
        return SlaState.MET
    for target in active:
        warn_at, due_at, _, _ = _times(ticket, target)
        if due_at is not None and now >= due_at:
            return SlaState.BREACHED
    for target in active:
        warn_at, _, _, _ = _times(ticket, target)
        if warn_at is not None and now >= warn_at:
            return SlaState.AT_RISK
    return SlaState.ON_TRACK


def refresh_state(ticket: Ticket, now: datetime) -> None:
    """Store the state and the next instant at which it can change."""
    ticket.sla_state = live_state(ticket, now)
    next_check = None
    if ticket.sla_paused_at is None:
        for target in _active_targets(ticket):
            warn_at, due_at, warned_at, breached_at = _times(ticket, target)
            point = warn_at if warned_at is None else (due_at if breached_at is None else None)
            if point is not None and (next_check is None or point < next_check):
                next_check = point
    ticket.sla_next_check_at = next_check


def meet_first_response(ticket: Ticket, at: datetime) -> None:
    """Record the first public staff reply (or logged call) and judge it."""
    if ticket.first_responded_at is not None:
        return
    ticket.first_responded_at = at
    _judge(ticket, SlaTarget.FIRST_RESPONSE, at)
    refresh_state(ticket, at)


def stop_resolution_clock(ticket: Ticket, at: datetime) -> None:
    """Stop the resolution clock (ticket resolved) and judge the target."""
    if ticket.sla_paused_at is not None:
        resume(ticket, at)
    ticket.resolved_at = at
    _judge(ticket, SlaTarget.RESOLUTION, at)
    refresh_state(ticket, at)


def restart_resolution_clock(ticket: Ticket, at: datetime) -> None:
    """Resume the resolution clock of a reopened ticket where it stopped."""
    if ticket.resolved_at is None:
        return
    # Time between resolving and reopening was the customer's, not ours.
    _add_paused_time(ticket, ticket.resolved_at, at)
    ticket.resolved_at = None
    recompute(ticket, at)


def _add_paused_time(ticket: Ticket, start: datetime, end: datetime) -> None:
    """Count the business time in [start, end) as time the clock stood still, and the
    calendar time as time spent waiting on the customer (reports' handle time)."""
    ticket.waiting_seconds = (ticket.waiting_seconds or 0) + max(
        0, int((end - start).total_seconds()))
    policy = terms_of(ticket)
    if policy is not None:
        ticket.sla_paused_seconds += int(
            business_time_between(policy.calendar, start, end).total_seconds())


def _judge(ticket: Ticket, target: SlaTarget, at: datetime) -> None:
    _, due_at, _, breached_at = _times(ticket, target)
    if breached_at is None and due_at is not None and at > due_at:
        record_breach(ticket, target, detected_at=at)


def record_breach(ticket: Ticket, target: SlaTarget, detected_at: datetime) -> SlaBreach:
    """Mark a target breached on the ticket and keep a breach record for reports."""
    _, due_at, _, _ = _times(ticket, target)
    if target is SlaTarget.FIRST_RESPONSE:
        ticket.first_response_breached_at = detected_at
    else:
        ticket.resolution_breached_at = detected_at
    breach = SlaBreach(ticket_id=ticket.id, target=target, priority=ticket.priority,
                       due_at=due_at, breached_at=detected_at, team_id=ticket.team_id,
                       assignee_id=ticket.assignee_id)
    db.session.add(breach)
    return breach


def pause(ticket: Ticket, at: datetime, reason: str, actor_kind: ActorKind,
          user_id: int | None) -> None:
    """Stop the clock while we wait on the customer, keeping who paused it and why."""
    if ticket.sla_paused_at is not None or not _active_targets(ticket):
        return
    ticket.sla_paused_at = at
    db.session.add(SlaPause(ticket_id=ticket.id, paused_at=at, paused_by_kind=actor_kind,
                            paused_by_user_id=user_id, reason=reason[:300]))
    refresh_state(ticket, at)


def resume(ticket: Ticket, at: datetime) -> None:
    """Restart a paused clock; the business time spent paused extends every due time."""
    if ticket.sla_paused_at is None:
        return
    _add_paused_time(ticket, ticket.sla_paused_at, at)
    open_pause = db.session.scalar(select(SlaPause).where(
        SlaPause.ticket_id == ticket.id, SlaPause.resumed_at.is_(None)))
    if open_pause is not None:
        open_pause.resumed_at = at
    ticket.sla_paused_at = None
    recompute(ticket, at)


def change_policy(ticket: Ticket, policy: PolicyTerms | None, now: datetime) -> None:
    """Apply another policy (priority changed): due times are recomputed from the start."""
    ticket.sla_policy_id = policy.id if policy else None
    recompute(ticket, now)


def policy_name(ticket: Ticket) -> str | None:
    """The name of the ticket's SLA policy."""
    terms = terms_of(ticket)
    return terms.name if terms else None
