"""The console's reports pages on a small hand-worked data set (SQLite; the drill-down and
a breakdown also on PostgreSQL): the index by permission, a report by each kind of
grouping, its exports, the tickets behind a number, and bad input.

Data (UTC; every reader's zone is UTC, so March 2026 = 1–31 March, and the previous
period is the 31 days before: 29 January – 28 February):
  Billing (lead Lena):   T1 web, product Router, 2 March, open
                         T2 email, product =HYPERLINK("http://x"), 10 March, closed
                         T4 web, 15 February (previous period), closed
                         T5 email, 1 April (outside), closed
  Hardware (lead Hugo):  T3 web, product Router, 5 March, closed
So March: created 3 (Billing 2, Hardware 1; web 2, email 1; Router 2), still open 1;
the previous period: 1 (Billing). Lena sees 2 in March, Hugo 1.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest

from service.extensions import db
from service.reports import registry
from tickets.analytics.intake import INTAKE
from service.reports.console_form import preset_days
from service.reports.formatting import group_label
from service.reports.query import Grouping
from tickets.models import Channel, Status

MARCH = "period=custom&from=2026-03-01&to=2026-03-31"
FORMULA = '=HYPERLINK("http://x")'


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)



@pytest.fixture
def world(active_app, make_user, make_team, make_ticket):
    """The teams, leads, an agent, an admin and the tickets of the module docstring."""
    lena = make_user("lead", name="Lena Lead", timezone="UTC")
    hugo = make_user("lead", name="Hugo Lead", timezone="UTC")
    billing = make_team("Billing", lead=lena)
    hardware = make_team("Hardware", lead=hugo)
    from service.directory.services import add_member

    add_member(billing, lena)
    add_member(hardware, hugo)
    admin = make_user("admin", name="Ada Admin", timezone="UTC")
    agent = make_user("agent", name="Al Agent", team=billing, timezone="UTC")

    def ticket(team, channel, created, *, product=None, status=Status.CLOSED):
        made = make_ticket(channel=channel, subject=f"{team.name} {created:%m-%d}")
        made.team_id, made.created_at, made.product, made.status = (team.id, created, product,
                                                                    status)
        made.assignee_id = None
        db.session.commit()
        return made

    tickets = {"T1": ticket(billing, Channel.WEB, utc(2026, 3, 2, 10), product="Router",
                            status=Status.OPEN),
               "T2": ticket(billing, Channel.EMAIL, utc(2026, 3, 10), product=FORMULA),
               "T3": ticket(hardware, Channel.WEB, utc(2026, 3, 5), product="Router"),
               "T4": ticket(billing, Channel.WEB, utc(2026, 2, 15)),
               "T5": ticket(billing, Channel.EMAIL, utc(2026, 4, 1))}
    return {"lena": lena, "hugo": hugo, "admin": admin, "agent": agent, "billing": billing,
            "hardware": hardware, **tickets}


def _client(application, console_login, user):
    return console_login(application.test_client(), user)


def _listed(html: str) -> set[int]:
    return {int(number) for number in re.findall(r'<tr data-id="(\d+)">', html)}


def test_index_lists_the_reports_a_user_may_read(app, world, console_login):
    """An agent may read no report (403); a lead sees the service reports by section, the
    questions whose reports exist, and intake's headline number; signed out: sign-in."""
    assert app.test_client().get("/console/reports").status_code == 302
    agent = _client(app, console_login, world["agent"])
    assert agent.get("/console/reports").status_code == 403
    assert agent.get("/console/reports/intake").status_code == 403
    lead = _client(app, console_login, world["lena"])
    page = lead.get("/console/reports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="report-intake"' in html and 'id="section-service"' in html
    assert "/console/reports/intake" in html
    asked = "Which team breaches most?" in html
    assert asked == (registry.get("sla-compliance") is not None)
    if asked:
        assert "/console/reports/sla-compliance?group_by=team" in html
    # The March tickets are long before "the last 30 days": 0 against 0.
    card = html.split('id="report-intake"')[1].split("</article>")[0]
    assert '<strong class="headline-value">0</strong>' in card


def test_index_headline_counts_the_last_30_days(app, world, console_login, make_ticket):
    """One ticket created now, none in the 30 days before: 1, up by 1."""
    ticket = make_ticket(channel=Channel.WEB)
    ticket.team_id = world["billing"].id
    db.session.commit()
    html = _client(app, console_login, world["lena"]).get("/console/reports").get_data(
        as_text=True)
    card = html.split('id="report-intake"')[1].split("</article>")[0]
    assert '<strong class="headline-value">1</strong>' in card
    assert "+1" in card and "▲" in card


@pytest.mark.parametrize("grouping", [each.value for each in INTAKE.groupings])
def test_show_page_by_each_grouping(app, world, console_login, grouping):
    """Every grouping of intake draws its table with the total 3 (previous 1)."""
    client = _client(app, console_login, world["admin"])
    page = client.get(f"/console/reports/intake?{MARCH}&group_by={grouping}")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    total = html.split("<tfoot>")[1]
    assert re.search(r'<td class="num"><a href="[^"]+">3</a></td>\s*'
                     r'<td class="num muted">1</td>', total)
    chart = "trend-chart" if grouping in ("day", "week", "month") else "bar-chart"
    assert f'class="chart {chart}"' in html


def test_show_page_groups_by_team_and_links_each_number(database, world, console_login):
    """By team: Billing 2, Hardware 1; Billing's 2 links to the drill-down of its team."""
    client = _client(database, console_login, world["admin"])
    html = client.get(f"/console/reports/intake?{MARCH}&group_by=team").get_data(as_text=True)
    billing = world["billing"].id
    rows = re.findall(r'<th scope="row">(\w+)</th>\s*<td class="num"><a href="([^"]+)">(\d+)</a>',
                      html)
    assert [(name, number) for name, _link, number in rows] == [
        ("Billing", "2"), ("Hardware", "1"), ("Total", "3")]
    link = rows[0][1].replace("&amp;", "&")
    assert link.startswith("/console/reports/intake/tickets?") and "measure=created" in link
    assert f"key={billing}" in link and "group_by=team" in link
    # Hardware had no tickets in the previous period: 0 before, +1.
    hardware = html.split('<th scope="row">Hardware</th>')[1].split("</tr>")[0]
    assert re.search(r'<td class="num muted">0</td>\s*<td class="num"><span class="change '
                     r'change-neutral"[^>]*><span aria-hidden="true">▲</span> \+1', hardware)
    drilled = client.get(link)
    assert drilled.status_code == 200
    assert _listed(drilled.get_data(as_text=True)) == {world["T1"].id, world["T2"].id}


def test_total_only_and_without_comparison(app, world, console_login):
    """group_by empty: the total alone; compare=0: no previous column."""
    client = _client(app, console_login, world["admin"])
    html = client.get(f"/console/reports/intake?{MARCH}&group_by=&compare=0").get_data(
        as_text=True)
    assert re.search(r"<tbody>\s*</tbody>", html)
    assert "Previous" not in html.split("<thead>")[1].split("</thead>")[0]
    assert re.search(r'<tfoot>\s*<tr class="total">\s*<th scope="row">Total</th>\s*'
                     r'<td class="num"><a href="[^"]+">3</a></td>', html)


def test_exports_keep_the_filters_and_escape_formulas(app, world, console_login):
    """CSV and XLSX of the product breakdown: the formula-looking product stays text."""
    from openpyxl import load_workbook

    client = _client(app, console_login, world["admin"])
    html = client.get(f"/console/reports/intake?{MARCH}&group_by=product").get_data(
        as_text=True)
    assert "/console/reports/intake.csv?" in html
    exported = client.get(f"/console/reports/intake.csv?{MARCH}&group_by=product")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "intake_2026-" in exported.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[1][:3] == ["Router", "2", ""] and rows[2][:2] == ["'" + FORMULA, "1"]
    assert rows[-1][:3] == ["Total", "3", "1"]
    book = client.get(f"/console/reports/intake.xlsx?{MARCH}&group_by=product")
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.data)).active
    assert sheet["A3"].value == "'" + FORMULA and sheet["A3"].data_type == "s"
    assert sheet["B2"].value == 2
    assert client.get(f"/console/reports/intake.csv?{MARCH}&name=x&kind=y").status_code == 200
    bad = client.get(f"/console/reports/intake.csv?{MARCH}&group_by=nope")
    assert bad.status_code == 400 and "text/html" in bad.content_type


def test_drill_down_keeps_a_lead_to_their_teams(database, world, console_login):
    """Hugo (Hardware) drilling into March's total sees T3 only; into Billing's group,
    nothing; asking for Billing by filter is refused. Lena sees T1 and T2."""
    hugo = _client(database, console_login, world["hugo"])
    total = hugo.get(f"/console/reports/intake/tickets?{MARCH}&measure=created")
    assert total.status_code == 200
    html = total.get_data(as_text=True)
    assert _listed(html) == {world["T3"].id}
    assert "Created, " in html and "Mar 1, 2026" in html
    billing = world["billing"].id
    theirs = hugo.get(f"/console/reports/intake/tickets?{MARCH}&measure=created"
                      f"&group_by=team&key={billing}")
    assert theirs.status_code == 200 and _listed(theirs.get_data(as_text=True)) == set()
    refused = hugo.get(f"/console/reports/intake/tickets?{MARCH}&measure=created"
                       f"&team={billing}")
    assert refused.status_code == 400
    lena = _client(database, console_login, world["lena"])
    mine = lena.get(f"/console/reports/intake/tickets?{MARCH}&measure=created")
    assert _listed(mine.get_data(as_text=True)) == {world["T1"].id, world["T2"].id}
    still_open = lena.get(f"/console/reports/intake/tickets?{MARCH}&measure=still_open"
                          "&group_by=channel&key=web").get_data(as_text=True)
    assert _listed(still_open) == {world["T1"].id}
    assert "Still open — Channel: Web form" in still_open


def test_drill_down_by_a_time_bucket_and_pages(app, world, console_login):
    """Week of 2 March (Mon): T1 and T3; a page of one is not possible (50 a page), so
    the list is whole and has no next link."""
    client = _client(app, console_login, world["admin"])
    html = client.get(f"/console/reports/intake/tickets?{MARCH}&measure=created"
                      "&group_by=week&key=2026-03-02").get_data(as_text=True)
    assert _listed(html) == {world["T1"].id, world["T3"].id}
    # Newest first: T1 (2 March 10:00) after… T3 (5 March) first.
    assert html.index(f'data-id="{world["T3"].id}"') < html.index(f'data-id="{world["T1"].id}"')
    assert 'rel="next"' not in html
    after = client.get(f"/console/reports/intake/tickets?{MARCH}&measure=created"
                       f"&group_by=week&key=2026-03-02&after={world['T3'].id}")
    assert _listed(after.get_data(as_text=True)) == {world["T1"].id}


@pytest.mark.parametrize("query, field, message", [
    ("group_by=nope", "group_by", "Choose one of the listed groupings."),
    ("period=custom&from=2026-13-01", "from", "Give the first day as a date"),
    ("period=custom&from=2026-03-31&to=2026-03-01", "from", "must not be after"),
    ("period=yesterday", "period", "Choose one of the listed periods."),
    ("channel=fax", "channel", "Choose one of the listed values."),
    ("compare=maybe", "compare", "Choose yes or no."),
    ("product=" + "x" * 81, "product", "At most 80 characters."),
])
def test_bad_input_shows_the_form_again(app, world, console_login, query, field, message):
    client = _client(app, console_login, world["admin"])
    page = client.get(f"/console/reports/intake?{query}")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">' in html and message in html


def test_another_leads_team_unknown_reports_and_bad_drills(app, world, console_login):
    client = _client(app, console_login, world["lena"])
    other = client.get(f"/console/reports/intake?team={world['hardware'].id}")
    assert other.status_code == 400 and "Choose one of your teams." in other.get_data(
        as_text=True)
    assert client.get(f"/console/reports/intake?team={world['billing'].id}").status_code == 200
    assert client.get("/console/reports/nope").status_code == 404
    assert client.get("/console/reports/nope/tickets?measure=created").status_code == 404
    assert client.get("/console/reports/nope.csv").status_code == 404
    for query in ("measure=nope", "measure=created&group_by=team&key=abc",
                  "measure=created&group_by=channel&key=fax",
                  "measure=created&group_by=week&key=2020-01-01", "measure=created&after=x"):
        page = client.get(f"/console/reports/intake/tickets?{MARCH}&{query}")
        assert page.status_code == 400, query
        assert 'class="form-errors"' in page.get_data(as_text=True)


def test_pages_speak_chinese(app, world, console_login):
    """The language switch reaches the pages: headings, form and filter labels, group names
    and the numbers all read in zh_CN."""
    client = _client(app, console_login, world["admin"])
    page = client.get(f"/console/reports/intake?{MARCH}&group_by=channel&lang=zh_CN")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert ">报表</a>" in html and "分组方式" in html  # Reports, Group by
    assert '<label for="filter-channel">渠道</label>' in html  # Channel
    assert re.search(r'<tfoot>\s*<tr class="total">\s*<th scope="row">合计</th>\s*'
                     r'<td class="num"><a href="[^"]+">3</a></td>', html)


def test_presets_and_group_labels(app):
    """Presets count whole local days, today included; labels read as people say them."""
    from datetime import date

    today = date(2026, 3, 15)
    assert preset_days("last_7", today) == (date(2026, 3, 9), today)
    assert preset_days("last_month", today) == (date(2026, 2, 1), date(2026, 2, 28))
    assert preset_days("this_month", today) == (date(2026, 3, 1), today)
    assert preset_days("last_12_months", today) == (date(2025, 4, 1), today)
    assert preset_days("last_12_months", date(2026, 1, 5)) == (date(2025, 2, 1),
                                                                date(2026, 1, 5))
    with app.test_request_context():
        assert group_label(Grouping.TEAM, None) == "No team"
        assert group_label(Grouping.BREACHED, True) == "Breached"
        assert group_label(Grouping.REOPENS, 2) == "2 or more"
        assert group_label(Grouping.WEEK, "2026-03-02") == "Week of Mar 2, 2026"
        assert group_label(Grouping.CHANNEL, "walk_in") == "Walk-in"


def test_formatting_by_unit(app):
    """Counts, percents, durations, money, scores, ratios, None; changes by `better`."""
    from service.reports.formatting import change, format_value
    from service.reports.registry import Column, Unit

    with app.test_request_context():
        assert format_value(1234567, Unit.COUNT) == "1,234,567"
        assert format_value(87.5, Unit.PERCENT) == "87.5%"
        assert format_value(None, Unit.PERCENT) == "—"
        assert format_value(45, Unit.SECONDS) == "45 s"
        assert format_value(7500, Unit.SECONDS) == "2 h 05 min"
        assert format_value(3 * 86400 + 4 * 3600 + 59, Unit.SECONDS) == "3 d 4 h"
        assert format_value(1234.5, Unit.MONEY) == "1,234.50"
        assert format_value(-12.5, Unit.SCORE) == "-12.5"
        assert format_value(0.125, Unit.RATIO) == "0.125"
        met = Column("met", "Met", Unit.PERCENT, better="up")
        worse = change(70.0, 72.5, met)
        assert (worse.text, worse.tone, worse.arrow) == ("−2.5 pts", "bad", "▼")
        slower = change(7500, 3600, Column("t", "T", Unit.SECONDS, better="down"))
        assert (slower.text, slower.tone) == ("+1 h 05 min", "bad")
        same = change(3, 3, Column("n", "N"))
        assert (same.text, same.direction, same.tone) == ("±0", "same", "neutral")
        assert change(None, 3, met) is None and change(3, None, met) is None



def test_every_registered_report_renders_by_each_grouping(app, world, console_login):
    """Each report other domains registered: its page by every grouping, its drill-down of
    the total, and its CSV answer without an error page (data: the module's)."""
    client = _client(app, console_login, world["admin"])
    failures = []
    for report in registry.reports():
        for grouping in ["", *[each.value for each in report.groupings]]:
            page = client.get(f"/console/reports/{report.name}?{MARCH}&group_by={grouping}")
            if page.status_code != 200:
                failures.append((report.name, grouping, page.status_code))
        drills = [column.drill for column in report.columns if column.drill]
        if drills:
            page = client.get(f"/console/reports/{report.name}/tickets?{MARCH}"
                              f"&measure={drills[0]}")
            if page.status_code != 200:
                failures.append((report.name, "drill", page.status_code))
        if client.get(f"/console/reports/{report.name}.csv?{MARCH}").status_code != 200:
            failures.append((report.name, "csv"))
    assert failures == []



@pytest.mark.parametrize("query, field", [
    ("period=custom&from=9999-12-01&to=9999-12-31", "from"),  # its end is past year 9999
    ("period=custom&from=0001-01-01&to=0001-01-31", "from"),  # the period before: year 0
    ("period=custom&from=2024-01-01&to=2026-12-31&group_by=day", "group_by"),  # 1,096 days
])
def test_periods_out_of_reach_show_the_form_again(database, world, console_login, query,
                                                   field):
    """Dates Python cannot hold, and trends too long to draw: 400 by the field, never a
    500 — on the page, its export and its drill-down alike."""
    client = _client(database, console_login, world["admin"])
    for path in ("intake", "intake.csv", "intake/tickets"):
        page = client.get(f"/console/reports/{path}?{query}&measure=created")
        assert page.status_code == 400, (path, page.status_code)
        assert "text/html" in page.content_type
    html = client.get(f"/console/reports/intake?{query}").get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">' in html


def test_filters_drop_control_characters(database, world, console_login):
    """A NUL in a text filter (PostgreSQL refuses it) is dropped, as the API's schemas drop
    it: product=Rou\0ter is the Router filter, and the links keep it clean."""
    client = _client(database, console_login, world["admin"])
    page = client.get(f"/console/reports/intake?{MARCH}&group_by=&product=Rou%00ter"
                      "&category=%00")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    export = re.search(r'href="(/console/reports/intake\.csv\?[^"]+)"', html)[1]
    assert "product=Router" in export and "%00" not in export and "category" not in export
    assert re.search(r'<tfoot>\s*<tr class="total">\s*<th scope="row">Total</th>\s*'
                     r'<td class="num"><a href="[^"]+">2</a></td>', html)
    drilled = client.get(f"/console/reports/intake/tickets?{MARCH}&measure=created"
                         "&product=Rou%00ter")
    assert _listed(drilled.get_data(as_text=True)) == {world["T1"].id, world["T3"].id}


def test_drill_down_pages_only_from_a_ticket_id(database, world, console_login):
    """`after` beyond the ids' range (PostgreSQL: integer out of range) or 0 is not a page
    of the list: 400; each listed ticket links to its page."""
    client = _client(database, console_login, world["admin"])
    for after in ("9999999999", "0"):
        page = client.get(f"/console/reports/intake/tickets?{MARCH}&measure=created"
                          f"&after={after}")
        assert page.status_code == 400, after
        assert "Not a page of this list." in page.get_data(as_text=True)
    html = client.get(f"/console/reports/intake/tickets?{MARCH}&measure=created").get_data(
        as_text=True)
    assert f'<a href="/console/tickets/{world["T1"].id}">' in html


@pytest.mark.parametrize("role", ["admin", "lead", "agent", "department", "sales"])
def test_side_bar_links_the_reports_to_whoever_may_read_one(app, world, console_login,
                                                            make_user, role):
    """The side bar's Reports link is there exactly when the reports index opens (a sales
    rep reads the survey and follow-up reports)."""
    client = _client(app, console_login, make_user(role, timezone="UTC"))
    index = client.get("/console/reports")
    assert index.status_code in (200, 403)
    home = client.get("/console/kb/articles", follow_redirects=True).get_data(as_text=True)
    assert ('href="/console/reports"' in home) == (index.status_code == 200), role


def test_a_rolled_up_report_says_where_its_days_come_from(app, world, console_login):
    """Response times read long periods from daily rollups and say so, in both languages;
    the backlog (a snapshot) does not."""
    client = _client(app, console_login, world["admin"])
    note = "Days before today come from daily rollups"
    assert note in client.get(f"/console/reports/response-times?{MARCH}").get_data(as_text=True)
    assert note not in client.get("/console/reports/backlog").get_data(as_text=True)
    chinese = client.get(f"/console/reports/response-times?{MARCH}&lang=zh_CN")
    assert chinese.status_code == 200
    assert "今天之前的日期取自每日汇总" in chinese.get_data(as_text=True)
