"""The dashboard's "Customer satisfaction and sales" section, for a lead of the support team.

Now is 2026-03-31 12:00 UTC; the lead reads in UTC, so "Last 30 days" is 03-02 00:00 to
now. The data (see test_survey_metrics): the NPS example's support-team answers in the
period (03-02 … 03-10: scores 10 9 9 9 8 7 7 6 0 → 4 promoters, 3 passives, 2
detractors of 9: 44.4 − 22.2 = 22.2), team "Other"'s 10 10 0 (not the lead's); CSAT: the
example's four answers (03-02 … 03-05: 5 4 2 1), the NPS example's CSAT 5 and the 1 that
opened the follow-up: 18 / 6 = 3.00, 3 of 6 satisfied; an open follow-up past due, and an
opportunity won for 1234.
"""
from __future__ import annotations

import re

import pytest
import time_machine

from service.extensions import db
from surveys.models import OpportunitySource, OpportunityStatus
from tests.surveys.test_survey_metrics import (add_csat_example, add_nps_example, follow_up,
                                               opportunity, utc)

NOW = utc(2026, 3, 31, 12)
URL = "/console/dashboard?period=30d"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def lead(make_user, support_team):
    return make_user("lead", team=support_team, timezone="UTC")


@pytest.fixture
def data(app, support_team, make_team):
    other = make_team("Other")
    add_nps_example(support_team.id, other.id)
    add_csat_example(team_id=support_team.id)
    follow_up(utc(2026, 3, 20), utc(2026, 3, 21), team_id=support_team.id)
    opportunity(OpportunitySource.NPS_PROMOTER, utc(2026, 3, 10),
                contacted=utc(2026, 3, 10, 1), status=OpportunityStatus.WON,
                closed=utc(2026, 3, 12), won_value=1234)
    db.session.commit()


def section_of(page: str) -> str:
    match = re.search(r'<section class="card wide" id="customer-feedback".*?</section>', page,
                      re.S)
    assert match, "the section is missing"
    return match.group(0)


def row(section: str, table_id: str, label: str) -> list[str]:
    table = re.search(rf'<table class="data" id="{table_id}">.*?</table>', section, re.S)
    cells = re.search(rf"<th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", table.group(0),
                      re.S)
    return re.findall(r'<td class="num">(.*?)</td>', cells.group(1))


def test_the_section_shows_the_numbers(client, console_login, lead, data):
    console_login(client, lead)
    response = client.get(URL)
    assert response.status_code == 200
    section = section_of(response.get_data(as_text=True))
    assert 'id="nps-score"><strong>22.2</strong>' in section
    assert "4 promoters, 3 passives, 2 detractors of 9 answers." in section
    assert 'id="csat-average"><strong>3.00</strong>' in section
    assert "3 of 6 answers satisfied (50.0 %)." in section
    assert row(section, "table-csat-dimensions", "Service attitude") == ["3", "3.33", "66.7 %"]
    assert row(section, "table-response-rates", "NPS") == ["9", "9", "9", "100.0 %"]
    assert row(section, "table-recovery", "Of which overdue") == ["1"]
    assert row(section, "table-opportunities", "NPS promoter") == ["1", "1", "1", "1234", "0"]
    # The trends: server-drawn SVG charts with an accessible title, no script.
    assert '<svg class="chart trend-chart" role="img" aria-labelledby="chart-nps-trend-title"' \
        in section
    assert 'id="chart-csat-trend-title">Average CSAT by day</title>' in section
    assert "<title>2026-03-04: 2.0</title>" in section  # the CSAT trend: 03-04's one answer
    assert "<script" not in section


def test_the_section_without_data(client, console_login, lead):
    console_login(client, lead)
    section = section_of(client.get(URL).get_data(as_text=True))
    assert 'id="nps-score"><strong>—</strong>' in section
    assert "No NPS answers in this period." in section
    assert "No CSAT answers in this period." in section
    assert row(section, "table-opportunities", "Manual") == ["0", "0", "0", "0", "0"]


def test_an_admin_counts_every_team_and_a_team_filter_narrows(client, console_login,
                                                              make_user, data, support_team):
    admin = make_user("admin", timezone="UTC")
    console_login(client, admin)
    section = section_of(client.get(URL).get_data(as_text=True))
    # 9 of the support team + "Other"'s 3 (6 promoters, 3 detractors of 12): 25.0.
    assert "6 promoters, 3 passives, 3 detractors of 12 answers." in section
    narrowed = section_of(client.get(f"{URL}&team={support_team.id}").get_data(as_text=True))
    assert 'id="nps-score"><strong>22.2</strong>' in narrowed


def test_today_still_shows_a_week_of_trend(client, console_login, lead, data):
    console_login(client, lead)
    section = section_of(client.get("/console/dashboard?period=today").get_data(as_text=True))
    # No answers today, but the trend covers the last 7 days (03-25 … 03-31).
    assert 'id="nps-score"><strong>—</strong>' in section
    assert "<title>2026-03-25: —</title>" not in section  # empty days draw no column


def test_registered_sections_are_ordered_and_may_stay_out(client, console_login, lead, app):
    from service.console import dashboard

    calls = []

    def hidden(user, scope, period, starts, now):
        calls.append((user.id, scope.team_ids, period.value))
        return None

    dashboard.register_section("zz_hidden", "surveys/dashboard/section.html", hidden, order=1)
    try:
        console_login(client, lead)
        page = client.get(URL).get_data(as_text=True)
    finally:
        dashboard._SECTIONS.pop("zz_hidden")
    assert calls and calls[0][2] == "30d"
    assert page.count('id="customer-feedback"') == 1


def test_trend_chart_draws_negative_columns_below_zero():
    from service.console.charts import Point, trend_chart

    svg = str(trend_chart("t", "NPS <by day>", [Point("03-01", -50.0, "-50.0"),
                                               Point("03-02", None, "—"),
                                               Point("03-03", 25.0, "25.0")],
                          low=-100.0, high=100.0))
    assert '<title id="t-title">NPS &lt;by day&gt;</title>' in svg
    assert svg.count('<rect class="bar negative"') == 1 and svg.count('<rect class="bar"') == 1
    assert "03-02: —" not in svg
