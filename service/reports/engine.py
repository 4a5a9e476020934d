"""Runs a metric over a slice: its total, its groups (time buckets or a dimension), and
the same numbers for the period just before."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence
from zoneinfo import ZoneInfo

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from service.auth.models import User
from service.directory.models import Account, Team
from service.errors import InvalidInput
from service.extensions import db
from service.reports import rollup as rollups
from service.reports.query import (DEFAULT_TOP, TIME_GROUPINGS, Buckets, Grouping, Part, Slice,
                                   aggregate, buckets, drill)


@dataclass(frozen=True)
class Metric:
    """How to count one report: its SQL parts, its groupable dimensions, its numbers."""

    parts: Callable[[Slice], list[Part]]
    # Grouping → the SQL expression of that dimension, one per part (in part order).
    dimensions: dict[Grouping, Sequence[Any]]
    build: Callable[[dict[str, Any]], dict[str, Any]]
    # The same measures as one snapshot Part (moment None, each measure's own moment in
    # its conditions), for totals and breakdowns by dimension: one statement instead of
    # one per part. Time buckets still use `parts`.
    flat: Callable[[Slice], list[Part]] | None = None
    # Kept in daily cells (service.reports.rollup) that answer long periods; None: the
    # metric is always counted from its rows.
    rollup: rollups.Rollup | None = None

    def parts_for(self, period: Slice, by_time: bool = False) -> list[Part]:
        """The parts to count the period with: `flat` unless cut into time buckets."""
        return self.parts(period) if by_time or self.flat is None else self.flat(period)

    def additive(self, parts: Sequence[Part]) -> bool:
        """Whether the buckets' measures add up to the total (no percentile or distinct
        count among them)."""
        return all(getattr(measure, "additive", True)
                   for part in parts for measure in part.measures.values())

    def grouping_expressions(self, group_by: Grouping) -> Sequence[Any]:
        """The SQL expressions of a dimension, or InvalidInput naming the allowed ones."""
        expressions = self.dimensions.get(group_by)
        if expressions is None:
            allowed = ", ".join([each.value for each in TIME_GROUPINGS]
                                + [each.value for each in self.dimensions])
            raise InvalidInput(errors={"group_by": [
                _("Choose one of: %(allowed)s.", allowed=allowed)]})
        return expressions


def run(metric: Metric, period: Slice, group_by: Grouping | None = None, *,
        zone: ZoneInfo | None = None, top: int | None = DEFAULT_TOP,
        with_total: bool = True) -> dict[str, Any]:
    """{"total": numbers, "groups": [{"key", "label", numbers…}]} of a metric (see _run)."""
    result = _run(metric, period, group_by, zone=zone, top=top, with_total=with_total, memo={})
    for group in result["groups"]:
        group.pop("raw_key", None)
    return result


def _run(metric: Metric, period: Slice, group_by: Grouping | None = None, *,
         zone: ZoneInfo | None = None, top: int | None = DEFAULT_TOP,
         with_total: bool = True, memo: dict) -> dict[str, Any]:
    """{"total": numbers, "groups": [{"key", "label", numbers…}]} of a metric.

    Time groupings list every bucket of the period, empty ones with zero counts; dimension
    groupings list the `top` groups with the most rows, most first (key None: rows of no
    team, agent, product or account). `with_total=False` skips the total (None).
    """
    parts = metric.parts_for(period, by_time=group_by in TIME_GROUPINGS)
    result: dict[str, Any] = {"total": None, "groups": []}
    if group_by in TIME_GROUPINGS:
        if zone is None:
            raise ValueError("time buckets need a zone")
        cut = buckets(period.start, period.end, group_by, zone)
        rows = _count(metric, parts, period, by_time=cut, memo=memo)
        result["groups"] = [{"key": key, "label": key, **metric.build(rows.get((index,), {}))}
                            for index, key in enumerate(cut.keys)]
        if with_total and metric.additive(parts):  # counts and sums: the buckets add up
            result["total"] = metric.build(_added(rows.values()))
        elif with_total:
            result["total"] = metric.build(
                _count(metric, metric.parts_for(period), period, memo=memo).get((), {}))
        return result
    if with_total:
        result["total"] = metric.build(_count(metric, parts, period, memo=memo).get((), {}))
    if group_by is None:
        return result
    rows = _count(metric, parts, period, group_by=group_by, top=top, memo=memo)
    result["groups"] = _groups(group_by, rows, metric)
    return result


def run_with_previous(metric: Metric, period: Slice, group_by: Grouping | None = None, *,
                      zone: ZoneInfo | None = None, top: int | None = DEFAULT_TOP,
                      ) -> dict[str, Any]:
    """run(), plus "previous": the same total over the period of the same length just
    before, and for a breakdown by dimension each group's previous numbers (None when
    the group had no rows then). Time buckets get no previous numbers of their own."""
    memo: dict = {}  # the live remainder of the rollups, counted once per report
    result = _run(metric, period, group_by, zone=zone, top=top, memo=memo)
    before = period.previous()
    parts = metric.parts_for(before)
    total = _count(metric, parts, before, memo=memo).get((), {})
    result["previous"] = {"from": before.start, "to": before.end, "total": metric.build(total)}
    if group_by is not None and group_by not in TIME_GROUPINGS and result["groups"]:
        keys = [group["raw_key"] for group in result["groups"]]
        rows = _count(metric, parts, before, group_by=group_by, only=keys, memo=memo)
        for group in result["groups"]:
            values = rows.get((group["raw_key"],))
            group["previous"] = metric.build(values) if values is not None else None
    for group in result["groups"]:
        group.pop("raw_key", None)
    return result


def _count(metric: Metric, parts: list[Part], period: Slice, *, by_time: Buckets | None = None,
           group_by: Grouping | None = None, top: int | None = None,
           only: Sequence[Any] | None = None, memo: dict | None = None,
           ) -> dict[tuple, dict[str, Any]]:
    """query.aggregate's rows of the metric: from its daily cells when they can answer,
    else counted from its rows (`memo`: see rollup.answer)."""
    rows = rollups.answer(metric, period, by_time=by_time, group_by=group_by, top=top,
                          only=only, memo=memo)
    if rows is not None:
        return rows
    groups = metric.grouping_expressions(group_by) if group_by is not None else ()
    return aggregate(parts, period, groups=groups, by_time=by_time, top=top, only=only)


def tickets_behind(metric: Metric, period: Slice, measure: str, *,
                   group_by: Grouping | None = None, key: Any = None,
                   zone: ZoneInfo | None = None):
    """SQL: the ids of the tickets behind one of the metric's numbers (see query.drill);
    `key` is a dimension's key, or a time bucket's key (its local start date)."""
    parts = metric.parts(period)
    if group_by in TIME_GROUPINGS:
        if zone is None:
            raise ValueError("time buckets need a zone")
        cut = buckets(period.start, period.end, group_by, zone)
        if key not in cut.keys:
            raise InvalidInput(errors={"key": [_("Not one of this period's buckets.")]})
        index = cut.keys.index(key)
        return drill(parts, measure, period, bucket=(cut.bounds[index], cut.bounds[index + 1]))
    if group_by is None:
        return drill(parts, measure, period)
    return drill(parts, measure, period, group=metric.grouping_expressions(group_by), key=key)


def _groups(group_by: Grouping, rows: dict[tuple, dict[str, Any]],
            metric: Metric) -> list[dict[str, Any]]:
    keys = [key[0] for key in rows]
    labels = group_labels(group_by, keys)
    return [{"key": _plain(key[0]), "raw_key": key[0], "label": labels.get(key[0], ""),
             **metric.build(values)} for key, values in rows.items()]


def _added(groups: Any) -> dict[str, Any]:
    """The measures of several groups added up (a SQL sum over no rows stays None)."""
    total: dict[str, Any] = {}
    for values in groups:
        for name, value in values.items():
            if value is not None:
                total[name] = (total.get(name) or 0) + value
            else:
                total.setdefault(name, None)
    return total


def _plain(value: Any) -> Any:
    """An enum key as its value (sources), anything else as it is."""
    return getattr(value, "value", value)


def group_labels(group_by: Grouping, keys: Sequence[Any]) -> dict[Any, str]:
    """Names of the groups' keys: team, agent and account names (one query), the product
    or source itself; "" for None (the caller words "no team" in its own language)."""
    known = [key for key in keys if key is not None]
    if group_by in (Grouping.TEAM, Grouping.DEPARTMENT) and known:
        locale = get_locale()
        chinese = locale is not None and locale.language == "zh"
        return {row.id: (row.name_zh if chinese and row.name_zh else row.name)
                for row in db.session.execute(
                    select(Team.id, Team.name, Team.name_zh).where(Team.id.in_(known)))}
    if group_by is Grouping.AGENT and known:
        return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(known))).all())
    if group_by is Grouping.ACCOUNT and known:
        return dict(db.session.execute(
            select(Account.id, Account.name).where(Account.id.in_(known))).all())
    return {key: str(_plain(key)) for key in known}
