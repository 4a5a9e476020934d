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


@pytest.fixture(autouse=True)
def rollups_now(monkeypatch):
    """The rollups judge their cells' age and horizon as of now: the data set's now."""
    monkeypatch.setattr("service.reports.rollup.utcnow", lambda: NOW)


@pytest.fixture
def counted_live(monkeypatch):
    """The periods engine.aggregate counted from their rows (not answered by cells)."""
    periods = []
    original = engine.aggregate

    def spy(parts, period, **options):
        periods.append(period)
        return original(parts, period, **options)

    monkeypatch.setattr(engine, "aggregate", spy)
    return periods


def build_all(*reports) -> None:
    """The cells of these reports (default: every rolled-up one) from December 2025 to
    April 2026: March, the period before it and the months around."""
    for report in reports or rolled_up():
        rollup.build(report.metric, date(2025, 12, 1), date(2026, 4, 30), now=BUILT_AT)
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
def test_rollups_answer_as_the_tickets_do(tickets, report, group_by, period, counted_live):
    live = engine.run_with_previous(report.metric, period, group_by, zone=SHANGHAI)
    build_all(report)
    counted_live.clear()
    assert_same(live, engine.run_with_previous(report.metric, period, group_by, zone=SHANGHAI))
    # Everything from the cells, but a previous period before the first built day.
    assert all(each.start < local_midnight(date(2025, 12, 1), SHANGHAI)
               for each in counted_live), counted_live


def answered_alike(report, cases) -> None:
    """Each (group_by, period) answered from the cells as it was counted before them."""
    metric = report.metric
    live = [engine.run_with_previous(metric, period, group_by, zone=SHANGHAI)
            for group_by, period in cases]
    build_all(report)
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
    answered_alike(report, [(None, MARCH), (Grouping.DEPARTMENT, MARCH),
                            (Grouping.WEEK, MARCH), (Grouping.MONTH, LOCAL_MARCH),
                            (None, hours_live), (Grouping.DEPARTMENT, hours_live)])
    # Tasks are kept per department: a lead's scope (tickets of their teams, tasks asked
    # of them) is counted from the tasks; a team filter (the ticket's team) is a detail
    # (test_rollup_details).
    assert rollup.answer(metric, MARCH) is not None
    assert rollup.answer(metric, Slice(MARCH.start, MARCH.end, team_ids=(work["S"].id,))) is None
    assert rollup.answer(metric, Slice(MARCH.start, MARCH.end, team=work["S"].id)) is not None


def test_active_accounts_are_counted_once_over_the_period(complaints):
    """3 distinct active accounts in March, though its weeks hold 4 (test_quality)."""
    answered_alike(COMPLAINTS, [(None, MARCH), (Grouping.TEAM, MARCH),
                                       (Grouping.WEEK, MARCH), (None, LOCAL_MARCH)])
    assert engine.run(COMPLAINTS.metric, MARCH)["total"]["active_accounts"] == 3


def test_deflections_roll_up_for_every_reader(data):
    """Deflections are company-wide: a lead's teams do not narrow them."""
    answered_alike(DEFLECTION, [(None, MARCH), (Grouping.SOURCE, MARCH),
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
    build_all(SLA_COMPLIANCE)
    for period, expected in zip(scoped, live, strict=True):
        assert rollup.answer(SLA_COMPLIANCE.metric, period) is not None
        assert_same(expected, engine.run_with_previous(SLA_COMPLIANCE.metric, period,
                                                        Grouping.TEAM))
    assert live[0]["total"]["breached_tickets"] == 4  # team A's, as worked by hand


def test_what_the_cells_cannot_answer_is_counted_live(tickets, teams):
    build_all(RESPONSE_TIMES)
    metric = RESPONSE_TIMES.metric
    # Slices the rollup does not keep (test_rollup_details: the ones it does).
    assert rollup.answer(metric, Slice(MARCH.start, MARCH.end, account=1)) is None
    assert rollup.answer(metric, MARCH, group_by=Grouping.ACCOUNT) is None
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
    build_all(RESPONSE_TIMES)
    db.session.execute(RollupDay.__table__.update().where(RollupDay.day == date(2026, 3, 15))
                       .values(zone="UTC"))
    assert rollup.answer(metric, MARCH) is None
    # No cells at all: a metric that does not roll up, or nothing built.
    db.session.execute(delete(RollupDay))
    assert rollup.answer(metric, MARCH) is None


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_changes_show_once_the_job_rebuilds_the_day(tickets, teams, monkeypatch):
    """The staleness bound: cells are as old as their day's last build; the job rebuilds
    the last 7 days on every run and any older day built over 24 hours ago (here over a
    horizon of 250 days, 40 older days per run)."""
    monkeypatch.setattr(rollup, "HORIZON_DAYS", 250)
    monkeypatch.setattr(rollup, "DAYS_PER_RUN", 40)
    a, b = teams
    metric = SLA_COMPLIANCE.metric
    build_all(SLA_COMPLIANCE)
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
    build_all(SLA_COMPLIANCE)
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


def test_the_cli_and_the_ticker_build_the_rollups(runner, monkeypatch):
    """A run builds the last 7 days and the DAYS_PER_RUN oldest unbuilt ones; --all every
    day of the horizon; the ticker's task is the same run (a short horizon here)."""
    monkeypatch.setattr(rollup, "HORIZON_DAYS", 60)
    monkeypatch.setattr(rollup, "DAYS_PER_RUN", 20)
    per_run = 20 + rollup.RECENT_DAYS
    reports = len(rolled_up())
    result = runner.invoke(args=["reports", "rollup"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{report.name}: {per_run} day(s) rebuilt"
                                          for report in rolled_up()]
    days = select(func.count()).select_from(RollupDay)
    assert db.session.scalar(days) == per_run * reports
    result = runner.invoke(args=["sweep", "report-rollups"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(days) == (2 * 20 + rollup.RECENT_DAYS) * reports
    result = runner.invoke(args=["reports", "rollup", "--all"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(days) == 60 * reports


def test_a_rollup_must_be_stored_under_its_reports_name():
    from dataclasses import replace

    from service.reports.registry import register

    with pytest.raises(ValueError, match="its rollup"):
        register(replace(SLA_COMPLIANCE, name="sla-copy"))


def test_a_day_when_the_clocks_change_is_cut_as_the_reader_lives_it(tickets, database):
    """Europe/Berlin moves to summer time on 2026-03-29 (a 23-hour day): cells cut in
    that zone answer the days around it as the tickets do."""
    database.config["TIMEZONE"] = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    period = Slice(local_midnight(date(2026, 3, 23), berlin),
                   local_midnight(date(2026, 4, 6), berlin))
    live = [engine.run_with_previous(RESPONSE_TIMES.metric, period, grouping, zone=berlin)
            for grouping in (Grouping.DAY, Grouping.WEEK)]
    build_all(RESPONSE_TIMES)
    assert rollup.answer(RESPONSE_TIMES.metric, period) is not None
    for grouping, expected in zip((Grouping.DAY, Grouping.WEEK), live, strict=True):
        assert_same(expected, engine.run_with_previous(RESPONSE_TIMES.metric, period,
                                                        grouping, zone=berlin))


def test_cells_too_old_or_past_the_horizon_are_not_read(tickets, monkeypatch):
    """A stopped job: cells built over MAX_AGE ago are left alone and the report is
    counted from its rows. Days past the horizon are never read, and a run drops them."""
    monkeypatch.setattr(rollup, "DAYS_PER_RUN", 20)  # the run's rebuilding is not the point
    metric = SLA_COMPLIANCE.metric
    build_all(SLA_COMPLIANCE)
    assert rollup.answer(metric, MARCH) is not None
    later = NOW + rollup.MAX_AGE + timedelta(minutes=1)
    monkeypatch.setattr("service.reports.rollup.utcnow", lambda: later)
    assert rollup.answer(metric, MARCH) is None
    # Years on, March 2026 is past the horizon: not read, and the next run drops it.
    future = NOW + timedelta(days=rollup.HORIZON_DAYS + 40)
    monkeypatch.setattr("service.reports.rollup.utcnow", lambda: future)
    rollup.build(metric, date(2026, 3, 1), date(2026, 3, 31), now=future)
    assert rollup.answer(metric, MARCH) is None
    rollup.refresh([metric], future)
    kept = select(func.min(RollupDay.day)).where(RollupDay.report == metric.rollup.name)
    assert db.session.scalar(kept) >= future.date() - timedelta(days=rollup.HORIZON_DAYS)
    assert not db.session.scalar(select(func.count()).select_from(RollupCell).where(
        RollupCell.report == metric.rollup.name, RollupCell.day < date(2026, 6, 1)))
