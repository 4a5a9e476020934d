"""The JSON reports under /api/v1/reports: numbers, grouping, filters, scope, bad input.

Data (times UTC, queried with tz=UTC unless said): the NPS example of test_survey_metrics
(support team: 10 answers in March, NPS 30.0; team "Other": 10 10 0, NPS 33.3), four CSAT
answers of the support team (average 3.00, 50.0 % satisfied), one recovery follow-up
closed in time, and two opportunities (a promoter's won for 1000, a ticket signal's).
"""
from __future__ import annotations

import warnings
from datetime import timedelta

import pytest
import time_machine

from service.extensions import db
from surveys.models import OpportunitySource, OpportunityStatus, SurveyKind
from tests.surveys.test_survey_metrics import (add_csat_example, add_nps_example, follow_up,
                                               opportunity, response, utc)

MARCH = "from=2026-03-01&to=2026-03-31&tz=UTC"
NOW = utc(2026, 4, 10, 12)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def other(make_team):
    return make_team("Other")


@pytest.fixture
def data(app, support_team, other):
    add_nps_example(support_team.id, other.id)
    add_csat_example(team_id=support_team.id, product="cloud")
    follow_up(utc(2026, 3, 2), utc(2026, 3, 3), closed=utc(2026, 3, 2, 5),
              team_id=support_team.id)
    opportunity(OpportunitySource.NPS_PROMOTER, utc(2026, 3, 2), contacted=utc(2026, 3, 2, 2),
                status=OpportunityStatus.WON, closed=utc(2026, 3, 10), won_value=1000)
    opportunity(OpportunitySource.TICKET_SIGNAL, utc(2026, 3, 4))
    db.session.commit()


@pytest.fixture
def admin(make_user, auth):
    return auth(make_user("admin"))


def get(client, headers, path, query=MARCH):
    return client.get(f"/api/v1/reports/{path}?{query}", headers=headers)


def test_nps_report(client, data, admin, support_team):
    response_ = get(client, admin, "nps", f"{MARCH}&team={support_team.id}")
    assert response_.status_code == 200
    body = response_.get_json()
    assert body["total"]["nps"] == 30.0
    assert (body["total"]["promoters"], body["total"]["passives"],
            body["total"]["detractors"], body["total"]["responses"]) == (5, 3, 2, 10)
    assert body["from"].startswith("2026-03-01T00:00:00") and body["zone"] == "UTC"
    assert body["to"].startswith("2026-04-01T00:00:00")  # 'to' includes its whole day
    assert body["filters"] == {"team": support_team.id} and body["groups"] == []


def test_nps_grouped_by_week_and_team(client, data, admin, support_team, other):
    weeks = get(client, admin, "nps", f"{MARCH}&group_by=week").get_json()["groups"]
    assert weeks[0]["key"] == "2026-02-23"  # the week of March 1st (a Sunday)
    assert sum(group["responses"] for group in weeks) == 13
    teams = get(client, admin, "nps", f"{MARCH}&group_by=team").get_json()["groups"]
    assert [(g["key"], g["label"], g["nps"]) for g in teams] == [
        (support_team.id, support_team.name, 30.0), (other.id, "Other", 33.3)]
    products = get(client, admin, "nps", f"{MARCH}&group_by=product&top=1").get_json()
    assert [(g["key"], g["responses"]) for g in products["groups"]] == [("cloud", 10)]


def test_csat_report_and_filters(client, data, admin):
    body = get(client, admin, "csat", f"{MARCH}&product=cloud").get_json()
    assert (body["total"]["responses"], body["total"]["average"],
            body["total"]["satisfied_percent"]) == (4, 3.0, 50.0)
    assert body["total"]["dimensions"]["attitude"] == {
        "answered": 3, "average": 3.33, "satisfied": 2, "satisfied_percent": 66.7}
    none = get(client, admin, "csat", f"{MARCH}&product=other").get_json()
    assert none["total"]["average"] is None


def test_response_rate_report(client, data, admin):
    body = get(client, admin, "survey-responses", f"{MARCH}&group_by=month").get_json()
    # Every answer above came with its invitation, sent an hour before: all answered.
    # The February NPS answer's invitation was sent in February.
    assert body["total"]["nps"]["sent"] == 13 and body["total"]["nps"]["response_rate"] == 100.0
    # The CSAT example's 4 + its April 1st answer's (sent 03-31 23:00) + the NPS example's
    # CSAT + the follow-up's answer.
    assert body["total"]["csat"]["sent"] == 7
    assert [group["key"] for group in body["groups"]] == ["2026-03-01"]


def test_recovery_report(client, data, admin, support_team):
    body = get(client, admin, "recovery", f"{MARCH}&group_by=team").get_json()
    assert (body["total"]["opened"], body["total"]["closed_in_time"],
            body["total"]["open_now"]) == (1, 1, 0)
    assert [(g["key"], g["closed"]) for g in body["groups"]] == [(support_team.id, 1)]


def test_opportunity_report_by_source(client, data, admin):
    body = get(client, admin, "opportunities", f"{MARCH}&group_by=source").get_json()
    assert (body["total"]["created"], body["total"]["won"], body["total"]["won_value"]) == (
        2, 1, 1000)
    by_source = {row["key"]: row for row in body["by_source"]}
    assert by_source["nps_promoter"]["contacted_in_time"] == 1
    assert by_source["ticket_signal"]["created"] == 1 and by_source["manual"]["created"] == 0
    assert {g["key"] for g in body["groups"]} == {"nps_promoter", "ticket_signal"}


def test_the_reports_export_their_tables(client, data, admin):
    """The CSV of the CSAT report by month: its March row then the total, each column
    beside its previous period (February: the NPS example's answers are all NPS, so the
    previous CSAT total is empty). The recovery total carries open_now (0)."""
    import csv
    import io

    exported = get(client, admin, "csat", f"{MARCH}&product=cloud&group_by=month&format=csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Group", "Average score", "Average score, previous period"]
    assert rows[1][:2] == ["2026-03-01", "3.0"] and rows[2][:3] == ["Total", "3.0", ""]
    recovery = get(client, admin, "recovery", f"{MARCH}&format=csv")
    table = list(csv.reader(io.StringIO(recovery.data.decode("utf-8-sig"))))
    assert table[0][-2] == "Overdue now" and table[-1][0] == "Total"
    assert table[-1][table[0].index("Open now")] == "0"


def test_default_period_is_the_last_30_days(client, app, admin):
    response(SurveyKind.NPS, 10, NOW - timedelta(days=2))
    response(SurveyKind.NPS, 0, NOW - timedelta(days=40))
    db.session.commit()
    body = client.get("/api/v1/reports/nps", headers=admin).get_json()
    assert body["total"]["responses"] == 1 and body["total"]["nps"] == 100.0


def test_a_lead_sees_their_teams_only(client, data, make_user, auth, support_team, other):
    lead = auth(make_user("lead", team=support_team))
    body = get(client, lead, "nps").get_json()
    assert body["total"]["responses"] == 10 and body["total"]["nps"] == 30.0
    refused = get(client, lead, "nps", f"{MARCH}&team={other.id}")
    assert refused.status_code == 400 and "team" in refused.get_json()["errors"]


def test_sales_see_every_team(client, data, make_user, auth):
    sales = auth(make_user("sales"))
    assert get(client, sales, "nps").get_json()["total"]["responses"] == 13
    assert get(client, sales, "opportunities").status_code == 200


@pytest.mark.parametrize("path", ["nps", "csat", "survey-responses", "recovery",
                                  "opportunities"])
def test_agents_are_refused(client, app, make_user, auth, path):
    agent = auth(make_user("agent"))
    assert get(client, agent, path).status_code == 403
    assert client.get(f"/api/v1/reports/{path}").status_code == 401


@pytest.mark.parametrize("path, query, field", [
    ("nps", "from=yesterday", "from"),
    ("nps", "from=2026-02-30", "from"),
    ("nps", "to=2026-03-01T25:00", "to"),
    ("nps", "from=2026-03-10&to=2026-03-01", "from"),
    ("nps", "from=2020-01-01&to=2026-01-01", "from"),
    ("nps", "group_by=hour", "group_by"),
    ("nps", "group_by=source", "group_by"),
    ("csat", "team=abc", "team"),
    ("csat", "team=0", "team"),
    ("csat", "agent=99999999999", "agent"),
    ("csat", "team=1&team=2", "team"),
    ("csat", "colour=red", "colour"),
    ("csat", "tz=Mars/Olympus", "tz"),
    ("csat", "top=0", "top"),
    ("survey-responses", "product=" + "x" * 81, "product"),
    ("recovery", "group_by=department", "group_by"),
    ("opportunities", "team=1", "team"),
    ("opportunities", "product=cloud", "product"),
    ("opportunities", "group_by=team", "group_by"),
    ("nps", "from=2024-01-01&to=2026-01-01&group_by=day", "group_by"),
])
def test_bad_parameters_are_400_with_field_errors(client, app, admin, path, query, field):
    response_ = get(client, admin, path, query)
    assert response_.status_code == 400, response_.get_json()
    assert response_.mimetype == "application/problem+json"
    assert field in response_.get_json()["errors"]


def test_the_reports_are_in_the_openapi_document(app, admin):
    """The five reports are served by the generic GET /api/v1/reports/{metric}, which is
    documented with the query parameters they always took; GET /api/v1/reports lists them."""
    from service.openapi import build_spec

    # Built directly, so that another domain's schema-name clash (a warning, reported
    # by its own tests) does not hide whether these reports are documented.
    with app.test_request_context(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = build_spec()["paths"]
    mine = ("Report", "Numbers", "ReportQuery")
    assert not [str(w.message) for w in caught if any(name in str(w.message) for name in mine)]
    operation = paths["/api/v1/reports/{metric}"]["get"]
    assert operation["tags"] == ["reports"] and "200" in operation["responses"]
    parameters = {(each["in"], each["name"]) for each in operation["parameters"]}
    assert ("path", "metric") in parameters
    assert {("query", name) for name in ("from", "to", "group_by", "team", "agent", "product",
                                         "account", "tz", "top")} <= parameters
    listing = app.test_client().get("/api/v1/reports", headers=admin).get_json()["items"]
    sections = {item["name"]: item["section"] for item in listing}
    assert {name: sections.get(name) for name in ("nps", "csat", "survey-responses",
                                                  "recovery", "opportunities")} == {
        "nps": "satisfaction", "csat": "satisfaction", "survey-responses": "satisfaction",
        "recovery": "sales", "opportunities": "sales"}
