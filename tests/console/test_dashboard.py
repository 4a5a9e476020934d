"""The leads' dashboard page: access, team scope, parameters, charts and their tables.

Time is frozen at NOW = 2026-03-10 12:00 UTC (20:00 in Asia/Shanghai, the viewers' zone),
so "today" is 03-09 16:00 UTC to NOW. The data set:
  S1 support urgent created 10:00 email, open; first response due 11:00, answered 10:30
     -> met today
  S2 support high   created 02:00 web, open; due 06:00, never answered, breach recorded
     06:00:30 -> breached today
  O1 billing urgent created 09:00 phone, open; due 10:00, never answered, breach recorded
     10:00:30 -> breached today (another team)
A lead of support counts S1, S2: backlog 2 (urgent 1 and high 1, both "< 4 h" and
"4–24 h"), first response today 1 met of 2 = 50.0 %, 1 breach, email 1 and web 1.
An admin counts all three: backlog 3, 1 met of 3 = 33.3 %, 2 breaches, phone 1.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from service.extensions import db
from tickets.models import Channel, Priority, SlaBreach, SlaPolicy, SlaTarget, Status

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
URL = "/console/dashboard"


def utc(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, 10, hour, minute, second, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def billing(make_team):
    from service.directory.models import Team

    team = make_team("Billing")
    db.session.get(Team, team.id).name_zh = "账务"
    db.session.commit()
    return team


def add_ticket(make_ticket, team, priority, created, channel, subject, *, due, responded=None,
               breached=None):
    with time_machine.travel(created, tick=False):
        ticket = make_ticket(priority=priority, subject=subject)
    ticket.team_id, ticket.channel, ticket.status = team.id, channel, Status.OPEN
    ticket.sla_policy_id = db.session.scalar(select(SlaPolicy.id)
                                             .where(SlaPolicy.priority == priority))
    ticket.first_response_due_at, ticket.first_responded_at = due, responded
    ticket.resolution_due_at = utc(23)
    if breached:
        ticket.first_response_breached_at = breached
        db.session.add(SlaBreach(ticket_id=ticket.id, target=SlaTarget.FIRST_RESPONSE,
                                 priority=priority, due_at=due, breached_at=breached,
                                 team_id=team.id))
    db.session.commit()
    return ticket


@pytest.fixture
def data(make_ticket, support_team, billing):
    return {
        "s1": add_ticket(make_ticket, support_team, Priority.URGENT, utc(10), Channel.EMAIL,
                         "Support urgent one", due=utc(11), responded=utc(10, 30)),
        "s2": add_ticket(make_ticket, support_team, Priority.HIGH, utc(2), Channel.WEB,
                         "Support high <two>", due=utc(6), breached=utc(6, 0, 30)),
        "o1": add_ticket(make_ticket, billing, Priority.URGENT, utc(9), Channel.PHONE,
                         "Billing secret matter", due=utc(10), breached=utc(10, 0, 30)),
    }


@pytest.fixture
def lead(make_user, support_team):
    return make_user("lead", team=support_team, timezone="Asia/Shanghai")


@pytest.fixture
def admin(make_user):
    return make_user("admin", timezone="Asia/Shanghai")


def page(client, **params) -> tuple[int, str]:
    response = client.get(URL, query_string=params)
    return response.status_code, response.get_data(as_text=True)


def table(html: str, table_id: str) -> list[list[str]]:
    """The cell texts of a table's body and footer rows."""
    match = re.search(rf'<table class="data" id="{table_id}">(.*?)</table>', html, re.S)
    assert match, f"no table {table_id}"
    body = match.group(1).split("</thead>", 1)[-1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]


def svg(html: str, chart_id: str) -> str:
    match = re.search(rf'<svg class="chart[^"]*" role="img" aria-labelledby="{chart_id}-title"'
                      rf'.*?</svg>', html, re.S)
    assert match, f"no chart {chart_id}"
    return match.group(0)


def svg_values(chart: str) -> list[str]:
    return re.findall(r'<text class="value"[^>]*>([^<]*)</text>', chart)


# ---------------------------------------------------------------------------- access

def test_signed_out_goes_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["admin", "lead"])
def test_admins_and_leads_may_open_it(client, make_user, console_login, support_team, role):
    console_login(client, make_user(role, team=support_team))
    status, html = page(client)
    assert status == 200
    assert "<h1>Dashboard</h1>" in html


@pytest.mark.parametrize("role", ["agent", "department", "sales"])
def test_other_roles_are_refused(client, make_user, console_login, support_team, role):
    console_login(client, make_user(role, team=support_team))
    assert client.get(URL).status_code == 403
    assert client.get(URL, query_string={"period": "nonsense"}).status_code == 403


def test_only_reading(client, admin, console_login):
    console_login(client, admin)
    assert client.post(URL, data={"csrf_token": client.csrf_token}).status_code == 405
    assert client.post(URL).status_code in (400, 405)  # no token: refused either way


# ---------------------------------------------------------------------------- scope

def test_a_lead_counts_only_their_teams(client, lead, console_login, data):
    console_login(client, lead)
    status, html = page(client, period="today")
    assert status == 200
    assert table(html, "table-backlog")[-1] == ["Total", "1", "1", "0", "0", "0", "2"]
    first_response_today = table(html, "table-sla")[0]
    assert first_response_today == ["First response", "Today", "1", "1", "2", "50.0 %"]
    assert "1 breach recorded in the period" in html
    assert "Billing secret matter" not in html
    assert f'href="/console/tickets/{data["s2"].id}"' in html
    assert f'/console/tickets/{data["o1"].id}"' not in html
    channels = dict(row for row in table(html, "table-channels"))
    assert channels["Email"] == "1" and channels["Web form"] == "1" and channels["Phone"] == "0"
    # The lead's team select offers only their team.
    assert 'value="%d"' % data["s1"].team_id in html
    assert 'value="%d"' % data["o1"].team_id not in html


def test_an_admin_counts_every_team(client, admin, console_login, data):
    console_login(client, admin)
    status, html = page(client, period="today")
    assert status == 200
    assert table(html, "table-backlog")[-1][-1] == "3"
    assert table(html, "table-sla")[0] == ["First response", "Today", "1", "2", "3", "33.3 %"]
    assert "2 breaches recorded in the period" in html
    assert "Billing secret matter" in html
    assert "Support high &lt;two&gt;" in html  # escaped, never raw
    # Narrowed to Billing: only O1.
    status, html = page(client, period="today", team=str(data["o1"].team_id))
    assert status == 200
    assert table(html, "table-backlog")[-1][-1] == "1"
    assert "Support urgent one" not in html


def test_a_lead_cannot_pick_another_team(client, lead, console_login, data):
    console_login(client, lead)
    status, html = page(client, team=str(data["o1"].team_id))
    assert status == 400
    assert "Choose one of your teams." in html
    assert "Billing secret matter" not in html and "<svg" not in html


def test_a_lead_of_a_team_sees_it_without_being_a_member(client, make_user, make_team,
                                                          console_login, data, billing):
    from service.directory.models import Team

    boss = make_user("lead", timezone="Asia/Shanghai")
    db.session.get(Team, billing.id).lead_id = boss.id
    db.session.commit()
    console_login(client, boss)
    status, html = page(client, period="today")
    assert status == 200
    assert table(html, "table-backlog")[-1][-1] == "1"
    assert "Billing secret matter" in html


# ---------------------------------------------------------------------------- parameters

@pytest.mark.parametrize("params", [
    {"period": "yesterday"}, {"period": "7"}, {"period": "x" * 5000}, {"period": "今天"},
    {"period": "7d\x00"}, {"team": "abc"}, {"team": "-1"}, {"team": "0"},
    {"team": "9" * 40}, {"team": "１"}, {"team": "99999"}, {"team": "1.5"},
])
def test_bad_parameters_answer_400(client, admin, console_login, params):
    console_login(client, admin)
    status, html = page(client, **params)
    assert status == 400
    assert "field-error" in html
    assert "<svg" not in html


def test_periods(client, admin, console_login, data):
    console_login(client, admin)
    for period, label in (("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days")):
        status, html = page(client, period=period)
        assert status == 200
        assert f'<option value="{period}" selected>{label}</option>' in html
    status, html = page(client)  # default: the last 7 days
    assert '<option value="7d" selected>' in html
    assert "Period: Last 7 days, from 2026-03-04 00:00 (Asia/Shanghai)" in html


# ---------------------------------------------------------------------------- charts

def test_charts_are_labelled_images_with_the_same_numbers_in_tables(client, admin,
                                                                    console_login, data):
    console_login(client, admin)
    status, html = page(client, period="today")
    for chart_id in ("chart-backlog", "chart-sla", "chart-load", "chart-channels"):
        if chart_id == "chart-load":
            continue  # no agents in this data set: see the load test
        chart = svg(html, chart_id)
        assert re.search(rf'<title id="{chart_id}-title">[^<]+</title>', chart)
    # Backlog: each priority's total after its bar = the table's total column.
    backlog_rows = table(html, "table-backlog")[:-1]
    assert svg_values(svg(html, "chart-backlog")) == [row[-1] for row in backlog_rows]
    assert [row[0] for row in backlog_rows] == ["Urgent", "High", "Normal", "Low"]
    # Urgent: S1 (2 h) and O1 (3 h) "< 4 h"; High: S2 (10 h) "4–24 h".
    assert backlog_rows[0][1:] == ["2", "0", "0", "0", "0", "2"]
    assert backlog_rows[1][1:] == ["0", "1", "0", "0", "0", "1"]
    # Channels: the bars' texts, in order, are the table's counts.
    channel_rows = table(html, "table-channels")[:-1]
    assert svg_values(svg(html, "chart-channels")) == [row[1] for row in channel_rows]
    assert channel_rows[0] == ["Email", "1"] and len(channel_rows) == len(Channel)
    # SLA: bar texts are the table's percentages.
    assert svg_values(svg(html, "chart-sla")) == [row[5] for row in table(html, "table-sla")]


def test_load_chart_and_table(client, admin, console_login, make_user, support_team):
    make_user("agent", team=support_team, name="Ann <a>", open_tickets=3, open_load=5,
              max_open_tickets=10)
    make_user("agent", team=support_team, name="Bo", open_tickets=1, open_load=1,
              max_open_tickets=20, availability="out_of_office")
    console_login(client, admin)
    status, html = page(client)
    chart = svg(html, "chart-load")
    assert svg_values(chart) == ["3 of 10", "1 of 20"]
    assert "Ann &lt;a&gt;" in chart and "<a>" not in chart
    assert "Bo (Out of office)" in chart
    assert table(html, "table-load") == [["Ann &lt;a&gt;", "Available", "3", "5", "10"],
                                         ["Bo", "Out of office", "1", "1", "20"]]


def test_empty_state(client, admin, console_login):
    console_login(client, admin)
    status, html = page(client, period="30d")
    assert status == 200
    assert "No open tickets." in html
    assert "No tickets in this period." in html
    assert "No SLA target fell due in these periods." in html
    assert "No breaches in this period." in html
    assert "No active agents in these teams." in html
    assert "<svg" not in html
    assert "0 breaches recorded in the period" in html


def test_a_lead_without_teams_sees_an_empty_dashboard(client, make_user, console_login,
                                                      make_ticket):
    make_ticket()  # lands in the default team, which this lead neither leads nor joins
    console_login(client, make_user("lead"))
    status, html = page(client)
    assert status == 200
    assert "You lead or belong to no team yet" in html
    assert "No open tickets." in html


def test_chinese_page(client, make_user, console_login, billing, data):
    boss = make_user("lead", team=billing, locale="zh_CN", timezone="Asia/Shanghai")
    console_login(client, boss)
    status, html = page(client, period="today")
    assert status == 200
    assert '<html lang="zh-CN">' in html
    assert "账务" in html


# ---------------------------------------------------------------------------- chart builders

def test_chart_builders_escape_and_scale(app):
    from service.console import charts

    chart = charts.bar_chart("c1", 'A "title" <b>', [
        charts.Bar("<script>x</script>", 5, "5 & more"), charts.Bar("zero", 0, "0")])
    assert chart.startswith('<svg class="chart bar-chart" role="img" aria-labelledby="c1-title"')
    assert '<title id="c1-title">A &#34;title&#34; &lt;b&gt;</title>' in chart
    assert "<script>" not in chart and "&lt;script&gt;x&lt;/script&gt;" in chart
    assert "5 &amp; more" in chart
    assert chart.count('<rect class="bar"') == 1  # a zero draws no bar
    assert 'width="{}"'.format(charts.WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH) in chart
    # All zeros, or no rows at all: a valid, empty chart, never a division by zero.
    assert charts.bar_chart("c2", "t", [charts.Bar("a", 0, "0")]).endswith("</svg>")
    empty = charts.stacked_bar_chart("c3", "t", [charts.Series("s", "age0")], [])
    assert empty.endswith("</svg>") and "seg-age0" in empty  # the legend only


def test_long_labels_are_cut_by_display_width(app):
    from service.console import charts

    latin = charts._short("x" * 40)
    assert latin == "x" * 30 + "…"
    chinese = charts._short("首次响应" * 10)  # 40 wide characters, 80 units
    assert chinese == ("首次响应" * 4)[:15] + "…"
    assert charts._short("首次响应，今天") == "首次响应，今天"
