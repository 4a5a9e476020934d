"""Rollup details: a long-period report filtered or grouped by one slice (agent, channel,
priority, category, product, tier; the ticket's team for task reports) is read from that
detail's cells and answers as counting the rows does, alone or with a team filter or a
lead's scope. Two slices at once, or one not kept, are counted from the rows.

On the hand-worked data sets of test_sla_times_backlog, test_departments and
test_quality, given slices below, on PostgreSQL: the SQL that differs on SQLite (how
series are gathered, time buckets) is the same for every slice, and test_rollup runs it
on both.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from service.directory.models import Account, Tier
from service.extensions import db
from service.reports import engine, rollup
from service.reports.query import TIME_GROUPINGS, Grouping, Slice
from tickets.analytics.departments import DEPARTMENT_TIME, TASK_DETAILS, TASKS
from surveys.reports.registered import RESPONSE_RATES
from tickets.analytics.dimensions import TICKET_DETAILS
from tickets.analytics.intake import INTAKE
from tickets.analytics.quality import COMPLAINTS, REOPEN_RATE, REPEAT_ISSUES
from tickets.analytics.sla import SLA_COMPLIANCE
from tickets.analytics.times import RESPONSE_TIMES
from tickets.models import Channel
# The hand-worked data sets and their frozen "now", shared with the tests that check them.
from tests.reports.test_departments import work  # noqa: F401
from tests.reports.test_feedback_slices import invitations, world  # noqa: F401
from tests.reports.test_quality import account, complaints, ticket  # noqa: F401
from tests.reports.test_rollup import (LOCAL_MARCH, SHANGHAI, assert_same,  # noqa: F401
                                       build_all, counted_live, rollups_now)
from tests.reports.test_sla_times_backlog import (MARCH, frozen_now, teams,  # noqa: F401
                                                  tickets)

CHANNELS = (Channel.EMAIL, Channel.WEB, Channel.API)


@pytest.fixture
def database(pg_app):
    """The data sets on PostgreSQL only (see the module docstring)."""
    return pg_app
CATEGORIES = ("billing", "outage", None)
PRODUCTS = ("Router", "Switch", None)


def _slice(made, make_user) -> dict:
    """Give each ticket a channel, category, product, agent and account (of two tiers)
    in turn, some of them none: {"agent": id, "channel": "web", …} values to filter by."""
    agents = (make_user(name="Ana"), make_user(name="Bo"), None)
    accounts = (Account(name="Standard Co"), Account(name="VIP Co", tier=Tier.VIP), None)
    db.session.add_all(accounts[:2])
    db.session.flush()
    for number, each in enumerate(made, start=1):
        each.channel = CHANNELS[number % 3]
        each.category = CATEGORIES[number % 3]
        each.product = PRODUCTS[(number // 2) % 3]
        each.assignee_id = agents[(number // 3) % 3] and agents[(number // 3) % 3].id
        each.account_id = accounts[(number + 1) % 3] and accounts[(number + 1) % 3].id
    db.session.commit()
    return {"agent": agents[0].id, "channel": "web", "priority": "normal",
            "category": "billing", "product": "Router", "tier": "vip"}


@pytest.fixture
def sliced(tickets, teams, make_user):
    return _slice(tickets.values(), make_user)


@pytest.fixture
def sliced_work(work, make_user):
    values = _slice([work[name] for name in ("K1", "K2", "K3", "K4")], make_user)
    return {**values, "team": work["S"].id}


def cases(detail: Grouping, value, team_ids: tuple[int, ...] | None, **group) -> list:
    """(group_by, period) of one detail: grouped by it, filtered by it (alone, grouped by
    week or month, with one group of the rollup dimension), and within a lead's scope."""
    name = detail.value
    return [(detail, MARCH), (Grouping.WEEK, Slice(MARCH.start, MARCH.end, **{name: value})),
            (None, Slice(LOCAL_MARCH.start, LOCAL_MARCH.end, **{name: value})),
            (detail, Slice(MARCH.start, MARCH.end, **{name: value})),
            (Grouping.MONTH, Slice(LOCAL_MARCH.start - timedelta(days=59), LOCAL_MARCH.end,
                                   **{name: value})),
            (None, Slice(MARCH.start, MARCH.end, **group, **{name: value})),
            *([] if team_ids is None else
              [(detail, Slice(MARCH.start, MARCH.end, team_ids=team_ids))])]


def answered_from_cells(report, all_cases, counted_live) -> None:
    """Each case answered from the cells (only previous periods before the first built
    day counted live) as it was counted from the rows before them."""
    metric = report.metric
    live = [engine.run_with_previous(metric, period, group_by, zone=SHANGHAI)
            for group_by, period in all_cases]
    build_all(report)
    for (group_by, period), expected in zip(all_cases, live, strict=True):
        counted_live.clear()
        dimension = None if group_by in TIME_GROUPINGS else group_by
        assert rollup.answer(metric, period, group_by=dimension) is not None, (group_by, period)
        assert_same(expected, engine.run_with_previous(metric, period, group_by,
                                                        zone=SHANGHAI))
        assert all(each.end <= LOCAL_MARCH.start - timedelta(days=59)
                   for each in counted_live), (group_by, period, counted_live)


def _halves(reports: tuple, details: tuple) -> list[tuple]:
    """Each detail with one of the reports, in turn: every detail and every report is
    checked, the code path being the same for all (a test of each pair would double the
    suite's time for no new path)."""
    return [(reports[index % len(reports)], detail) for index, detail in enumerate(details)]


@pytest.mark.parametrize("report, detail", [
    *_halves((SLA_COMPLIANCE, RESPONSE_TIMES), TICKET_DETAILS),
    (INTAKE, Grouping.CHANNEL), (REOPEN_RATE, Grouping.AGENT),
    (REPEAT_ISSUES, Grouping.CATEGORY)],
    ids=lambda each: getattr(each, "name", getattr(each, "value", None)))
def test_a_ticket_report_sliced_by_one_detail_reads_its_cells(sliced, teams, report, detail,
                                                              counted_live):
    a, b = teams
    answered_from_cells(report, cases(detail, sliced[detail.value], (a.id,), team=b.id),
                        counted_live)


@pytest.mark.parametrize("detail", [Grouping.CHANNEL, Grouping.TIER, Grouping.CATEGORY],
                         ids=lambda d: d.value)
def test_survey_responses_read_their_cells_with_a_leads_invitations_of_no_team(
        invitations, detail, counted_live):
    """Invitations are kept per team and slice; a lead's scope takes in the invitations
    of no team (all of these), so a lead of no team sees the same numbers as an admin."""
    values = {"channel": "web", "tier": "vip", "category": "billing"}
    answered_from_cells(RESPONSE_RATES, cases(detail, values[detail.value], ()),
                        counted_live)
    assert engine.run(RESPONSE_RATES.metric, Slice(MARCH.start, MARCH.end, team_ids=()))[
        "total"] == engine.run(RESPONSE_RATES.metric, MARCH)["total"]


@pytest.mark.parametrize("report, detail", _halves((TASKS, DEPARTMENT_TIME), TASK_DETAILS),
                         ids=lambda each: getattr(each, "name", getattr(each, "value", None)))
def test_a_task_report_sliced_by_the_tickets_team_or_a_detail_reads_its_cells(
        sliced_work, work, report, detail, counted_live):
    """Tasks are kept per department and per one of the ticket's slices; a department
    filter is one group of the cells. A lead's scope stays live (next test)."""
    answered_from_cells(report, cases(detail, sliced_work[detail.value], None,
                                      department=work["D1"].id), counted_live)


def test_complaints_sliced_count_each_active_account_once(complaints, counted_live):
    """Distinct members are kept per detail too: alpha's 2 active accounts over March."""
    answered_from_cells(COMPLAINTS, [(Grouping.PRODUCT, MARCH),
                                     (Grouping.WEEK, Slice(MARCH.start, MARCH.end,
                                                           product="alpha")),
                                     (Grouping.CATEGORY, MARCH),
                                     (None, Slice(MARCH.start, MARCH.end, category="billing"))],
                        counted_live)
    assert engine.run(COMPLAINTS.metric, Slice(MARCH.start, MARCH.end, product="alpha"))[
        "total"]["active_accounts"] == 2


def test_two_slices_at_once_or_one_not_kept_are_counted_from_the_rows(sliced, teams, work):
    build_all(RESPONSE_TIMES, TASKS)
    metric = RESPONSE_TIMES.metric
    both = Slice(MARCH.start, MARCH.end, channel="web", priority="normal")
    assert rollup.answer(metric, both) is None
    assert rollup.answer(metric, Slice(MARCH.start, MARCH.end, channel="web"),
                         group_by=Grouping.PRIORITY) is None
    assert rollup.answer(metric, Slice(MARCH.start, MARCH.end, account=1)) is None
    assert rollup.answer(metric, MARCH, group_by=Grouping.ACCOUNT) is None
    # A lead's task scope (their teams' tickets or tasks asked of their teams).
    assert rollup.answer(TASKS.metric, Slice(MARCH.start, MARCH.end,
                                             team_ids=(work["S"].id,))) is None
    # Answered: one slice, with or without a team filter.
    assert rollup.answer(metric, Slice(MARCH.start, MARCH.end, channel="web",
                                       team=teams[0].id)) is not None


@pytest.mark.parametrize("report", [RESPONSE_TIMES, COMPLAINTS], ids=lambda r: r.name)
@pytest.mark.parametrize("detail", [Grouping.AGENT, Grouping.PRODUCT, Grouping.CHANNEL],
                         ids=lambda d: d.value)
def test_the_top_groups_are_ranked_before_their_histograms_are_read(sliced, report, detail):
    """With `top` below the number of groups, only the top groups' cells are read; the
    breakdown is the one counted from the rows, ties ordered alike."""
    metric = report.metric
    live = [engine.run_with_previous(metric, period, detail, zone=SHANGHAI, top=top)
            for period in (MARCH, LOCAL_MARCH) for top in (1, 2)]
    build_all(report)
    rolled = [engine.run_with_previous(metric, period, detail, zone=SHANGHAI, top=top)
              for period in (MARCH, LOCAL_MARCH) for top in (1, 2)]
    assert_same(live, rolled)
    assert [len(each["groups"]) for each in rolled] == [1, 2, 1, 2]
