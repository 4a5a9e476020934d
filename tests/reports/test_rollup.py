"""Daily rollups answer the long-period reports as counting the tickets does: counts
exactly, percentiles within 1 %. On the hand-worked data sets of test_sla_times_backlog
(SLA compliance, response times) and test_departments (tasks), on SQLite and PostgreSQL.

The rollup is cut in the TIMEZONE setting (Asia/Shanghai, UTC+8, in the tests): a period
of UTC midnights starts and ends at 08:00 local, so its first and last hours are counted
live beside the cells, as a period ending now is.
"""
from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from service.extensions import db
from service.reports import engine, rollup
from service.reports.models import RollupCell, RollupDay
from service.reports.query import Grouping, Slice, buckets, local_midnight
from service.reports.registry import rolled_up
from knowledge_base.report import DEFLECTION
from tickets.analytics.departments import DEPARTMENT_TIME, TASKS
from tickets.analytics.quality import COMPLAINTS
from tickets.analytics.sla import SLA_COMPLIANCE
from tickets.analytics.times import RESPONSE_TIMES
# The hand-worked data sets and their frozen "now", shared with the tests that check them.
from tests.reports.test_deflection import data  # noqa: F401
from tests.reports.test_departments import work  # noqa: F401
from tests.reports.test_quality import account, complaints, ticket  # noqa: F401
from tests.reports.test_sla_times_backlog import (MARCH, NOW, frozen_now,  # noqa: F401
                                                  teams, tickets)

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOCAL_MARCH = Slice(local_midnight(date(2026, 3, 1), SHANGHAI),
                    local_midnight(date(2026, 4, 1), SHANGHAI))
BUILT_AT = NOW - timedelta(hours=1)


def build_all() -> None:
    """The cells of every rolled-up report from December 2025 to May 2026."""
    for report in rolled_up():
        rollup.build(report.metric, date(2025, 12, 1), date(2026, 5, 31), now=BUILT_AT)
    db.session.commit()


def assert_same(live, rolled, path="") -> None:
    """Counts equal; percentiles (medians, p90s) within 1 % or a second."""
    if isinstance(live, dict):
        assert set(live) == set(rolled), path
        for key in live:
            assert_same(live[key], rolled[key], f"{path}.{key}")
    elif isinstance(live, list):
        assert len(live) == len(rolled), path
        for index, (first, second) in enumerate(zip(live, rolled, strict=True)):
            assert_same(first, second, f"{path}[{index}]")
    elif live is not None and ("median" in path or "p90" in path):
        assert rolled == pytest.approx(live, rel=rollup.ACCURACY, abs=1), path
    else:
        assert rolled == live, path


CASES = [(None, LOCAL_MARCH), (None, MARCH), (Grouping.TEAM, MARCH), (Grouping.WEEK, MARCH),
         (Grouping.MONTH, Slice(LOCAL_MARCH.start - timedelta(days=59), LOCAL_MARCH.end)),
         (Grouping.DAY, MARCH)]


@pytest.mark.parametrize("report", [SLA_COMPLIANCE, RESPONSE_TIMES], ids=lambda r: r.name)
@pytest.mark.parametrize("group_by, period", CASES)
def test_rollups_answer_as_the_tickets_do(tickets, report, group_by, period):
    live = engine.run_with_previous(report.metric, period, group_by, zone=SHANGHAI)
    build_all()
    assert rollup.answer(report.metric, period) is not None
    assert_same(live, engine.run_with_previous(report.metric, period, group_by, zone=SHANGHAI))


def answered_alike(metric, cases) -> None:
    """Each (group_by, period) answered from the cells as it was counted before them."""
    live = [engine.run_with_previous(metric, period, group_by, zone=SHANGHAI)
            for group_by, period in cases]
    build_all()
    for (group_by, period), expected in zip(cases, live, strict=True):
        assert rollup.answer(metric, period) is not None
        assert_same(expected, engine.run_with_previous(metric, period, group_by,
                                                        zone=SHANGHAI))


@pytest.mark.parametrize("report", [TASKS, DEPARTMENT_TIME], ids=lambda r: r.name)
def test_department_reports_roll_up_by_department_and_live_for_a_lead(work, report):
    """Time per department counts distinct tickets and ticket–department pairs: their
    members are kept, so weeks that share a ticket do not add up to the month."""
    metric = report.metric
    # From 03-02 00:00 UTC the first 16 hours are counted live: T1 (ticket K1) finished
    # then, and K1 is among the stored members too (T3, 03-05).
    hours_live = Slice(utc(2026, 3, 2), utc(2026, 3, 31))
    answered_alike(metric, [(None, MARCH), (Grouping.DEPARTMENT, MARCH),
                            (Grouping.WEEK, MARCH), (Grouping.MONTH, LOCAL_MARCH),
                            (None, hours_live), (Grouping.DEPARTMENT, hours_live)])
    # Tasks are kept per department: a lead's scope (tickets of their teams, tasks asked
    # of them) and a team filter are counted from the tasks.
    assert rollup.answer(metric, MARCH) is not None
    assert rollup.answer(metric, Slice(MARCH.start, MARCH.end, team_ids=(work["S"].id,))) is None
    assert rollup.answer(metric, Slice(MARCH.start, MARCH.end, team=work["S"].id)) is None


def test_active_accounts_are_counted_once_over_the_period(complaints):
    """3 distinct active accounts in March, though its weeks hold 4 (test_quality)."""
    answered_alike(COMPLAINTS.metric, [(None, MARCH), (Grouping.TEAM, MARCH),
                                       (Grouping.WEEK, MARCH), (None, LOCAL_MARCH)])
    assert engine.run(COMPLAINTS.metric, MARCH)["total"]["active_accounts"] == 3


def test_deflections_roll_up_for_every_reader(data):
    """Deflections are company-wide: a lead's teams do not narrow them."""
    answered_alike(DEFLECTION.metric, [(None, MARCH), (Grouping.SOURCE, MARCH),
                                       (Grouping.MONTH, MARCH)])
    assert rollup.answer(DEFLECTION.metric, Slice(MARCH.start, MARCH.end, team_ids=(1,))) \
        is not None


def test_a_leads_teams_and_a_team_filter_come_from_the_team_cells(tickets, teams):
    a, b = teams
    scoped = [Slice(MARCH.start, MARCH.end, team_ids=(a.id,)),
              Slice(MARCH.start, MARCH.end, team_ids=(a.id, b.id), team=b.id),
              Slice(MARCH.start, MARCH.end, team_ids=())]
    live = [engine.run_with_previous(SLA_COMPLIANCE.metric, period, Grouping.TEAM)
            for period in scoped]
    build_all()
    for period, expected in zip(scoped, live, strict=True):
        assert rollup.answer(SLA_COMPLIANCE.metric, period) is not None
        assert_same(expected, engine.run_with_previous(SLA_COMPLIANCE.metric, period,
                                                        Grouping.TEAM))
    assert live[0]["total"]["breached_tickets"] == 4  # team A's, as worked by hand


def test_what_the_cells_cannot_answer_is_counted_live(tickets, teams):
    build_all()
    metric = RESPONSE_TIMES.metric
    # Other filters and groupings than the rollup's dimension.
    assert rollup.answer(metric, Slice(MARCH.start, MARCH.end, priority="high")) is None
    assert rollup.answer(metric, MARCH, group_by=Grouping.PRIORITY) is None
    # Buckets in another zone than the cells'.
    utc_weeks = buckets(MARCH.start, MARCH.end, Grouping.WEEK, ZoneInfo("UTC"))
    assert rollup.answer(metric, MARCH, by_time=utc_weeks) is None
    # A period of under a day, or more than two days the cells do not cover.
    assert rollup.answer(metric, Slice(MARCH.start, MARCH.start + timedelta(hours=20))) is None
    assert rollup.answer(metric, Slice(MARCH.start, utc(2026, 6, 5))) is None
    # A day missing in the middle (being rebuilt, or never built).
    db.session.execute(delete(RollupDay).where(RollupDay.day == date(2026, 3, 15)))
    assert rollup.answer(metric, MARCH) is None
    # A day built in another zone than TIMEZONE's.
    build_all()
    db.session.execute(RollupDay.__table__.update().where(RollupDay.day == date(2026, 3, 15))
                       .values(zone="UTC"))
    assert rollup.answer(metric, MARCH) is None
    # No cells at all: a metric that does not roll up, or nothing built.
    db.session.execute(delete(RollupDay))
    assert rollup.answer(metric, MARCH) is None


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_changes_show_once_the_job_rebuilds_the_day(tickets, teams):
    """The staleness bound: cells are as old as their day's last build; the job rebuilds
    the last 7 days on every run and any older day built over 24 hours ago."""
    a, b = teams
    metric = SLA_COMPLIANCE.metric
    build_all()
    before = engine.run(metric, MARCH, Grouping.TEAM)
    tickets[4].team_id = a.id  # T4 (breached twice in March) moves from team B to team A
    db.session.commit()
    assert engine.run(metric, MARCH, Grouping.TEAM) == before  # the cells are as built
    # Built an hour ago: a run now leaves March alone (it builds the days never built).
    assert date(2026, 3, 20) not in rollup.stale_days(metric, NOW)
    assert rollup.refresh([metric], NOW) == rollup.DAYS_PER_RUN + rollup.RECENT_DAYS
    assert engine.run(metric, MARCH, Grouping.TEAM) == before
    # A day later every older day is due, oldest first, at most DAYS_PER_RUN of them.
    later = NOW + rollup.REBUILD_AFTER + timedelta(minutes=1)
    due = rollup.stale_days(metric, later)
    assert len(due) == rollup.DAYS_PER_RUN + rollup.RECENT_DAYS and due == sorted(due)
    while rollup.refresh([metric], later) > rollup.RECENT_DAYS:
        pass
    moved = {group["key"]: group for group in engine.run(metric, MARCH, Grouping.TEAM)["groups"]}
    assert moved[a.id]["breached_tickets"] == 5 and moved[b.id]["breached_tickets"] == 1
    assert engine.run(metric, MARCH, Grouping.TEAM) == \
        _live(lambda: engine.run(metric, MARCH, Grouping.TEAM))


def _live(compute):
    """compute() with the cells out of the way."""
    saved = db.session.execute(select(RollupDay.__table__)).all()
    db.session.execute(delete(RollupDay))
    try:
        return compute()
    finally:
        db.session.execute(RollupDay.__table__.insert(), [row._asdict() for row in saved])


def test_month_cells_exist_only_for_whole_built_months(tickets):
    build_all()
    months = set(db.session.scalars(select(RollupCell.day).where(
        RollupCell.report == SLA_COMPLIANCE.name, RollupCell.span == rollup.MONTH)))
    assert months == {date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)}  # with tickets
    # Rebuilding one day of a month whose other days are gone drops the month's cells.
    db.session.execute(delete(RollupDay).where(RollupDay.day == date(2026, 3, 31)))
    rollup.build(SLA_COMPLIANCE.metric, date(2026, 3, 2), date(2026, 3, 2), now=BUILT_AT)
    assert db.session.scalar(select(func.count()).select_from(RollupCell).where(
        RollupCell.span == rollup.MONTH, RollupCell.day == date(2026, 3, 1),
        RollupCell.report == SLA_COMPLIANCE.name)) == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_percentile_from_the_histogram_is_within_one_percent(seed):
    generator = random.Random(seed)
    values = [math.exp(generator.uniform(0, 15)) for _ in range(2001)] + [0.0, 0.4]
    histogram: dict[int, float] = {}
    for value in values:
        slot = 0 if value < 1 else 1 + math.floor(math.log(value) / math.log(rollup.GAMMA))
        histogram[slot] = histogram.get(slot, 0) + 1
    ordered = sorted(values)
    for fraction in (0.0, 0.1, 0.5, 0.9, 1.0):
        position = fraction * (len(ordered) - 1)
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        exact = ordered[low] + (position - low) * (ordered[high] - ordered[low])
        assert rollup.percentile_of(histogram, fraction) == \
            pytest.approx(exact, rel=rollup.ACCURACY, abs=1)
    assert rollup.percentile_of({}, 0.5) is None


def test_the_cli_and_the_ticker_build_the_rollups(runner):
    """A run builds the last 7 days and the DAYS_PER_RUN oldest unbuilt ones; --all every
    day of the horizon; the ticker's task is the same run."""
    per_run = rollup.DAYS_PER_RUN + rollup.RECENT_DAYS
    result = runner.invoke(args=["reports", "rollup"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{report.name}: {per_run} day(s) rebuilt"
                                          for report in rolled_up()]
    days = select(func.count()).select_from(RollupDay)
    assert db.session.scalar(days) == per_run * len(rolled_up())
    result = runner.invoke(args=["sweep", "report-rollups"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(days) == \
        (2 * rollup.DAYS_PER_RUN + rollup.RECENT_DAYS) * len(rolled_up())
    result = runner.invoke(args=["reports", "rollup", "--all"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(days) == rollup.HORIZON_DAYS * len(rolled_up())


def test_a_rollup_must_be_stored_under_its_reports_name():
    from dataclasses import replace

    from service.reports.registry import register

    with pytest.raises(ValueError, match="its rollup"):
        register(replace(SLA_COMPLIANCE, name="sla-copy"))
