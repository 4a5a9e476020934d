"""Report functions on a small hand-worked data set with known answers.

NOW is Tuesday 2026-03-10 12:00 UTC; the viewer's zone is Asia/Shanghai (UTC+8, no DST),
so the periods start at local midnight:
  today  S1  = 2026-03-10 00:00 +08 = 03-09 16:00 UTC
  7d     S7  = 2026-03-04 00:00 +08 = 03-03 16:00 UTC
  30d    S30 = 2026-02-09 00:00 +08 = 02-08 16:00 UTC

The tickets (team S = support, O = another team; times UTC; FR = first response,
RES = resolution; B = breach recorded on the ticket):

  T1  S urgent created 03-10 10:00 open      FR due 11:00 responded 10:30; RES due 18:00
  T2  S high   created 03-10 02:00 open      FR due 06:00 never answered (no B yet);
                                             RES due 03-11 02:00
  T3  S normal created 03-05 00:00 closed    FR due 03-06 00:00 responded 03-06 03:00,
                                             B 03-06 00:00:30; RES due 03-08 00:00
                                             resolved 03-07 12:00
  T4  S low    created 02-01 00:00 closed    FR due 02-02 responded 02-01 05:00;
                                             RES due 02-06 resolved 02-20, B 02-06 00:00:20
  T5  S normal created 02-15 00:00 closed    FR due 02-16 responded 02-15 01:00;
                                             RES due 02-18 resolved 02-17 00:00
  T6  S high   created 03-10 06:00 pending_customer, paused 07:00; FR due 10:00 (stale,
                                             the clock stands still); RES due 03-11 06:00
  T7  O urgent created 03-10 09:00 open      FR due 10:00 never answered; RES due 17:00
  T8  S low    created 03-10 11:00 open      no SLA policy, no due times
  T9  S normal created 03-01 00:00 reopened  FR due 03-02 responded 03-01 01:00;
                                             RES B 03-04 00:00:10, then due moved to 03-12
  T10 S normal created 03-10 08:00 new       (exactly 4 h old) FR due 03-11 08:00
  T11 S low    created 03-08 12:00 open      FR due 03-09 12:00 responded 03-08 13:00;
                                             RES due 03-13 12:00

Breach records (sla_breaches): T3 FR at 03-06 00:00:30, T4 RES at 02-06 00:00:20,
T9 RES at 03-04 00:00:10, T7 FR at 03-10 10:00:30 (T2's breach is not recorded yet).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from service.extensions import db
from tickets import reports
from tickets.models import (Channel, Priority, SlaBreach, SlaPolicy, SlaTarget, Status,
                            Ticket)
from tickets.reports import Compliance, Durations, Period, Scope

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
FR, RES = SlaTarget.FIRST_RESPONSE, SlaTarget.RESOLUTION


def utc(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def starts() -> dict[Period, datetime]:
    return {period: reports.period_start(period, NOW, SHANGHAI) for period in Period}


def add_ticket(make_ticket, team, priority, created, status, channel=Channel.EMAIL, *,
               fr_due=None, responded=None, fr_breached=None, res_due=None, resolved=None,
               res_breached=None, paused=None, policy=True) -> Ticket:
    """A ticket made by intake at `created`, then given exactly these SLA columns."""
    with time_machine.travel(created, tick=False):
        ticket = make_ticket(priority=priority)
    policy_id = db.session.scalar(select(SlaPolicy.id).where(SlaPolicy.priority == priority))
    ticket.team_id = team.id
    ticket.status = status
    ticket.channel = channel
    ticket.sla_policy_id = policy_id if policy else None
    ticket.first_response_due_at, ticket.first_responded_at = fr_due, responded
    ticket.first_response_breached_at = fr_breached
    ticket.resolution_due_at, ticket.resolved_at = res_due, resolved
    ticket.resolution_breached_at = res_breached
    ticket.sla_paused_at = paused
    db.session.commit()
    return ticket


def breach(ticket: Ticket, target: SlaTarget, due: datetime, at: datetime) -> None:
    db.session.add(SlaBreach(ticket_id=ticket.id, target=target, priority=ticket.priority,
                             due_at=due, breached_at=at, team_id=ticket.team_id))
    db.session.commit()


@pytest.fixture
def other_team(make_team):
    return make_team("Billing")


@pytest.fixture
def data(make_ticket, support_team, other_team):
    return build(make_ticket, support_team, other_team)


def build(make_ticket, s, o) -> dict[int, Ticket]:
    """The tickets and breach records of the module docstring, keyed by number."""
    t = {}
    t[1] = add_ticket(make_ticket, s, Priority.URGENT, utc(3, 10, 10), Status.OPEN,
                      fr_due=utc(3, 10, 11), responded=utc(3, 10, 10, 30),
                      res_due=utc(3, 10, 18))
    t[2] = add_ticket(make_ticket, s, Priority.HIGH, utc(3, 10, 2), Status.OPEN, Channel.WEB,
                      fr_due=utc(3, 10, 6), res_due=utc(3, 11, 2))
    t[3] = add_ticket(make_ticket, s, Priority.NORMAL, utc(3, 5), Status.CLOSED,
                      fr_due=utc(3, 6), responded=utc(3, 6, 3), fr_breached=utc(3, 6, 0, 0, 30),
                      res_due=utc(3, 8), resolved=utc(3, 7, 12))
    t[4] = add_ticket(make_ticket, s, Priority.LOW, utc(2, 1), Status.CLOSED, Channel.PHONE,
                      fr_due=utc(2, 2), responded=utc(2, 1, 5), res_due=utc(2, 6),
                      resolved=utc(2, 20), res_breached=utc(2, 6, 0, 0, 20))
    t[5] = add_ticket(make_ticket, s, Priority.NORMAL, utc(2, 15), Status.CLOSED, Channel.CHAT,
                      fr_due=utc(2, 16), responded=utc(2, 15, 1), res_due=utc(2, 18),
                      resolved=utc(2, 17))
    t[6] = add_ticket(make_ticket, s, Priority.HIGH, utc(3, 10, 6), Status.PENDING_CUSTOMER,
                      fr_due=utc(3, 10, 10), res_due=utc(3, 11, 6), paused=utc(3, 10, 7))
    t[7] = add_ticket(make_ticket, o, Priority.URGENT, utc(3, 10, 9), Status.OPEN,
                      Channel.PHONE, fr_due=utc(3, 10, 10), res_due=utc(3, 10, 17))
    t[8] = add_ticket(make_ticket, s, Priority.LOW, utc(3, 10, 11), Status.OPEN, Channel.API,
                      policy=False)
    t[9] = add_ticket(make_ticket, s, Priority.NORMAL, utc(3, 1), Status.REOPENED,
                      fr_due=utc(3, 2), responded=utc(3, 1, 1), res_due=utc(3, 12),
                      res_breached=utc(3, 4, 0, 0, 10))
    t[10] = add_ticket(make_ticket, s, Priority.NORMAL, utc(3, 10, 8), Status.NEW, Channel.WEB,
                       fr_due=utc(3, 11, 8), res_due=utc(3, 13, 8))
    t[11] = add_ticket(make_ticket, s, Priority.LOW, utc(3, 8, 12), Status.OPEN,
                       Channel.PORTAL, fr_due=utc(3, 9, 12), responded=utc(3, 8, 13),
                       res_due=utc(3, 13, 12))
    breach(t[3], FR, utc(3, 6), utc(3, 6, 0, 0, 30))
    breach(t[4], RES, utc(2, 6), utc(2, 6, 0, 0, 20))
    breach(t[9], RES, utc(3, 4), utc(3, 4, 0, 0, 10))
    breach(t[7], FR, utc(3, 10, 10), utc(3, 10, 10, 0, 30))
    return t


def test_period_starts_are_local_midnights():
    assert starts() == {Period.TODAY: utc(3, 9, 16), Period.WEEK: utc(3, 3, 16),
                        Period.MONTH: utc(2, 8, 16)}
    # Berlin switched to summer time on 2026-03-29: today began at 00:00 CEST (UTC+2),
    # seven days back at 00:00 CET (UTC+1).
    berlin, now = ZoneInfo("Europe/Berlin"), utc(3, 30, 10)
    assert reports.period_start(Period.TODAY, now, berlin) == utc(3, 29, 22)
    assert reports.period_start(Period.WEEK, now, berlin) == utc(3, 23, 23)


def test_backlog_by_priority_and_age(data, support_team, other_team):
    # Open: T1 urgent 2 h, T7 urgent 3 h, T8 low 1 h -> "< 4 h"; T2 high 10 h, T6 high
    # 6 h, T10 normal exactly 4 h -> "4–24 h"; T11 low 2 d -> "1–3 d"; T9 normal 9.5 d
    # -> "> 7 d". Closed T3, T4, T5 are not backlog.
    assert reports.backlog(Scope(None), NOW) == {
        Priority.URGENT: [2, 0, 0, 0, 0], Priority.HIGH: [0, 2, 0, 0, 0],
        Priority.NORMAL: [0, 1, 0, 0, 1], Priority.LOW: [1, 0, 1, 0, 0]}
    # Support only: T7 (the other team's) is gone.
    assert reports.backlog(Scope((support_team.id,)), NOW)[Priority.URGENT] == [1, 0, 0, 0, 0]
    assert reports.backlog(Scope((other_team.id,)), NOW) == {
        Priority.URGENT: [1, 0, 0, 0, 0], Priority.HIGH: [0] * 5, Priority.NORMAL: [0] * 5,
        Priority.LOW: [0] * 5}
    assert all(v == [0] * 5 for v in reports.backlog(Scope(()), NOW).values())


def test_sla_compliance(data, support_team):
    # First response, moment decided:
    #   T1 met 03-10 10:30 (today, 7d, 30d)   T2 breached at due 03-10 06:00 (t, 7, 30)
    #   T3 breached at due 03-06 (7, 30)      T4 met 02-01 (before every period)
    #   T5 met 02-15 (30)                     T6 paused -> left out
    #   T7 breached at due 03-10 10:00 (t, 7, 30, other team)
    #   T8 no policy -> left out              T9 met 03-01 (30)
    #   T10 not yet due -> left out           T11 met 03-08 13:00 (7, 30)
    # Resolution:
    #   T3 met 03-07 12:00 (7, 30)            T4 breached at due 02-06 (none; resolved late
    #   on 02-20, but it fell due before the 30 days)   T5 met 02-17 (30)
    #   T9 breach recorded 03-04 00:00:10 before its moved due time (7, 30)
    #   everything else not yet due, paused or without policy.
    result = reports.sla_compliance(Scope(None), starts(), NOW)
    assert result[FR] == {Period.TODAY: Compliance(1, 2), Period.WEEK: Compliance(2, 3),
                          Period.MONTH: Compliance(4, 3)}
    assert result[RES] == {Period.TODAY: Compliance(0, 0), Period.WEEK: Compliance(1, 1),
                           Period.MONTH: Compliance(2, 1)}
    assert round(result[FR][Period.TODAY].percent, 1) == 33.3
    assert result[FR][Period.WEEK].percent == 40.0
    assert result[RES][Period.TODAY].percent is None
    support = reports.sla_compliance(Scope((support_team.id,)), starts(), NOW)
    assert support[FR] == {Period.TODAY: Compliance(1, 1), Period.WEEK: Compliance(2, 2),
                           Period.MONTH: Compliance(4, 2)}
    assert support[RES] == result[RES]


def test_a_late_answer_and_a_recorded_breach_are_breaches(data):
    # Had T2 been answered at 07:00 (an hour late, no breach recorded): still breached.
    data[2].first_responded_at = utc(3, 10, 7)
    db.session.commit()
    assert reports.sla_compliance(Scope(None), starts(), NOW)[FR][Period.TODAY] == \
        Compliance(1, 2)


def test_response_time_percentiles(data, support_team):
    # First responses in 7d: T1 30 min (1800 s), T11 1 h (3600), T3 27 h (97200).
    #   median = 3600; p90 at position 0.9·2 = 1.8: 3600 + 0.8·(97200−3600) = 78480.
    # In 30d also T5 and T9 (3600 each): [1800, 3600, 3600, 3600, 97200];
    #   median = 3600; p90 at 0.9·4 = 3.6: 3600 + 0.6·93600 = 59760.
    # Resolutions in 30d: T5 48 h (172800), T3 60 h (216000), T4 19 d (1641600);
    #   median 216000; p90 at 1.8: 216000 + 0.8·(1641600−216000) = 1356480.
    s = starts()
    week = reports.response_times(Scope(None), s[Period.WEEK], NOW)
    assert week[FR] == Durations(3, pytest.approx(3600), pytest.approx(78480))
    assert week[RES] == Durations(1, pytest.approx(216000), pytest.approx(216000))
    month = reports.response_times(Scope(None), s[Period.MONTH], NOW)
    assert month[FR] == Durations(5, pytest.approx(3600), pytest.approx(59760))
    assert month[RES] == Durations(3, pytest.approx(216000), pytest.approx(1356480))
    today = reports.response_times(Scope(None), s[Period.TODAY], NOW)
    assert today[FR] == Durations(1, pytest.approx(1800), pytest.approx(1800))
    assert today[RES] == Durations(0, None, None)
    assert reports.response_times(Scope(()), s[Period.MONTH], NOW)[FR] == Durations(0, None,
                                                                                   None)


def test_sla_report_is_both_reports(data, support_team):
    s = starts()
    for scope in (Scope(None), Scope((support_team.id,))):
        assert reports.sla_report(scope, s, s[Period.WEEK], NOW) == (
            reports.sla_compliance(scope, s, NOW),
            reports.response_times(scope, s[Period.WEEK], NOW))


def test_breaches_latest_first(data, support_team):
    # In 7d: T7 (03-10), T3 (03-06), T9 (03-04); T4's (02-06) is older.
    count, rows = reports.breaches(Scope(None), starts()[Period.WEEK], NOW)
    assert count == 3
    assert [(row.ticket_id, row.target) for row in rows] == [
        (data[7].id, FR), (data[3].id, FR), (data[9].id, RES)]
    assert rows[0].breached_at == utc(3, 10, 10, 0, 30) and rows[0].due_at == utc(3, 10, 10)
    count, rows = reports.breaches(Scope(None), starts()[Period.WEEK], NOW, limit=1)
    assert count == 3 and len(rows) == 1
    count, rows = reports.breaches(Scope((support_team.id,)), starts()[Period.WEEK], NOW)
    assert count == 2 and {row.ticket_id for row in rows} == {data[3].id, data[9].id}
    assert reports.breaches(Scope((support_team.id,)), starts()[Period.TODAY], NOW) == (0, [])


def test_a_breach_stays_with_the_team_that_breached(data, support_team, other_team):
    data[3].team_id = other_team.id  # moved to Billing after its breach
    db.session.commit()
    count, rows = reports.breaches(Scope((support_team.id,)), starts()[Period.WEEK], NOW)
    assert count == 2 and data[3].id in {row.ticket_id for row in rows}
    assert reports.breaches(Scope((other_team.id,)), starts()[Period.WEEK], NOW)[0] == 1


def test_tickets_by_channel(data, support_team):
    # Created today: T1 email, T2 web, T6 email, T7 phone, T8 api, T10 web.
    # 7d adds T3 email, T11 portal; 30d adds T5 chat, T9 email. T4 (02-01) is older.
    s = starts()
    zero = {channel: 0 for channel in Channel}
    assert reports.tickets_by_channel(Scope(None), s[Period.TODAY], NOW) == {
        **zero, Channel.EMAIL: 2, Channel.WEB: 2, Channel.PHONE: 1, Channel.API: 1}
    assert reports.tickets_by_channel(Scope(None), s[Period.MONTH], NOW) == {
        **zero, Channel.EMAIL: 4, Channel.WEB: 2, Channel.PHONE: 1, Channel.API: 1,
        Channel.PORTAL: 1, Channel.CHAT: 1}
    assert reports.tickets_by_channel(Scope((support_team.id,)), s[Period.WEEK], NOW) == {
        **zero, Channel.EMAIL: 3, Channel.WEB: 2, Channel.API: 1, Channel.PORTAL: 1}


def test_agent_load(make_user, support_team, other_team):
    a1 = make_user("agent", team=support_team, name="Ann", open_tickets=3, open_load=5,
                   max_open_tickets=10)
    a2 = make_user("lead", team=support_team, name="Bo", open_tickets=1, open_load=3,
                   max_open_tickets=20, availability="away")
    a3 = make_user("agent", team=other_team, name="Cy", open_tickets=7, open_load=9)
    make_user("agent", team=support_team, is_active=False, open_tickets=50, open_load=50)
    make_user("department", team=support_team, open_tickets=2, open_load=2)
    make_user("admin")
    everyone = reports.agent_load(Scope(None))
    assert [(row.id, row.open_tickets, row.weighted_load, row.capacity) for row in everyone] \
        == [(a3.id, 7, 9, 20), (a1.id, 3, 5, 10), (a2.id, 1, 3, 20)]
    assert everyone[2].availability == "away"
    assert [row.id for row in reports.agent_load(Scope((support_team.id,)))] == [a1.id, a2.id]
    assert reports.agent_load(Scope(())) == []


def test_scope_for_roles(make_user, make_team, support_team, other_team):
    from service.errors import InvalidInput

    admin = make_user("admin")
    lead = make_user("lead")
    led = make_team("Led team", lead=lead)  # leads it without being a member
    support_member = make_user("lead", team=support_team)
    assert reports.scope_for(admin, None) == Scope(None)
    assert reports.scope_for(admin, other_team.id) == Scope((other_team.id,))
    assert reports.scope_for(lead, None) == Scope((led.id,))
    assert reports.scope_for(support_member, None) == Scope((support_team.id,))
    with pytest.raises(InvalidInput):
        reports.scope_for(lead, support_team.id)
    with pytest.raises(InvalidInput):
        reports.scope_for(lead, 2**40)
    assert reports.dashboard_teams(make_user("agent", team=support_team)) == []


def test_no_rows_no_errors(app):
    s = starts()
    scope = Scope(None)
    assert reports.sla_compliance(scope, s, NOW)[FR][Period.MONTH] == Compliance(0, 0)
    assert reports.response_times(scope, s[Period.MONTH], NOW)[RES] == Durations(0, None, None)
    assert reports.breaches(scope, s[Period.MONTH], NOW) == (0, [])
    assert sum(reports.tickets_by_channel(scope, s[Period.MONTH], NOW).values()) == 0


@pytest.mark.integration
def test_the_same_answers_on_postgresql(pg_app, make_ticket, make_team, support_team):
    """percentile_cont and FILTER on PostgreSQL give the hand-worked numbers too."""
    other = make_team("Billing")
    built = build(make_ticket, support_team, other)
    s = starts()
    assert reports.sla_compliance(Scope(None), s, NOW)[FR] == {
        Period.TODAY: Compliance(1, 2), Period.WEEK: Compliance(2, 3),
        Period.MONTH: Compliance(4, 3)}
    month = reports.response_times(Scope(None), s[Period.MONTH], NOW)
    assert month[FR] == Durations(5, pytest.approx(3600), pytest.approx(59760))
    assert month[RES] == Durations(3, pytest.approx(216000), pytest.approx(1356480))
    assert reports.backlog(Scope((support_team.id,)), NOW)[Priority.NORMAL] == [0, 1, 0, 0, 1]
    count, rows = reports.breaches(Scope(None), s[Period.WEEK], NOW)
    assert count == 3 and rows[0].ticket_id == built[7].id
    compliance, times = reports.sla_report(Scope(None), s, s[Period.MONTH], NOW)
    assert compliance == reports.sla_compliance(Scope(None), s, NOW)
    assert compliance[RES][Period.WEEK] == Compliance(1, 1)
    assert times == month
    assert reports.tickets_by_channel(Scope(None), s[Period.TODAY], NOW)[Channel.EMAIL] == 2
    assert timedelta(0) < NOW - s[Period.TODAY] < timedelta(days=1)
