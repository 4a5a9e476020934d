"""SLA compliance, response times and backlog on one hand-worked data set, on SQLite and
PostgreSQL. Every time is UTC; the period is March 2026 = [03-01, 04-01), the previous
one [01-29, 03-01); "now" is frozen at 2026-06-01. Team A and team B.

Tickets (team, priority, created; FR = first response, RES = resolution, each as
due / done / breach recorded; "–" = none):
 T1  A high   03-02 09:00  FR 03-02 10:00 / 09:30 / –   RES 03-03 09:00 / 03-02 21:00 / –
                           resolved
 T2  A normal 03-03 00:00  FR 03-03 04:00 / 06:00 / 04:05   RES 03-06 / 03-05 / –   closed
                           paused 03-03 12:00 → 03-04 00:00 (12 h)
 T3  B urgent 03-10 08:00  FR 03-10 09:00 / 08:15 / –
                           RES 03-10 16:00 / 03-11 08:00 / 03-10 16:01   resolved
                           paused 03-10 10:00 → 14:00 (4 h)
 T4  B normal 03-20 00:00  FR 03-20 08:00 / – / –   RES 03-23 / – / –   open
 T5  A low    03-05 00:00  no SLA; answered 03-05 01:00, resolved 03-06 00:00   closed
 T6  A normal 03-12 00:00  FR 03-12 08:00 / 02:00 / –   RES 03-16 / 03-15 / –   resolved
                           resolved 03-13, reopened 03-14, resolved again 03-15
 T7  B high   03-31 20:00  FR 03-31 22:00 / 20:30 / –   RES 04-01 20:00 / – / –
                           paused since 03-31 21:00   pending_customer
 T8  A urgent 03-31 22:00  FR 03-31 23:00 / – / –   RES 04-01 06:00 / – / –   new
 T9  B normal 02-10 00:00  FR 02-10 08:00 / 10:00 / 08:01   RES 02-13 / 02-11 / –   closed
 T10 A low    03-25 00:00  FR 03-26 00:00 / 03-25 12:00 / –
                           RES 03-30 00:00 / 04-02 00:00 / 03-30 00:10   resolved
 T11 B normal 02-20 00:00  FR 02-20 08:00 / 02-20 04:00 / –
                           RES 02-25 00:00 / 03-02 00:00 / 02-25 00:05   resolved
 T12 A normal 03-18 00:00  FR 03-18 10:00 / 05:00 / 03-18 02:00 (the due time moved later)
                           RES 03-21 00:00 / – / –   open
 T13 A normal 04-05 00:00  no SLA   open

SLA compliance, March (decided in the period; breach at its due time, or at the recorded
breach when that came first):
  first response: met T1 T3 T6 T7 T10 = 5, breached T2 T4 (unanswered) T8 (unanswered)
    T12 (at 03-18 02:00) = 4 → 5/9 = 55.6 %
  resolution: met T1 T2 T6 = 3, breached T3 T4 T10 (due 03-30) T12 = 4 → 3/7 = 42.9 %
    (T11's breach fell in February; T7 and T8 fall due in April)
  breached tickets (first breach in March): T2 T3 T4 T8 T10 T12 = 6
  team A: FR 3 met / 3 breached = 50.0 %, resolution 3 / 2 = 60.0 %, breached tickets 4
  team B: FR 2 / 1 = 66.7 %, resolution 0 / 2 = 0.0 %, breached tickets 2
  February: FR T11 met, T9 breached = 50.0 %; resolution T9 met, T11 breached = 50.0 %;
    breached tickets 2 (all team B).

Response times, March (seconds):
  first response (answered in March): 900 1800 1800 3600 7200 18000 21600 43200
    median = (3600+7200)/2 = 5400; p90 at 0.9·7 = 6.3 → 21600 + 0.3·21600 = 28080
  resolution (resolved in March: T1 T2 T3 T5 T6 T11):
    43200 86400 86400 172800 259200 864000 → median (86400+172800)/2 = 129600;
    p90 at 4.5 → 259200 + 0.5·604800 = 561600
  handle = resolution − waiting (tickets.waiting_seconds: paused, and resolved before
  a reopening): T1 43200, T2 172800−43200 =
    129600, T3 86400−14400 = 72000, T5 86400, T6 259200−86400 = 172800, T11 864000
    → 43200 72000 86400 129600 172800 864000: median 108000, p90 172800 + 0.5·691200 =
    518400

Backlog at 04-01 00:00 (rebuilt from created/resolved/closed): T4 T7 T8 T10 T12 = 5;
  ages: T8 2 h → lt_4h, T7 exactly 4 h → 4h_24h, T10 exactly 7 d, T4, T12 → gt_7d;
  priorities low 1 (T10), normal 2 (T4 T12), high 1 (T7), urgent 1 (T8);
  past due: T4 T8 (unanswered past due), T10 T12 (breach recorded) = 4 (T7 paused, not due).
  Previous (at 03-01 00:00): T11 only (9 days, normal, breach recorded).
  Now (2026-06-01): the open statuses: T4 T7 T8 T12 T13 = 5, all older than 7 days.
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from service.extensions import db
from service.reports import engine
from service.reports.query import Grouping, Slice
from tickets.analytics.backlog import BACKLOG
from tickets.analytics.sla import SLA_COMPLIANCE
from tickets.analytics.times import RESPONSE_TIMES
from tickets.models import ActorKind, Priority, SlaPause, Status, TicketEvent


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MARCH = Slice(utc(2026, 3, 1), utc(2026, 4, 1))
NOW = utc(2026, 6, 1)
SLA_FIELDS = ("first_response_due_at", "first_responded_at", "first_response_breached_at",
              "resolution_due_at", "resolved_at", "resolution_breached_at", "closed_at",
              "sla_paused_at")



@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    """The reports judge unanswered targets and the backlog as of now: freeze it."""
    for module in ("tickets.analytics.sla", "tickets.analytics.backlog"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: NOW)


def _ticket(make_ticket, team, priority: Priority, created: datetime, status: Status,
            **times: datetime):
    ticket = make_ticket()
    ticket.team_id, ticket.priority, ticket.status = team.id, priority, status
    ticket.created_at = created
    for name in SLA_FIELDS:
        setattr(ticket, name, times.get(name))
    db.session.commit()
    return ticket


def _pause(ticket, start: datetime, end: datetime | None) -> None:
    db.session.add(SlaPause(ticket_id=ticket.id, paused_at=start, resumed_at=end,
                            paused_by_kind=ActorKind.STAFF, reason="waiting"))
    if end is not None:  # as tickets.sla.resume counts it
        ticket.waiting_seconds += int((end - start).total_seconds())


def _status_change(ticket, old: Status, new: Status, at: datetime) -> None:
    db.session.add(TicketEvent(ticket_id=ticket.id, kind="status_changed",
                               actor_kind=ActorKind.STAFF, created_at=at,
                               data={"from": old.value, "to": new.value, "reason": None}))


@pytest.fixture
def teams(database, make_team):
    return make_team("Team A"), make_team("Team B")


@pytest.fixture
def tickets(teams, make_ticket):
    a, b = teams
    made = {
        1: _ticket(make_ticket, a, Priority.HIGH, utc(2026, 3, 2, 9), Status.RESOLVED,
                   first_response_due_at=utc(2026, 3, 2, 10),
                   first_responded_at=utc(2026, 3, 2, 9, 30),
                   resolution_due_at=utc(2026, 3, 3, 9), resolved_at=utc(2026, 3, 2, 21)),
        2: _ticket(make_ticket, a, Priority.NORMAL, utc(2026, 3, 3), Status.CLOSED,
                   first_response_due_at=utc(2026, 3, 3, 4),
                   first_responded_at=utc(2026, 3, 3, 6),
                   first_response_breached_at=utc(2026, 3, 3, 4, 5),
                   resolution_due_at=utc(2026, 3, 6), resolved_at=utc(2026, 3, 5),
                   closed_at=utc(2026, 3, 8)),
        3: _ticket(make_ticket, b, Priority.URGENT, utc(2026, 3, 10, 8), Status.RESOLVED,
                   first_response_due_at=utc(2026, 3, 10, 9),
                   first_responded_at=utc(2026, 3, 10, 8, 15),
                   resolution_due_at=utc(2026, 3, 10, 16), resolved_at=utc(2026, 3, 11, 8),
                   resolution_breached_at=utc(2026, 3, 10, 16, 1)),
        4: _ticket(make_ticket, b, Priority.NORMAL, utc(2026, 3, 20), Status.OPEN,
                   first_response_due_at=utc(2026, 3, 20, 8),
                   resolution_due_at=utc(2026, 3, 23)),
        5: _ticket(make_ticket, a, Priority.LOW, utc(2026, 3, 5), Status.CLOSED,
                   first_responded_at=utc(2026, 3, 5, 1), resolved_at=utc(2026, 3, 6),
                   closed_at=utc(2026, 3, 7)),
        6: _ticket(make_ticket, a, Priority.NORMAL, utc(2026, 3, 12), Status.RESOLVED,
                   first_response_due_at=utc(2026, 3, 12, 8),
                   first_responded_at=utc(2026, 3, 12, 2),
                   resolution_due_at=utc(2026, 3, 16), resolved_at=utc(2026, 3, 15)),
        7: _ticket(make_ticket, b, Priority.HIGH, utc(2026, 3, 31, 20),
                   Status.PENDING_CUSTOMER,
                   first_response_due_at=utc(2026, 3, 31, 22),
                   first_responded_at=utc(2026, 3, 31, 20, 30),
                   resolution_due_at=utc(2026, 4, 1, 20), sla_paused_at=utc(2026, 3, 31, 21)),
        8: _ticket(make_ticket, a, Priority.URGENT, utc(2026, 3, 31, 22), Status.NEW,
                   first_response_due_at=utc(2026, 3, 31, 23),
                   resolution_due_at=utc(2026, 4, 1, 6)),
        9: _ticket(make_ticket, b, Priority.NORMAL, utc(2026, 2, 10), Status.CLOSED,
                   first_response_due_at=utc(2026, 2, 10, 8),
                   first_responded_at=utc(2026, 2, 10, 10),
                   first_response_breached_at=utc(2026, 2, 10, 8, 1),
                   resolution_due_at=utc(2026, 2, 13), resolved_at=utc(2026, 2, 11),
                   closed_at=utc(2026, 2, 12)),
        10: _ticket(make_ticket, a, Priority.LOW, utc(2026, 3, 25), Status.RESOLVED,
                    first_response_due_at=utc(2026, 3, 26),
                    first_responded_at=utc(2026, 3, 25, 12),
                    resolution_due_at=utc(2026, 3, 30), resolved_at=utc(2026, 4, 2),
                    resolution_breached_at=utc(2026, 3, 30, 0, 10)),
        11: _ticket(make_ticket, b, Priority.NORMAL, utc(2026, 2, 20), Status.RESOLVED,
                    first_response_due_at=utc(2026, 2, 20, 8),
                    first_responded_at=utc(2026, 2, 20, 4),
                    resolution_due_at=utc(2026, 2, 25), resolved_at=utc(2026, 3, 2),
                    resolution_breached_at=utc(2026, 2, 25, 0, 5)),
        12: _ticket(make_ticket, a, Priority.NORMAL, utc(2026, 3, 18), Status.OPEN,
                    first_response_due_at=utc(2026, 3, 18, 10),
                    first_responded_at=utc(2026, 3, 18, 5),
                    first_response_breached_at=utc(2026, 3, 18, 2),
                    resolution_due_at=utc(2026, 3, 21)),
        13: _ticket(make_ticket, a, Priority.NORMAL, utc(2026, 4, 5), Status.OPEN),
    }
    _pause(made[2], utc(2026, 3, 3, 12), utc(2026, 3, 4))
    _pause(made[3], utc(2026, 3, 10, 10), utc(2026, 3, 10, 14))
    _pause(made[7], utc(2026, 3, 31, 21), None)
    _status_change(made[6], Status.OPEN, Status.RESOLVED, utc(2026, 3, 13))
    _status_change(made[6], Status.RESOLVED, Status.REOPENED, utc(2026, 3, 14))
    _status_change(made[6], Status.REOPENED, Status.RESOLVED, utc(2026, 3, 15))
    made[6].waiting_seconds = 86400  # resolved 03-13 → reopened 03-14 (tickets.sla counts it)
    db.session.commit()
    return made


def _ids(query) -> set[int]:
    return set(db.session.scalars(query))


def _of(tickets, *numbers: int) -> set[int]:
    return {tickets[number].id for number in numbers}


# ---------------------------------------------------------------------------- SLA compliance

def test_sla_compliance_totals_and_previous(tickets):
    result = engine.run_with_previous(SLA_COMPLIANCE.metric, MARCH)
    assert result["total"] == {
        "first_response": {"met": 5, "breached": 4, "total": 9, "percent": 55.6},
        "resolution": {"met": 3, "breached": 4, "total": 7, "percent": 42.9},
        "breached_tickets": 6}
    assert result["previous"]["total"] == {
        "first_response": {"met": 1, "breached": 1, "total": 2, "percent": 50.0},
        "resolution": {"met": 1, "breached": 1, "total": 2, "percent": 50.0},
        "breached_tickets": 2}


def test_sla_compliance_by_team_lists_who_breaches_most(tickets, teams):
    a, b = teams
    result = engine.run_with_previous(SLA_COMPLIANCE.metric, MARCH, Grouping.TEAM)
    assert [group["key"] for group in result["groups"]] == [a.id, b.id]
    team_a, team_b = result["groups"]
    assert team_a["label"] == "Team A" and team_a["breached_tickets"] == 4
    assert team_a["first_response"] == {"met": 3, "breached": 3, "total": 6, "percent": 50.0}
    assert team_a["resolution"] == {"met": 3, "breached": 2, "total": 5, "percent": 60.0}
    assert team_a["previous"] is None
    assert team_b["first_response"]["percent"] == 66.7
    assert team_b["resolution"] == {"met": 0, "breached": 2, "total": 2, "percent": 0.0}
    assert team_b["previous"]["breached_tickets"] == 2


def test_sla_compliance_by_week_adds_up(tickets):
    """Weeks from Monday in UTC: 02-23 (cut to 03-01), 03-02, 03-09, 03-16, 03-23, 03-30.
    First-response breaches: T2 (03-03) → 03-02; T12 (03-18), T4 (03-20) → 03-16;
    T8 (03-31) → 03-30."""
    from zoneinfo import ZoneInfo

    result = engine.run(SLA_COMPLIANCE.metric, MARCH, Grouping.WEEK, zone=ZoneInfo("UTC"))
    breaches = {group["key"]: group["first_response"]["breached"] for group in result["groups"]}
    assert breaches == {"2026-02-23": 0, "2026-03-02": 1, "2026-03-09": 0, "2026-03-16": 2,
                        "2026-03-23": 0, "2026-03-30": 1}
    assert result["total"]["first_response"]["total"] == 9


def test_sla_compliance_drills_to_the_tickets(tickets, teams):
    a, b = teams
    metric = SLA_COMPLIANCE.metric
    assert _ids(engine.tickets_behind(metric, MARCH, "breached_tickets")) == \
        _of(tickets, 2, 3, 4, 8, 10, 12)
    assert _ids(engine.tickets_behind(metric, MARCH, "fr_breached", group_by=Grouping.TEAM,
                                      key=a.id)) == _of(tickets, 2, 8, 12)
    assert _ids(engine.tickets_behind(metric, MARCH, "res_breached", group_by=Grouping.TEAM,
                                      key=b.id)) == _of(tickets, 3, 4)
    assert _ids(engine.tickets_behind(metric, MARCH, "fr_met")) == _of(tickets, 1, 3, 6, 7, 10)
    assert _ids(engine.tickets_behind(metric, MARCH, "res_met")) == _of(tickets, 1, 2, 6)


# ---------------------------------------------------------------------------- response times

def test_response_times_medians_and_p90(tickets):
    result = engine.run_with_previous(RESPONSE_TIMES.metric, MARCH)
    assert result["total"] == {
        "first_response": {"count": 8, "median": 5400.0, "p90": 28080.0},
        "resolution": {"count": 6, "median": 129600.0, "p90": 561600.0},
        "handle": {"count": 6, "median": 108000.0, "p90": 518400.0}}
    # February: T9 (10 h, 1 day) and T11 (4 h); T11 was resolved in March.
    assert result["previous"]["total"]["first_response"] == {
        "count": 2, "median": 25200.0, "p90": 33840.0}
    assert result["previous"]["total"]["resolution"] == {
        "count": 1, "median": 86400.0, "p90": 86400.0}


def test_response_times_by_priority_and_drill(tickets):
    """Normal: first responses T2 21600, T6 7200, T12 18000 → median 18000, p90 18000 +
    0.8·3600 = 20880; resolutions T2, T6, T11; handle 129600, 172800, 864000."""
    result = engine.run(RESPONSE_TIMES.metric, MARCH, Grouping.PRIORITY)
    normal = next(group for group in result["groups"] if group["key"] == "normal")
    assert normal["first_response"] == {"count": 3, "median": 18000.0, "p90": 20880.0}
    assert normal["handle"]["median"] == 172800.0
    assert _ids(engine.tickets_behind(RESPONSE_TIMES.metric, MARCH, "res_count",
                                      group_by=Grouping.PRIORITY, key="normal")) == \
        _of(tickets, 2, 6, 11)
    assert _ids(engine.tickets_behind(RESPONSE_TIMES.metric, MARCH, "fr_count")) == \
        _of(tickets, 1, 2, 3, 5, 6, 7, 10, 12)


# ---------------------------------------------------------------------------- backlog

def test_backlog_at_the_end_of_the_period_and_before(tickets):
    result = engine.run_with_previous(BACKLOG.metric, MARCH)
    assert result["total"] == {
        "open": 5, "by_age": {"lt_4h": 1, "4h_24h": 1, "1d_3d": 0, "3d_7d": 0, "gt_7d": 3},
        "by_priority": {"low": 1, "normal": 2, "high": 1, "urgent": 1}, "breached_open": 4}
    assert result["previous"]["total"] == {
        "open": 1, "by_age": {"lt_4h": 0, "4h_24h": 0, "1d_3d": 0, "3d_7d": 0, "gt_7d": 1},
        "by_priority": {"low": 0, "normal": 1, "high": 0, "urgent": 0}, "breached_open": 1}


def test_backlog_by_priority_drill_and_now(tickets):
    result = engine.run_with_previous(BACKLOG.metric, MARCH, Grouping.PRIORITY)
    by_priority = {group["key"]: group for group in result["groups"]}
    assert by_priority["normal"]["open"] == 2 and by_priority["normal"]["breached_open"] == 2
    assert by_priority["normal"]["previous"]["open"] == 1
    assert by_priority["high"]["previous"] is None
    assert _ids(engine.tickets_behind(BACKLOG.metric, MARCH, "open")) == \
        _of(tickets, 4, 7, 8, 10, 12)
    assert _ids(engine.tickets_behind(BACKLOG.metric, MARCH, "breached_open")) == \
        _of(tickets, 4, 8, 10, 12)
    assert _ids(engine.tickets_behind(BACKLOG.metric, MARCH, "age_gt_7d")) == \
        _of(tickets, 4, 10, 12)
    # A period ending after now: the tickets open now, by their status.
    current = engine.run(BACKLOG.metric, Slice(utc(2026, 5, 1), utc(2026, 7, 1)))["total"]
    assert current["open"] == 5 and current["by_age"]["gt_7d"] == 5
    assert _ids(engine.tickets_behind(BACKLOG.metric, Slice(utc(2026, 5, 1), utc(2026, 7, 1)),
                                      "open")) == _of(tickets, 4, 7, 8, 12, 13)


def test_backlog_is_a_snapshot(tickets):
    from zoneinfo import ZoneInfo

    from service.errors import InvalidInput

    assert Grouping.DAY not in BACKLOG.groupings
    with pytest.raises(InvalidInput):
        engine.run(BACKLOG.metric, MARCH, Grouping.DAY, zone=ZoneInfo("UTC"))


# ---------------------------------------------------------------------------- API

def test_api_sla_compliance_and_lead_scope(tickets, teams, database, make_user, auth):
    a, b = teams
    client = database.test_client()
    admin = auth(make_user("admin"))
    url = "/api/v1/reports/sla-compliance?from=2026-03-01&to=2026-03-31&tz=UTC"
    response = client.get(url + "&group_by=team", headers=admin)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"]["first_response"]["percent"] == 55.6
    assert body["total"]["breached_tickets"] == 6
    assert body["previous"]["total"]["resolution"]["percent"] == 50.0
    assert [group["key"] for group in body["groups"]] == [a.id, b.id]
    lead = make_user("lead", team=b)
    lead_headers = auth(lead)
    scoped = client.get(url, headers=lead_headers).get_json()
    assert scoped["total"]["first_response"] == {"met": 2, "breached": 1, "total": 3,
                                                 "percent": 66.7}
    assert scoped["total"]["breached_tickets"] == 2
    refused = client.get(url + f"&team={a.id}", headers=lead_headers)
    assert refused.status_code == 400 and "team" in refused.get_json()["errors"]
    backlog = client.get("/api/v1/reports/backlog?from=2026-03-01&to=2026-03-31&tz=UTC",
                         headers=admin).get_json()
    assert backlog["total"]["by_age"]["4h_24h"] == 1
    exported = client.get("/api/v1/reports/backlog?from=2026-03-01&to=2026-03-31&tz=UTC"
                          "&group_by=priority&format=csv", headers=admin)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[-1][:5] == ["Total", "5", "1", "4", "1"]  # open, past due, each + previous
    bad = client.get("/api/v1/reports/backlog?group_by=week", headers=admin)
    assert bad.status_code == 400 and "group_by" in bad.get_json()["errors"]
    times = client.get("/api/v1/reports/response-times?from=2026-03-01&to=2026-03-31&tz=UTC"
                       "&group_by=team", headers=admin)
    assert times.status_code == 200
    assert times.get_json()["total"]["handle"]["median"] == 108000.0
    agent = auth(make_user("agent"))
    assert client.get(url, headers=agent).status_code == 403


def test_the_sla_clock_keeps_the_waiting_time_in_calendar_seconds(database, make_ticket):
    """Paused 2 h (waiting on the customer), resolved, reopened 3 h later, resolved again:
    5 h = 18000 s of waiting, which handle time leaves out; the migration's backfill of
    older tickets counts the same stretches from sla_pauses and the timeline."""
    from tickets import lifecycle

    ticket = make_ticket()
    start = ticket.created_at
    steps = [(Status.OPEN, 0), (Status.PENDING_CUSTOMER, 1), (Status.OPEN, 3),
             (Status.RESOLVED, 5), (Status.REOPENED, 8), (Status.RESOLVED, 9)]
    for status, hours in steps:
        lifecycle.change_status(ticket, status, actor=None, now=start + timedelta(hours=hours))
    db.session.commit()
    assert ticket.waiting_seconds == 5 * 3600


def test_the_migration_backfills_the_same_waiting_time(database, make_ticket):
    """Migration 0011 fills waiting_seconds of older tickets from sla_pauses and the
    timeline: the same 5 h the clock counts (paused 2 h, resolved 3 h before reopening)."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy import text

    from tickets import lifecycle

    ticket = make_ticket()
    start = ticket.created_at
    for status, hours in [(Status.OPEN, 0), (Status.PENDING_CUSTOMER, 1), (Status.OPEN, 3),
                          (Status.RESOLVED, 5), (Status.CLOSED, 6), (Status.REOPENED, 8),
                          (Status.RESOLVED, 9)]:
        lifecycle.change_status(ticket, status, actor=None, now=start + timedelta(hours=hours))
    db.session.commit()
    counted = ticket.waiting_seconds
    ticket.waiting_seconds = 0
    db.session.commit()
    path = Path(__file__).parents[2] / "migrations/versions/0011_report_indexes_and_waiting_time.py"
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    db.session.execute(text(migration._BACKFILL_POSTGRESQL if postgresql
                            else migration._BACKFILL_SQLITE))
    db.session.commit()
    db.session.refresh(ticket)
    assert counted == 5 * 3600 and ticket.waiting_seconds == counted
