"""Daily rollups: the slow reports' numbers kept per local day, so that a 90-day or
12-month report adds up a few thousand cells instead of reading a million tickets.

A report opts in with Metric.rollup. Its cells are the report's own parts counted with
time buckets of one day (query.aggregate's definitions, so the two cannot drift apart):

* counts and sums are stored per day and per group of one dimension (a team, by default),
  and per group of that dimension and one of the rollup's details (the team's tickets of
  one agent, channel, priority…), and add up exactly;
* a percentile is stored as a histogram of its values in buckets whose bounds grow by
  GAMMA: any value read back is within ACCURACY (1 %) of a value in its bucket, so a
  median from the rollup is within 1 % of the exact one (values under a second: within a
  second);
* a distinct count (active accounts) is stored as its members (integer ids) per day and
  per month, and counted once over the period.

Each is one row per series (service.reports.series): a histogram or a set of members is
kept whole, so a 12-month report reads a few hundred rows.

A request is answered from the rollup when its days are built (in the zone the rollup is
cut in), it is filtered by the rollup's dimension (a lead's teams, a team) and by at most
one detail, and grouped by time, by that dimension, by that same detail or not at all.
The parts of the period the cells do not cover (today, a period starting at a time of
day) are counted live with the same statements, and at most MAX_LIVE of the period may
be; otherwise the whole report is counted live, exactly. The job keeps the last
RECENT_DAYS days rebuilt every run and every older day rebuilt at least every
REBUILD_AFTER: those are the staleness bounds in docs/reports.md ("Speed").
"""
from __future__ import annotations

import bisect
import json
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (ARRAY, BigInteger, Date, Integer, String, and_, case, cast, delete, func,
                        insert, literal, or_, select, text, union_all)
from sqlalchemy.dialects import postgresql

from service.db_types import utcnow
from service.extensions import db
from service.reports import series
from service.reports.models import RollupCell, RollupDay
from service.reports.query import (Buckets, Grouping, Measure, Part, Slice, buckets,
                                   local_midnight, percentile_groups)

if TYPE_CHECKING:
    from service.reports.engine import Metric

ACCURACY = 0.01
GAMMA = (1 + ACCURACY) / (1 - ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
RECENT_DAYS = 7  # rebuilt on every run: where tickets still change most
REBUILD_AFTER = timedelta(hours=24)  # every older day is rebuilt at least this often
# Cells older than this are not read (the job has stopped, or the rollups were off): the
# report is counted from its rows instead. The slack covers a backfill's few runs.
MAX_AGE = REBUILD_AFTER + timedelta(hours=2)
MAX_LIVE = timedelta(days=2)  # the most of a period counted live beside the cells
HORIZON_DAYS = 2 * 3 * 366 + 7  # the longest period (access.MAX_DAYS) and the one before it
CHUNK_DAYS = 92  # days built by one set of statements (one transaction)
DAYS_PER_RUN = 400  # older days (re)built per report per run, oldest first
DAY, MONTH = "day", "month"  # the spans of cells
# The cuts of cells: every row of the report ("total"), per group of the rollup dimension
# ("by"), and per group of that dimension and of one detail (the detail's name).
TOTAL, BY = "total", "by"
_ID_GROUPINGS = (Grouping.TEAM, Grouping.AGENT, Grouping.DEPARTMENT, Grouping.ACCOUNT)


@dataclass(frozen=True)
class Rollup:
    """How a metric's numbers are kept in daily cells.

    `name` is the key its cells are stored under (the report's name); `by` the one
    dimension they are kept per (its expressions are the metric's dimensions[by]);
    `scoped` whether a lead's team scope is a set of `by` keys (ticket reports: a lead
    sees their teams' tickets), and `teamless` whether it also takes in the rows of no
    team (survey invitations: Slice.conditions' teamless); `company_wide` whether the
    metric counts the same rows for every reader (deflections), whatever their teams;
    `details` the dimensions also kept per `by` group, each in its own cut (the metric's
    dimensions and filters of the same names), so that a request filtered or grouped by
    one of them is answered from cells too."""

    name: str
    by: Grouping = Grouping.TEAM
    scoped: bool = True
    company_wide: bool = False
    teamless: bool = False
    details: tuple[Grouping, ...] = ()

    @property
    def cuts(self) -> tuple[str, ...]:
        """The cuts built from the rows ("total" is added up from "by")."""
        return (BY, *[detail.value for detail in self.details])


def rollup_zone() -> ZoneInfo:
    """The zone whose local days the cells are cut in: the TIMEZONE setting."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def rolls_up(parts: Sequence[Part]) -> bool:
    """Whether these parts can be kept in cells: each placed in time by a moment, and
    only counts, sums, percentiles and distinct counts among their measures."""
    return all(part.moment is not None and all(
        isinstance(measure, Measure)
        for measure in part.measures.values()) for part in parts)


# ---------------------------------------------------------------- building cells

def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _slot(value: Any) -> Any:
    """SQL: the histogram bucket of a value: 0 below one second, else 1 + ⌊log_γ value⌋
    (bucket s holds [γ^(s−1), γ^s))."""
    return case((value < 1, 0),
                else_=1 + cast(func.floor(func.ln(value) / literal(_LOG_GAMMA)), Integer))


def representative(slot: int) -> float:
    """The value a histogram bucket stands for: within ACCURACY of every value in it."""
    return 0.0 if slot <= 0 else 2 * GAMMA ** slot / (GAMMA + 1)


def histograms(measures: dict[str, Any]) -> dict[str, str]:
    """Percentile measure → the histogram it is read from: percentiles of the same values
    under the same conditions (a median and a p90) share one, named after the first."""
    return {name: first for first, members in percentile_groups(measures).items()
            for name, _ in members}


def _day(index: Any, first: date) -> Any:
    """SQL: the local date of DAY bucket `index` of a period whose first day is `first`."""
    if _dialect() == "postgresql":
        return literal(first, Date) + index
    return func.date(literal(first.isoformat()), "+" + cast(index, String) + " days")


def _key(expression: Any) -> Any:
    return func.coalesce(cast(expression, String), "")


def cell_selects(metric: Metric, period: Slice, zone: ZoneInfo,
                 cuts: Sequence[str] | None = None) -> list[Any]:
    """SQL: the cells of the period in these cuts (default: every one built from rows),
    one SELECT (cut, day, key, detail, measure, slot, value) per cut, part and histogram;
    days are the period's local days in `zone`."""
    spec = metric.rollup
    statements = []
    for cut in cuts or spec.cuts:
        statements += _cut_selects(metric, period, zone, cut)
    return statements


def _cut_selects(metric: Metric, period: Slice, zone: ZoneInfo, cut: str) -> list[Any]:
    spec = metric.rollup
    days = buckets(period.start, period.end, Grouping.DAY, zone)
    first = date.fromisoformat(days.keys[0])
    parts = metric.parts(period)
    keys = metric.dimensions[spec.by]
    details = None if cut == BY else metric.dimensions[Grouping(cut)]
    name = literal(cut).label("cut")
    statements = []
    for index, part in enumerate(parts):
        bucket, key = days.expression(part.moment), _key(keys[index])
        detail = literal("") if details is None else _key(details[index])
        conditions = part.where(period)
        additive = {name: measure for name, measure in part.measures.items()
                    if measure.additive}
        if additive:
            grouped = (part.select(bucket.label("i"), key.label("key"), detail.label("detail"),
                                   *[measure.sql(_dialect()).label(f"m{number}")
                                     for number, measure in enumerate(additive.values())])
                       .where(*conditions).group_by(bucket, key, detail).cte(f"g{index}"))
            statements.append(union_all(*[
                select(name, _day(grouped.c.i, first).label("day"), grouped.c.key,
                       grouped.c.detail, literal(measure).label("measure"),
                       literal(0).label("slot"), grouped.c[f"m{number}"].label("value"))
                .where(grouped.c[f"m{number}"] != 0)
                for number, measure in enumerate(additive)]))
        shared = histograms(part.measures)
        for histogram in dict.fromkeys(shared.values()):
            measure = part.measures[histogram]
            slot = _slot(measure.column)
            counted = (part.select(bucket.label("i"), key.label("key"), detail.label("detail"),
                                   slot.label("slot"), func.count().label("value"))
                       .where(*conditions, *measure.conditions)
                       .group_by(bucket, key, detail, slot).subquery(f"h{index}_{histogram}"))
            statements.append(select(name, _day(counted.c.i, first).label("day"),
                                     counted.c.key, counted.c.detail,
                                     literal(histogram).label("measure"), counted.c.slot,
                                     counted.c.value))
        for distinct, measure in part.measures.items():
            if measure.kind != "distinct":
                continue
            member = cast(measure.column, BigInteger)  # an id: the cell's slot
            members = (part.select(bucket.label("i"), key.label("key"), detail.label("detail"),
                                   member.label("slot"))
                       .where(*conditions, *measure.conditions)
                       .group_by(bucket, key, detail, member).subquery(f"d{index}_{distinct}"))
            statements.append(select(name, _day(members.c.i, first).label("day"),
                                     members.c.key, members.c.detail,
                                     literal(distinct).label("measure"), members.c.slot,
                                     literal(1).label("value")))
    return statements


def build(metric: Metric, first: date, last: date, *, now: datetime | None = None) -> None:
    """(Re)build the metric's cells of the local days first…last (in the rollup zone), and
    of the whole months among them, in the caller's transaction."""
    spec = metric.rollup
    zone = rollup_zone()
    if _dialect() == "postgresql":
        # One build of a report at a time (the job and `reports rollup` may overlap): the
        # second waits, then rebuilds over what the first committed.
        db.session.execute(select(func.pg_advisory_xact_lock(
            func.hashtext("report_rollup:" + spec.name))))
    db.session.execute(delete(RollupCell).where(
        RollupCell.report == spec.name, RollupCell.span == DAY, RollupCell.day >= first,
        RollupCell.day <= last))
    period = Slice(local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone))
    kept = _kinds(metric, period)
    tally = series.Tally(kept)
    for statement in cell_selects(metric, period, zone):
        for row in db.session.execute(_as_series(statement)):
            key = (row.cut, _as_date(row.day), row.key, row.detail)
            for slot, value in zip(_listed(row.slots), _listed(row.values_), strict=True):
                tally.add(key, row.measure, slot, value)
    # Every row of the report, whatever its group; not the members of a distinct count,
    # which are read from their groups' cells (a member mostly belongs to one group).
    for (cut, day, _, _), measure, numbers in list(tally.items()):
        if cut == BY and kept[measure] != series.MEMBERS:
            tally.merge((TOTAL, day, "", ""), measure, numbers)
    _insert(spec.name, DAY, tally)
    db.session.execute(delete(RollupDay).where(
        RollupDay.report == spec.name, RollupDay.day >= first, RollupDay.day <= last))
    built_at = now or utcnow()
    days = (last - first).days + 1
    db.session.execute(insert(RollupDay), [
        {"report": spec.name, "day": first + timedelta(days=offset), "zone": zone.key,
         "built_at": built_at} for offset in range(days)])
    month = first.replace(day=1)
    while month <= last:
        _build_month(spec.name, kept, month, zone)
        month = _next_month(month)


def _as_series(statement: Any) -> Any:
    """SQL: a cell statement's rows gathered by series, their slots and values as arrays
    (JSON on SQLite): a series crosses to Python as one row, not one per bucket."""
    cells = statement.subquery("c")
    if _dialect() == "postgresql":
        slots, values = func.array_agg(cells.c.slot), func.array_agg(cells.c.value)
    else:
        slots, values = func.json_group_array(cells.c.slot), func.json_group_array(cells.c.value)
    series_of = (cells.c.cut, cells.c.day, cells.c.key, cells.c.detail, cells.c.measure)
    return select(*series_of, slots.label("slots"), values.label("values_")).group_by(*series_of)


def _listed(values: Any) -> list:
    return json.loads(values) if isinstance(values, str) else values


def _kinds(metric: Metric, period: Slice) -> dict[str, str]:
    """Measure → how the metric's cells keep it (series.kinds)."""
    measures = {name: measure for part in metric.parts(period)
                for name, measure in part.measures.items()}
    return series.kinds(measures, histograms(measures))


def _insert(report: str, span: str, tally: series.Tally) -> None:
    rows = [{"report": report, "span": span, "cut": cut, "day": day, "key": key,
             "detail": detail, "measure": measure, **series.encode(tally.kinds[measure], kept)}
            for (cut, day, key, detail), measure, kept in tally.items()]
    if rows:
        db.session.execute(insert(RollupCell), rows)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _build_month(name: str, kept: dict[str, str], month: date, zone: ZoneInfo) -> None:
    """The month's cells: its day cells added up, once every day of it is built."""
    end = _next_month(month) - timedelta(days=1)
    cell = RollupCell
    db.session.execute(delete(cell).where(cell.report == name, cell.span == MONTH,
                                          cell.day == month))
    built = db.session.scalar(select(func.count()).select_from(RollupDay).where(
        RollupDay.report == name, RollupDay.zone == zone.key, RollupDay.day >= month,
        RollupDay.day <= end))
    if built != (end - month).days + 1:
        return
    tally = series.Tally(kept)
    for row in db.session.execute(
            select(cell.cut, cell.key, cell.detail, cell.measure, cell.value, cell.payload)
            .where(cell.report == name, cell.span == DAY, cell.day >= month, cell.day <= end)):
        if row.measure in kept:  # a measure the report no longer has is left out
            tally.merge((row.cut, month, row.key, row.detail), row.measure,
                        series.decode(kept[row.measure], row.value, row.payload))
    _insert(name, MONTH, tally)


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs of at most CHUNK_DAYS."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + timedelta(days=1) \
                and (day - runs[-1][0]).days < CHUNK_DAYS:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def stale_days(metric: Metric, now: datetime, *, everything: bool = False) -> list[date]:
    """The days before today the metric's cells should be (re)built now: the last
    RECENT_DAYS, then (oldest first, at most DAYS_PER_RUN) those never built, built in
    another zone or over REBUILD_AFTER ago, within HORIZON_DAYS; every day if
    `everything`."""
    zone = rollup_zone()
    today = now.astimezone(zone).date()
    horizon = [today - timedelta(days=offset) for offset in range(HORIZON_DAYS, 0, -1)]
    if everything:
        return horizon
    recent = horizon[-RECENT_DAYS:]
    fresh = set(db.session.scalars(select(RollupDay.day).where(
        RollupDay.report == metric.rollup.name, RollupDay.day >= horizon[0],
        RollupDay.zone == zone.key, RollupDay.built_at > now - REBUILD_AFTER)))
    older = [day for day in horizon[:-RECENT_DAYS] if day not in fresh][:DAYS_PER_RUN]
    return older + recent


def refresh(metrics: Iterable[Metric], now: datetime, *, everything: bool = False) -> int:
    """Rebuild the stale days of each metric, one transaction per run of days, and drop
    the cells of days past the horizon; the number of days built."""
    built = 0
    horizon = now.astimezone(rollup_zone()).date() - timedelta(days=HORIZON_DAYS)
    for metric in metrics:
        for first, last in _runs(stale_days(metric, now, everything=everything)):
            try:
                build(metric, first, last, now=now)
                db.session.commit()
            except Exception:
                db.session.rollback()  # the next run builds these days again
                raise
            built += (last - first).days + 1
        name = metric.rollup.name
        if db.session.scalar(select(RollupDay.day).where(
                RollupDay.report == name, RollupDay.day < horizon).limit(1)) is not None:
            for model in (RollupCell, RollupDay):
                db.session.execute(delete(model).where(model.report == name,
                                                       model.day < horizon))
            db.session.commit()
    if built > RECENT_DAYS and _dialect() == "postgresql":
        # Many new cells: plan the reads with their statistics, not autovacuum's later ones.
        db.session.execute(text("ANALYZE report_rollup_cells"))
        db.session.commit()
    return built


def ages(now: datetime) -> dict[str, float]:
    """Report → seconds since its cells were last built: every run rebuilds some, so a
    growing age means the job has stopped. Reports never built are left out."""
    rows = db.session.execute(select(RollupDay.report, func.max(RollupDay.built_at))
                              .group_by(RollupDay.report))
    return {report: max(0.0, (now - built_at).total_seconds()) for report, built_at in rows}


# ---------------------------------------------------------------- answering from cells

@dataclass(frozen=True)
class _Cells:
    """Which cells a request reads: one cut, some of its `by` groups and detail values,
    and the column it is grouped by."""

    cut: str  # TOTAL, BY or a detail's name
    keys: tuple[str, ...] | None  # the `by` groups counted (None: every one)
    detail: str | None  # the one detail value counted (None: every one)
    group: str | None  # "key" or "detail": the column grouped by (None: time or nothing)


@dataclass(frozen=True)
class _Plan:
    """How a request is answered: cells of days first…last, and live before and after."""

    first: date
    last: date
    head: Slice | None  # counted live: from the period's start to the first whole day
    tail: Slice | None  # counted live: from after the last built day to the period's end
    cells: _Cells


def _plan(metric: Metric, period: Slice, by_time: Buckets | None,
          group_by: Grouping | None) -> _Plan | None:
    spec = metric.rollup
    if spec is None or not current_app.config["REPORT_ROLLUPS"] \
            or not rolls_up(metric.parts(period)):
        return None
    zone = rollup_zone()
    if by_time is not None and getattr(by_time.zone, "key", None) != zone.key:
        return None
    cells = _cells(spec, period, group_by)
    if cells is None:
        return None
    start_day = period.start.astimezone(zone).date()
    first = start_day if local_midnight(start_day, zone) == period.start \
        else start_day + timedelta(days=1)
    end_day = period.end.astimezone(zone).date()  # the day the period ends in (or at)
    if end_day <= first:
        return None
    now = utcnow()
    if first < now.astimezone(zone).date() - timedelta(days=HORIZON_DAYS):
        return None  # days the job no longer keeps
    built = sorted(db.session.scalars(select(RollupDay.day).where(
        RollupDay.report == spec.name, RollupDay.zone == zone.key,
        RollupDay.built_at > now - MAX_AGE, RollupDay.day >= first, RollupDay.day < end_day)))
    if not built or built[0] != first or (built[-1] - first).days + 1 != len(built):
        return None
    last = built[-1]
    head_end, tail_start = local_midnight(first, zone), local_midnight(last + timedelta(days=1),
                                                                       zone)
    if (head_end - period.start) + (period.end - tail_start) > MAX_LIVE:
        return None
    head = replace(period, end=head_end) if head_end > period.start else None
    tail = replace(period, start=tail_start) if period.end > tail_start else None
    return _Plan(first, last, head, tail, cells)


def _cells(spec: Rollup, period: Slice, group_by: Grouping | None) -> _Cells | None:
    """The cells that hold the slice's rows grouped by `group_by`; None when the slice is
    filtered or grouped in a way no cut follows (more than one detail, one not kept)."""
    filters = period.filters
    keys: set[str] | None = None
    if spec.company_wide:
        if filters:
            return None
    elif period.team_ids is not None:
        if spec.by is not Grouping.TEAM or not spec.scoped:
            return None  # a lead's scope is not a set of `by` groups
        keys = {str(team) for team in period.team_ids} | ({""} if spec.teamless else set())
    if spec.by.value in filters:  # a filter on the rollup dimension: one group
        value = _text(filters.pop(spec.by.value))
        keys = {value} & keys if keys is not None else {value}
    details = {Grouping(name) for name in filters}
    if group_by is not None and group_by is not spec.by:
        details.add(group_by)
    if len(details) > 1 or not details <= set(spec.details):
        return None
    group = "key" if group_by is spec.by else "detail" if group_by is not None else None
    keys_counted = None if keys is None else tuple(sorted(keys))
    if details:
        (detail,) = details
        value = filters.get(detail.value)
        return _Cells(detail.value, keys_counted, None if value is None else _text(value), group)
    return _Cells(BY if keys is not None or group else TOTAL, keys_counted, None, group)


def answer(metric: Metric, period: Slice, *, by_time: Buckets | None = None,
           group_by: Grouping | None = None, top: int | None = None,
           only: Sequence[Any] | None = None, memo: dict | None = None,
           ) -> dict[tuple, dict[str, Any]] | None:
    """The metric's rows as query.aggregate returns them, from the cells (and the live
    remainder); None when the cells cannot answer (the caller counts live). Calls sharing
    a `memo` (one report's total, breakdown and previous period) count the live remainder
    once."""
    memo = {} if memo is None else memo
    if by_time is None and group_by is None and ("total", period) in memo:
        return memo["total", period]  # counted with the period's time buckets
    plan = _plan(metric, period, by_time, group_by)
    if plan is None:
        return None
    chosen = plan.cells
    zone = rollup_zone()
    cells: dict[tuple, dict[str, dict[int, float]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(float)))
    wanted = None if only is None else {_text(key) for key in only}

    starts = [date.fromisoformat(each) for each in by_time.keys] if by_time else []

    def group_of(day: date, key: str, detail: str) -> tuple | None:
        if chosen.keys is not None and key not in chosen.keys:
            return None
        if chosen.detail is not None and detail != chosen.detail:
            return None
        if chosen.group is not None:
            value = key if chosen.group == "key" else detail
            return None if wanted is not None and value not in wanted else (value,)
        if by_time is not None:
            return (bisect.bisect_right(starts, day) - 1,)
        return ()

    measures = {name: measure for part in metric.parts(period)
                for name, measure in part.measures.items()}
    shared = histograms(measures)
    kept = series.kinds(measures, shared)
    members = [name for name, kind in kept.items() if kind == series.MEMBERS]
    cells_of = _CellQuery(metric.rollup, plan, by_time, kept)
    live_cells = [row for live in (plan.head, plan.tail) if live is not None
                  for row in _live_cells(metric, live, zone, cells_of.read_from, memo)]
    if chosen.group is not None and top is not None and only is None:
        # Read the histograms and members of the `top` groups only (they dominate the
        # cost of a breakdown by agent or product), once their first count ranks them.
        wanted = _top_groups(measures, cells_of, live_cells, group_of, group_by, top)
    found: dict[tuple, set[int]] = defaultdict(set)  # (group, measure) → members
    for group, measure, numbers in cells_of.read(wanted):
        if kept[measure] == series.MEMBERS:
            found[group, measure].update(numbers)
        elif kept[measure] == series.HISTOGRAM:
            histogram = cells[group][measure]
            for slot, count in numbers.items():
                histogram[slot] += count
        else:
            cells[group][measure][0] += numbers
    for day, key, detail, measure, slot, value in live_cells:
        group = group_of(day, key, detail)
        if group is None:
            continue
        if measure in members:
            found[group, measure].add(slot)
        else:
            cells[group][measure][slot] += value
    # Distinct counts: each member once per group; with time buckets, also once over the
    # whole period (the report's total).
    distinct = {key: len(ids) for key, ids in found.items()}
    for group, measure in distinct:
        cells[group][measure][0] += 0  # the group exists
    if by_time is not None and chosen.group is None:
        everyone: dict[str, set[int]] = defaultdict(set)
        for (_, measure), ids in found.items():
            everyone[measure] |= ids
        distinct_total = {measure: len(ids) for measure, ids in everyone.items()}
        whole: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for values in cells.values():
            for measure, slots in values.items():
                for slot, value in slots.items():
                    whole[measure][slot] += value
        memo["total", period] = {(): _numbers(measures, shared, whole, {
            name: distinct_total.get(name, 0) for name in members})}
    rows = {_typed(group, group_by): _numbers(measures, shared, values, {
        name: distinct.get((group, name), 0) for name in members})
        for group, values in cells.items()}
    rows = {key: values for key, values in rows.items()
            if not key or any(value for value in values.values())}
    if group_by is not None:
        first = next(iter(measures))
        ordered = sorted(rows.items(), key=lambda item: (-(item[1].get(first) or 0),
                                                         item[0][0] is None, item[0][0] or 0))
        rows = dict(ordered[:top] if top is not None and only is None else ordered)
    return rows


def _top_groups(measures: dict[str, Any], cells_of: _CellQuery, live_cells: list[tuple],
                group_of: Any, group_by: Grouping | None, top: int) -> set[str] | None:
    """The keys of the `top` groups by the metric's first measure (the order of the
    breakdown), when it is a count or a sum and at least `top` groups have some; else None
    (every group is read)."""
    first = next(iter(measures))
    if not measures[first].additive:
        return None
    totals: dict[str, float] = defaultdict(float)
    for group, _, value in cells_of.added_up([first], None):
        totals[group[0]] += value
    for day, key, detail, measure, _, value in live_cells:
        group = group_of(day, key, detail)
        if group is not None and measure == first:
            totals[group[0]] += value
    counted = measures[first].kind == "count"  # ranked by the number shown: counts rounded
    ranked = [(key, number) for key, value in totals.items()
              if (number := round(value) if counted else value)]
    if len(ranked) < top:
        return None  # groups with none of the first measure may make up the breakdown

    def order(item: tuple[str, float]) -> tuple:
        (typed,) = _typed((item[0],), group_by)
        return -item[1], typed is None, typed or 0

    return {key for key, _ in sorted(ranked, key=order)[:top]}


def _live_cells(metric: Metric, live: Slice, zone: ZoneInfo, cut: str,
                memo: dict) -> list[tuple]:
    """The cells of a stretch the rollup does not cover, counted now in one cut for every
    group (the caller keeps its own), once per `memo`: a total and its breakdown share
    them."""
    key = (metric.rollup.name, live.start, live.end, cut)
    if key not in memo:
        memo[key] = [(_as_date(row.day), row.key, row.detail, row.measure, row.slot,
                      float(row.value))
                     for statement in cell_selects(metric, Slice(live.start, live.end), zone,
                                                   [cut])
                     for row in db.session.execute(statement)]
    return memo[key]


class _CellQuery:
    """SQL over the stored cells of a plan: its days (whole months from their month
    cells), its cut, groups and detail, grouped as the request is. Members of distinct
    counts are read per group (the "by" cut, when the plan reads the total)."""

    def __init__(self, spec: Rollup, plan: _Plan, by_time: Buckets | None,
                 kept: dict[str, str]) -> None:
        cell = RollupCell
        chosen = plan.cells
        self.kinds = kept
        self.group: list[Any] = []
        if chosen.group is not None:
            self.group = [cell.key if chosen.group == "key" else cell.detail]
        elif by_time is not None:
            self.group = [_bucket_of_day(cell.day, by_time)]
        spans = [and_(cell.span == DAY, cell.day >= plan.first, cell.day <= plan.last)]
        months = _whole_months(plan.first, plan.last)
        if months and (by_time is None or by_time.grouping is Grouping.MONTH):
            # Whole months from their month cells (a twentieth of the rows), the days around.
            (first_month, last_month), after = months, _next_month(months[1])
            days = [(plan.first, first_month - timedelta(days=1)), (after, plan.last)]
            spans = [and_(cell.span == MONTH, cell.day >= first_month,
                          cell.day <= last_month),
                     *[and_(cell.span == DAY, cell.day >= start, cell.day <= end)
                       for start, end in days if start <= end]]
        self.cut = chosen.cut
        self.read_from = BY if chosen.cut == TOTAL else chosen.cut  # where members are
        self.conditions = [cell.report == spec.name, or_(*spans)]
        if chosen.keys is not None:
            self.conditions.append(cell.key.in_(chosen.keys))
        if chosen.detail is not None:
            self.conditions.append(cell.detail == chosen.detail)

    def _wanted(self, wanted: set[str] | None) -> list[Any]:
        return [] if wanted is None else [self.group[0].in_(wanted)]

    def _rows(self, query: Any) -> list[tuple]:
        width = len(self.group)
        return [(tuple(row[:width]), *row[width:]) for row in db.session.execute(query)]

    def added_up(self, measures: Sequence[str], wanted: set[str] | None) -> list[tuple]:
        """(group, measure, total) of these counts and sums (`wanted`: only these
        groups)."""
        cell = RollupCell
        return self._rows(select(*self.group, cell.measure, func.sum(cell.value))
                          .where(*self.conditions, *self._wanted(wanted), cell.cut == self.cut,
                                 cell.measure.in_(measures))
                          .group_by(*self.group, cell.measure))

    def read(self, wanted: set[str] | None) -> list[tuple]:
        """(group, measure, what is kept) of every stored measure: counts and sums added
        up by the database, each histogram and each set of members as stored."""
        cell = RollupCell
        by_kind = defaultdict(list)
        for measure, kind in self.kinds.items():
            by_kind[kind].append(measure)
        rows = self.added_up(by_kind[series.VALUE], wanted) if by_kind[series.VALUE] else []
        for kind, cut in ((series.HISTOGRAM, self.cut), (series.MEMBERS, self.read_from)):
            if not by_kind[kind]:
                continue
            # One statement per cut: an OR of cuts and measures makes PostgreSQL scan the
            # whole table instead of the primary key's range.
            rows += [(group, measure, series.decode(kind, None, payload))
                     for group, measure, payload in self._rows(
                         select(*self.group, cell.measure, cell.payload)
                         .where(*self.conditions, *self._wanted(wanted), cell.cut == cut,
                                cell.measure.in_(by_kind[kind])))]
        return rows


def _whole_months(first: date, last: date) -> tuple[date, date] | None:
    """The 1sts of the first and last whole months within first…last (None: none)."""
    start = first if first.day == 1 else _next_month(first)
    end = start
    if _next_month(start) - timedelta(days=1) > last:
        return None
    while _next_month(_next_month(end)) - timedelta(days=1) <= last:
        end = _next_month(end)
    return start, end


def _bucket_of_day(day: Any, by_time: Buckets) -> Any:
    """SQL: the index of the time bucket a local date falls in."""
    starts = [date.fromisoformat(key) for key in by_time.keys[1:]]
    if not starts:
        return literal(0)
    if _dialect() == "postgresql":
        return func.width_bucket(day, cast(postgresql.array(starts), ARRAY(Date)))
    return func.loopdesk_bucket(day, json.dumps([start.isoformat() for start in starts]))


def _numbers(measures: dict[str, Any], shared: dict[str, str],
             values: dict[str, dict[int, float]], distinct: dict[str, int]) -> dict[str, Any]:
    """Measure → value of one group: counts and sums as SQL gives them, percentiles read
    off their histograms, distinct counts as given."""
    numbers: dict[str, Any] = {}
    for name, measure in measures.items():
        if measure.is_percentile:
            numbers[name] = percentile_of(values.get(shared[name], {}), measure.fraction)
            continue
        if measure.kind == "distinct":
            numbers[name] = distinct[name]
            continue
        total = values.get(name, {}).get(0)
        if total is None:
            numbers[name] = 0 if measure.kind == "count" else None
        else:
            numbers[name] = int(round(total)) if measure.kind == "count" else total
    return numbers


def percentile_of(histogram: dict[int, float], fraction: float) -> float | None:
    """percentile_cont of the values a histogram holds, each read as its bucket's
    representative value (None when it holds none)."""
    slots = sorted((slot, count) for slot, count in histogram.items() if count > 0)
    total = sum(count for _, count in slots)
    if not total:
        return None
    position = fraction * (total - 1)
    lower = math.floor(position)

    def value_at(rank: int) -> float:
        seen = 0.0
        for slot, count in slots:
            seen += count
            if rank < seen:
                return representative(slot)
        return representative(slots[-1][0])

    low = value_at(lower)
    high = value_at(lower + 1) if lower + 1 < total else low
    return low + (position - lower) * (high - low)


def _typed(group: tuple, by: Grouping | None) -> tuple:
    """A group key as the live count gives it: an id as int, "" (no group) as None."""
    if by is None or not group:
        return group
    key = group[0]
    if key == "":
        return (None,)
    return (int(key),) if by in _ID_GROUPINGS else (key,)


def _text(key: Any) -> str:
    return "" if key is None else str(getattr(key, "value", key))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
