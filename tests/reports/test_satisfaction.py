"""Satisfaction joined to service: CSAT and NPS by what happened to the answered ticket,
on a small hand-worked data set, on SQLite and PostgreSQL.

Period: March 2026 in UTC, [03-01, 04-01); its previous period is [01-29, 03-01).

Tickets and their CSAT answer given in March (departments = distinct departments asked
for a task on the ticket; reopens folded at 2 = "2 or more"):
  T1 web    breached (first response)  reopens 0  departments 0   CSAT 1
  T2 web    breached (resolution)      reopens 1  departments 1   CSAT 2
  T3 email  not breached               reopens 0  departments 1   CSAT 5
  T4 email  not breached               reopens 2  departments 3   CSAT 4
  T5 phone  not breached               reopens 5  departments 2   CSAT 3 (two tasks of one
                                                                  department, one of another)
  A6        no ticket                                             CSAT 5
  T7 web    breached, answered in February (previous period)      CSAT 3
NPS in March: 0 on T1 (breached, detractor), 10 on T3 (not breached, promoter).

CSAT total: (1+2+5+4+3+5) / 6 = 20/6 = 3.33; satisfied (4–5) 3 of 6 = 50.0 %.
By breached: true (T1, T2) 3/2 = 1.50, 0 satisfied = 0.0 %; false (T3, T4, T5) 12/3 =
  4.00, 2 of 3 = 66.7 %; no ticket (A6) 5.00. Previous: true 3.00 (T7), the others none.
By reopens: 0 (T1, T3) 3.00; 1 (T2) 2.00; 2 (T4, T5) 3.50; no ticket 5.00.
By departments: 0 (T1) 1.00; 1 (T2, T3) 3.50; 2 (T5) 3.00; 3 (T4) 4.00; no ticket 5.00.
By channel: web 1.50; email 4.50; phone 3.00; no ticket 5.00. Filtered to email: 2, 4.50.
NPS by breached: true −100.0 (one detractor), false 100.0 (one promoter).
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.extensions import db
from service.reports import engine
from service.reports.query import Grouping, Slice
from service.reports.service import tickets_for
from surveys.models import SurveyKind
from surveys.reports.registered import CSAT, NPS
from tests.surveys.test_survey_metrics import response
from tickets.models import Channel
from tickets.tasks.models import Task


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MARCH = Slice(utc(2026, 3, 1), utc(2026, 4, 1))
QUERY = "from=2026-03-01&to=2026-03-31&tz=UTC"



def _ticket(make_ticket, channel: Channel, *, breach: str | None = None, reopens: int = 0,
            departments: tuple[int, ...] = ()):
    ticket = make_ticket(channel=channel)
    if breach is not None:
        setattr(ticket, f"{breach}_breached_at", utc(2026, 2, 20))
    ticket.reopen_count = reopens
    for department in departments:
        db.session.add(Task(ticket_id=ticket.id, department_id=department, title="Check",
                            due_at=utc(2026, 3, 1)))
    db.session.commit()
    return ticket


@pytest.fixture
def data(database, make_ticket, make_team, support_team):
    """The tickets and answers of the module docstring: {"T1": ticket, …}."""
    sales, billing = make_team("Sales desk"), make_team("Billing desk")
    one, two, three = support_team.id, sales.id, billing.id
    tickets = {
        "T1": _ticket(make_ticket, Channel.WEB, breach="first_response"),
        "T2": _ticket(make_ticket, Channel.WEB, breach="resolution", reopens=1,
                      departments=(two,)),
        "T3": _ticket(make_ticket, Channel.EMAIL, departments=(three,)),
        "T4": _ticket(make_ticket, Channel.EMAIL, reopens=2, departments=(one, two, three)),
        "T5": _ticket(make_ticket, Channel.PHONE, reopens=5, departments=(two, two, three)),
        "T7": _ticket(make_ticket, Channel.WEB, breach="resolution"),
    }
    for day, (name, score) in enumerate([("T1", 1), ("T2", 2), ("T3", 5), ("T4", 4),
                                         ("T5", 3)], start=2):
        response(SurveyKind.CSAT, score, utc(2026, 3, day, 10), ticket_id=tickets[name].id)
    response(SurveyKind.CSAT, 5, utc(2026, 3, 20))  # A6: no ticket
    response(SurveyKind.CSAT, 3, utc(2026, 2, 10), ticket_id=tickets["T7"].id)
    response(SurveyKind.NPS, 0, utc(2026, 3, 8), ticket_id=tickets["T1"].id)
    response(SurveyKind.NPS, 10, utc(2026, 3, 9), ticket_id=tickets["T3"].id)
    response(SurveyKind.CSAT, 1, utc(2026, 4, 1))  # the period's end is excluded
    db.session.commit()
    return tickets


def _averages(result: dict) -> dict:
    return {group["key"]: (group["responses"], group["average"]) for group in result["groups"]}


def test_csat_by_breach_with_the_previous_period(data):
    result = engine.run_with_previous(CSAT.metric, MARCH, Grouping.BREACHED)
    total = result["total"]
    assert (total["responses"], total["average"], total["satisfied_percent"]) == (6, 3.33, 50.0)
    assert _averages(result) == {True: (2, 1.5), False: (3, 4.0), None: (1, 5.0)}
    by_key = {group["key"]: group for group in result["groups"]}
    assert by_key[True]["satisfied_percent"] == 0.0
    assert by_key[False]["satisfied_percent"] == 66.7
    assert by_key[True]["previous"]["responses"] == 1
    assert by_key[True]["previous"]["average"] == 3.0
    assert by_key[False]["previous"] is None and by_key[None]["previous"] is None
    assert result["previous"]["total"]["average"] == 3.0


def test_csat_by_reopens_departments_and_channel(data):
    assert _averages(engine.run(CSAT.metric, MARCH, Grouping.REOPENS)) == {
        0: (2, 3.0), 1: (1, 2.0), 2: (2, 3.5), None: (1, 5.0)}
    assert _averages(engine.run(CSAT.metric, MARCH, Grouping.DEPARTMENTS)) == {
        0: (1, 1.0), 1: (2, 3.5), 2: (1, 3.0), 3: (1, 4.0), None: (1, 5.0)}
    assert _averages(engine.run(CSAT.metric, MARCH, Grouping.CHANNEL)) == {
        "web": (2, 1.5), "email": (2, 4.5), "phone": (1, 3.0), None: (1, 5.0)}
    email = engine.run(CSAT.metric, Slice(MARCH.start, MARCH.end, channel="email"))["total"]
    assert (email["responses"], email["average"]) == (2, 4.5)


def test_nps_by_breach(data):
    result = engine.run(NPS.metric, MARCH, Grouping.BREACHED)
    assert {group["key"]: (group["responses"], group["nps"]) for group in result["groups"]} == {
        True: (1, -100.0), False: (1, 100.0)}


def test_drill_down_lists_the_answered_tickets(data, make_user):
    ids = {name: ticket.id for name, ticket in data.items()}
    breached = engine.tickets_behind(CSAT.metric, MARCH, "total", group_by=Grouping.BREACHED,
                                     key=True)
    assert set(db.session.scalars(breached)) == {ids["T1"], ids["T2"]}
    admin = make_user("admin")
    happy = tickets_for(CSAT, admin, {"from_": utc(2026, 3, 1), "to": utc(2026, 4, 1),
                                      "tz": "UTC", "group_by": "breached"},
                        "satisfied", "false", utc(2026, 4, 10))
    assert set(db.session.scalars(happy)) == {ids["T3"], ids["T4"]}
    everyone = engine.tickets_behind(CSAT.metric, MARCH, "total")
    # A6 has no ticket: six answers, five tickets behind them.
    assert set(db.session.scalars(everyone)) == {ids[name] for name in
                                                 ("T1", "T2", "T3", "T4", "T5")}


def test_the_api_groups_by_breach_and_refuses_what_does_not_apply(data, database, make_user,
                                                                  auth):
    client = database.test_client()
    admin = auth(make_user("admin"))
    response_ = client.get(f"/api/v1/reports/csat?{QUERY}&group_by=breached", headers=admin)
    assert response_.status_code == 200, response_.get_json()
    body = response_.get_json()
    assert body["metric"] == "csat" and body["previous"]["total"]["responses"] == 1
    groups = {group["key"]: group for group in body["groups"]}
    assert groups[True]["average"] == 1.5 and groups[True]["previous"]["average"] == 3.0
    assert groups[None]["average"] == 5.0 and groups[None]["previous"] is None
    # T7 (February) had no department: the previous period of group 0.
    departments = {group["key"]: group for group in client.get(
        f"/api/v1/reports/csat?{QUERY}&group_by=departments", headers=admin).get_json()["groups"]}
    assert departments[0]["previous"]["responses"] == 1 and departments[3]["previous"] is None
    assert departments[1]["average"] == 3.5
    # No ticket has a VIP account.
    vip = client.get(f"/api/v1/reports/nps?{QUERY}&group_by=departments&tier=vip",
                     headers=admin)
    assert vip.status_code == 200 and vip.get_json()["groups"] == []
    for query, field in (("department=1", "department"), ("group_by=source", "group_by"),
                         ("channel=fax", "channel"), ("group_by=department", "group_by")):
        refused = client.get(f"/api/v1/reports/csat?{QUERY}&{query}", headers=admin)
        assert refused.status_code == 400, (query, refused.get_json())
        assert refused.mimetype == "application/problem+json"
        assert field in refused.get_json()["errors"]
    rates = client.get(f"/api/v1/reports/survey-responses?{QUERY}&department=1", headers=admin)
    assert rates.status_code == 400 and "department" in rates.get_json()["errors"]


def test_a_lead_sees_the_answers_of_their_teams_only(data, database, make_user, auth,
                                                     make_team, support_team):
    """The data's answers belong to no team, which a lead's scope keeps (Slice.conditions);
    add a 4 of the lead's team and a 1 of another team: (20 + 4) / 7 = 3.43."""
    elsewhere = make_team("Elsewhere")
    response(SurveyKind.CSAT, 4, utc(2026, 3, 25), team_id=support_team.id)
    response(SurveyKind.CSAT, 1, utc(2026, 3, 26), team_id=elsewhere.id)
    db.session.commit()
    lead = auth(make_user("lead", team=support_team))
    body = database.test_client().get(f"/api/v1/reports/csat?{QUERY}",
                                      headers=lead).get_json()
    assert (body["total"]["responses"], body["total"]["average"]) == (7, 3.43)
    refused = database.test_client().get(
        f"/api/v1/reports/csat?{QUERY}&team={elsewhere.id}", headers=lead)
    assert refused.status_code == 400 and "team" in refused.get_json()["errors"]
