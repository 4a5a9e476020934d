"""SLA clocks on real tickets with frozen time: calendars, DST, pauses, priority changes."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from service.extensions import db
from tickets import lifecycle, sla
from tickets.models import (BusinessCalendar, CalendarDay, Priority, SlaPause, SlaPolicy,
                            SlaState, Status)
from tickets.services import change_priority

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_HOURS = {str(day): [["09:00", "18:00"]] for day in range(5)}


def local(zone, *args) -> datetime:
    return datetime(*args, tzinfo=zone)


@pytest.fixture
def calendar(app):
    calendar = db.session.scalar(select(BusinessCalendar))
    return calendar


def office_calendar(calendar, zone="Asia/Shanghai", holidays=(), working_days=()):
    calendar.timezone = zone
    calendar.weekly_hours = OFFICE_HOURS
    calendar.days = [CalendarDay(day=d, name="holiday") for d in holidays] + [
        CalendarDay(day=d, name="make-up day", is_working_day=True, hours=[["09:00", "18:00"]])
        for d in working_days]
    db.session.commit()


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def test_default_policies_and_24x7(make_ticket):
    with at(datetime(2026, 11, 23, 2, 30, tzinfo=UTC)):
        ticket = make_ticket(urgency=Priority.URGENT)
    assert ticket.first_response_due_at == datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
    assert ticket.resolution_due_at == datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    targets = {p.priority: (p.first_response_minutes, p.resolution_minutes)
               for p in db.session.scalars(select(SlaPolicy))}
    assert targets == {Priority.URGENT: (60, 480), Priority.HIGH: (240, 1440),
                       Priority.NORMAL: (1440, 4320), Priority.LOW: (1440, 7200)}


def test_weekend_is_skipped(calendar, make_ticket):
    office_calendar(calendar)
    with at(local(SHANGHAI, 2026, 11, 27, 17, 0)):  # Friday 17:00
        ticket = make_ticket(urgency=Priority.HIGH)  # 4 h first response
    assert ticket.first_response_due_at == local(SHANGHAI, 2026, 11, 30, 12, 0)  # Monday


def test_ticket_on_saturday_starts_on_monday_morning(calendar, make_ticket):
    office_calendar(calendar)
    with at(local(SHANGHAI, 2026, 11, 28, 11, 0)):
        ticket = make_ticket(urgency=Priority.URGENT)
    assert ticket.first_response_due_at == local(SHANGHAI, 2026, 11, 30, 10, 0)
    assert ticket.resolution_due_at == local(SHANGHAI, 2026, 11, 30, 17, 0)


def test_holiday_and_make_up_working_day(calendar, make_ticket):
    # National Day style: Monday off, the Saturday before is a working day.
    office_calendar(calendar, holidays=[date(2026, 11, 30)], working_days=[date(2026, 11, 28)])
    with at(local(SHANGHAI, 2026, 11, 27, 17, 0)):
        ticket = make_ticket(urgency=Priority.HIGH)
    # Friday 1 h + Saturday 3 h.
    assert ticket.first_response_due_at == local(SHANGHAI, 2026, 11, 28, 12, 0)
    with at(local(SHANGHAI, 2026, 11, 28, 17, 0)):
        later = make_ticket(urgency=Priority.HIGH)
    # Saturday 1 h, Sunday off, Monday holiday, Tuesday 3 h.
    assert later.first_response_due_at == local(SHANGHAI, 2026, 12, 1, 12, 0)


def test_target_crossing_midnight_and_a_weekend(calendar, make_ticket):
    office_calendar(calendar)
    with at(local(SHANGHAI, 2026, 11, 26, 16, 0)):  # Thursday
        ticket = make_ticket(urgency=Priority.HIGH)  # resolution 24 business hours
    # Thu 2 h, Fri 9 h, Mon 9 h, Tue 4 h.
    assert ticket.resolution_due_at == local(SHANGHAI, 2026, 12, 1, 13, 0)


def test_dst_spring_forward_on_a_24x7_local_calendar(calendar, make_ticket):
    calendar.timezone = "Europe/Berlin"
    db.session.commit()
    with at(local(BERLIN, 2026, 3, 28, 22, 0)):  # night before clocks jump 02:00 → 03:00
        ticket = make_ticket(urgency=Priority.URGENT)
    # Real elapsed time is what counts: 8 h later in UTC, 9 h later on the wall clock.
    assert ticket.resolution_due_at == local(BERLIN, 2026, 3, 29, 7, 0)
    assert ticket.resolution_due_at - ticket.created_at == timedelta(hours=8)


def test_dst_fall_back_with_office_hours(calendar, make_ticket):
    office_calendar(calendar, zone="Europe/Berlin")
    with at(local(BERLIN, 2026, 10, 23, 16, 0)):  # Friday before fall-back Sunday
        ticket = make_ticket(urgency=Priority.HIGH)
    # Friday 2 h, Monday 09:00 local (CET now) + 2 h.
    assert ticket.first_response_due_at == local(BERLIN, 2026, 10, 26, 11, 0)
    assert ticket.first_response_due_at.utcoffset() == timedelta(0)
    assert ticket.first_response_due_at == datetime(2026, 10, 26, 10, 0, tzinfo=UTC)


def test_pause_while_waiting_on_customer_extends_due_times(make_ticket, make_user, support_team):
    agent = make_user("agent", team=support_team)
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    with at(start):
        ticket = make_ticket(urgency=Priority.HIGH)
    original = ticket.resolution_due_at
    with at(start + timedelta(hours=1)):
        lifecycle.change_status(ticket, Status.PENDING_CUSTOMER, actor=agent,
                                now=start + timedelta(hours=1), reason="asked for logs")
        db.session.commit()
        assert sla.live_state(ticket, start + timedelta(hours=30)) == SlaState.PAUSED
        assert ticket.sla_next_check_at is None
    pause = db.session.scalar(select(SlaPause))
    assert (pause.paused_by_user_id, pause.reason) == (agent.id, "asked for logs")
    with at(start + timedelta(hours=6)):
        lifecycle.change_status(ticket, Status.OPEN, actor=None, contact_id=ticket.contact_id,
                                now=start + timedelta(hours=6), reason="customer replied")
        db.session.commit()
    assert ticket.resolution_due_at == original + timedelta(hours=5)
    assert pause.resumed_at == start + timedelta(hours=6)
    assert ticket.sla_paused_seconds == 5 * 3600


def test_pause_counts_only_business_time(calendar, make_ticket, make_user, support_team):
    office_calendar(calendar)
    agent = make_user("agent", team=support_team)
    with at(local(SHANGHAI, 2026, 11, 27, 10, 0)):  # Friday
        ticket = make_ticket(urgency=Priority.HIGH)
    assert ticket.resolution_due_at == local(SHANGHAI, 2026, 12, 1, 16, 0)  # Fri 8, Mon 9, Tue 7
    paused_at = local(SHANGHAI, 2026, 11, 27, 17, 0)
    lifecycle.change_status(ticket, Status.PENDING_CUSTOMER, actor=agent, now=paused_at)
    resumed_at = local(SHANGHAI, 2026, 11, 30, 10, 0)  # Monday: 1 h Friday + 1 h Monday
    lifecycle.change_status(ticket, Status.OPEN, actor=agent, now=resumed_at)
    assert ticket.sla_paused_seconds == 2 * 3600
    assert ticket.resolution_due_at == local(SHANGHAI, 2026, 12, 1, 18, 0)


def test_priority_change_recomputes_from_the_start(make_ticket, make_user, support_team):
    agent = make_user("agent", team=support_team)
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    with at(start):
        ticket = make_ticket()  # normal: 24 h / 72 h
    assert ticket.first_response_due_at == start + timedelta(hours=24)
    now = start + timedelta(minutes=30)
    with at(now):
        change_priority(ticket, Priority.URGENT, agent, now, "outage confirmed")
    assert ticket.first_response_due_at == start + timedelta(hours=1)
    assert ticket.resolution_due_at == start + timedelta(hours=8)
    assert sla.terms_of(ticket).priority == Priority.URGENT
    assert ticket.sla_next_check_at == start + timedelta(minutes=48)  # 80 % of 1 h
    # Lowering it after the warning point re-arms the warning for the later deadline.
    later = start + timedelta(minutes=50)
    ticket.first_response_warned_at = later
    change_priority(ticket, Priority.LOW, agent, later, None)
    assert ticket.first_response_warned_at is None
    assert ticket.resolution_due_at == start + timedelta(hours=120)


def test_met_and_breached_are_decided_when_the_target_is_met(make_ticket, make_user,
                                                             support_team):
    from tickets.conversation import add_staff_message
    from tickets.models import SlaBreach, Visibility

    agent = make_user("agent", team=support_team)
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    with at(start):
        on_time = make_ticket(urgency=Priority.URGENT)
        late = make_ticket(urgency=Priority.URGENT)
    add_staff_message(on_time, agent, "hello", Visibility.PUBLIC, start + timedelta(minutes=59))
    add_staff_message(late, agent, "sorry", Visibility.PUBLIC, start + timedelta(minutes=61))
    db.session.commit()
    assert on_time.first_response_breached_at is None
    assert late.first_response_breached_at == start + timedelta(minutes=61)
    breach = db.session.scalar(select(SlaBreach))
    assert (breach.ticket_id, breach.target.value) == (late.id, "first_response")
    assert sla.live_state(late, start + timedelta(hours=2)) == SlaState.BREACHED
    lifecycle.change_status(on_time, Status.RESOLVED, actor=agent,
                            now=start + timedelta(hours=2))
    assert sla.live_state(on_time, start + timedelta(hours=100)) == SlaState.MET


def test_states_over_time(make_ticket):
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    with at(start):
        ticket = make_ticket(urgency=Priority.URGENT)
    assert sla.live_state(ticket, start + timedelta(minutes=47)) == SlaState.ON_TRACK
    assert sla.live_state(ticket, start + timedelta(minutes=48)) == SlaState.AT_RISK
    assert sla.live_state(ticket, start + timedelta(minutes=60)) == SlaState.BREACHED


def test_reopen_resumes_resolution_clock_where_it_stopped(make_ticket, make_user, support_team):
    agent = make_user("agent", team=support_team)
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    with at(start):
        ticket = make_ticket(urgency=Priority.URGENT)  # resolution 8 h
    lifecycle.change_status(ticket, Status.RESOLVED, actor=agent, now=start + timedelta(hours=2))
    lifecycle.change_status(ticket, Status.REOPENED, actor=agent,
                            now=start + timedelta(hours=50))
    assert ticket.reopen_count == 1
    assert ticket.resolved_at is None
    # 6 h of the 8 h were left when it was resolved.
    assert ticket.resolution_due_at == start + timedelta(hours=56)


def test_customer_reply_resumes_a_paused_clock(make_ticket, make_user, support_team):
    from tickets.conversation import add_customer_message
    from tickets.models import Channel, TicketEvent

    agent = make_user("agent", team=support_team)
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    with at(start):
        ticket = make_ticket(urgency=Priority.HIGH)
    original = ticket.resolution_due_at
    lifecycle.change_status(ticket, Status.PENDING_CUSTOMER, actor=agent,
                            now=start + timedelta(hours=1), reason="need logs")
    add_customer_message(ticket, ticket.contact_id, "Here are the logs", Channel.EMAIL,
                         start + timedelta(hours=3))
    db.session.commit()
    assert ticket.status == Status.OPEN and ticket.sla_paused_at is None
    assert ticket.resolution_due_at == original + timedelta(hours=2)
    kinds = [e.kind for e in db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))]
    assert kinds[-2:] == ["status_changed", "customer_message"]
