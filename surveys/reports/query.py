"""What every feedback report shares: the slice it counts, its groupings, its time buckets,
and one helper that runs grouped SQL aggregates.

Time buckets are cut in a display zone (the TIMEZONE setting, the reader's zone, or one
given): a day runs from local midnight to the next local midnight, a week from Monday
00:00 local time, a month from the 1st at 00:00 local time. The bounds are computed with
zoneinfo and handed to SQL as UTC instants in one CASE expression, so a day on which the
clocks change is 23 or 25 hours long, exactly as the reader lives it, on SQLite and
PostgreSQL alike. The first and last buckets are cut to the period.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import ARRAY, DateTime, and_, case, cast, false, func, literal, or_, select
from sqlalchemy.dialects import postgresql

from service.errors import InvalidInput
from service.extensions import db

MAX_BUCKETS = 400  # a longer trend is unreadable; refuse it rather than build a huge CASE
DEFAULT_TOP = 10


class Grouping(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    TEAM = "team"
    AGENT = "agent"
    PRODUCT = "product"
    ACCOUNT = "account"
    SOURCE = "source"


TIME_GROUPINGS = (Grouping.DAY, Grouping.WEEK, Grouping.MONTH)


@dataclass(frozen=True)
class Slice:
    """What a report counts: the period [start, end), the caller's teams, and filters.

    `team_ids` is the caller's scope (None: every row; a tuple: rows of those teams and
    rows of no team). team, agent, product and account narrow it further.
    """

    start: datetime
    end: datetime
    team_ids: tuple[int, ...] | None = None
    team: int | None = None
    agent: int | None = None
    product: str | None = None
    account: int | None = None

    def conditions(self, columns: Mapping[str, Any]) -> list:
        """SQL conditions on a table whose dimension columns are given by name
        ("team", "agent", "product", "account"); a filter on a missing one matches none."""
        result = []
        team = columns.get("team")
        if self.team_ids is not None:
            # A lead sees their teams' rows and the rows of no team (relationship NPS and
            # other answers that belong to the company, not to a team); a team filter
            # below narrows that to one team.
            result.append(or_(team.in_(self.team_ids), team.is_(None)) if team is not None
                          else false())
        for name in ("team", "agent", "product", "account"):
            value = getattr(self, name)
            if value is None:
                continue
            column = columns.get(name)
            result.append(column == value if column is not None else false())
        return result


@dataclass(frozen=True)
class Buckets:
    """The time buckets of a period: their UTC starts (and the period's end) and keys."""

    grouping: Grouping
    zone: ZoneInfo
    bounds: tuple[datetime, ...]  # starts of the buckets, then the period's end
    keys: tuple[str, ...]  # the local date each bucket starts on (ISO)

    def expression(self, column) -> Any:
        """SQL: the index of the bucket a moment of `column` (within the period) falls in."""
        if len(self.keys) == 1:
            return literal(0)
        starts = list(self.bounds[1:-1])  # where buckets 1… begin
        if db.session.get_bind().dialect.name == "postgresql":
            # One binary search per row instead of a CASE of up to 400 branches, which also
            # lets the planner estimate the groups (measured in bench/surveys.py: the
            # 12-month weekly report went from 192 to 103 ms).
            return func.width_bucket(column, cast(postgresql.array(starts),
                                                  ARRAY(DateTime(timezone=True))))
        return case(*[(column < bound, index) for index, bound in enumerate(starts)],
                    else_=len(self.keys) - 1)


def _next_start(day: date, grouping: Grouping) -> date:
    if grouping is Grouping.DAY:
        return day + timedelta(days=1)
    if grouping is Grouping.WEEK:
        return day + timedelta(days=7 - day.weekday())
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _bucket_of(day: date, grouping: Grouping) -> date:
    if grouping is Grouping.DAY:
        return day
    if grouping is Grouping.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant of 00:00 on `day` in `zone` (the first instant of a skipped hour)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def buckets(start: datetime, end: datetime, grouping: Grouping, zone: ZoneInfo) -> Buckets:
    """The day, week or month buckets of [start, end) in `zone` (see the module docstring)."""
    first = _bucket_of(start.astimezone(zone).date(), grouping)
    bounds, keys = [start], [first.isoformat()]
    day = _next_start(first, grouping)
    while (moment := local_midnight(day, zone)) < end:
        if moment > bounds[-1]:
            bounds.append(moment)
            keys.append(day.isoformat())
        if len(keys) > MAX_BUCKETS:
            raise InvalidInput(errors={"group_by": [
                f"Too many {grouping.value} buckets (at most {MAX_BUCKETS}): "
                "choose a shorter period or a longer bucket."]})
        day = _next_start(day, grouping)
    bounds.append(end)
    return Buckets(grouping, zone, tuple(bounds), tuple(keys))


@dataclass
class Part:
    """Aggregates counted by one moment column: e.g. follow-ups opened (by created_at)."""

    moment: Any  # the column that places a row in the period and in a bucket
    measures: dict[str, Any]  # name → SQL aggregate
    conditions: list = field(default_factory=list)  # conditions of this table


def aggregate(parts: Sequence[Part], period: Slice, *, groups: Sequence[Any] = (),
              by_time: Buckets | None = None, top: int | None = None,
              ) -> dict[tuple, dict[str, Any]]:
    """Run each part's aggregates over the period, grouped by `groups` (SQL expressions,
    one per part, in part order) or by the buckets; key tuple → measure → value.

    With `top`, the first part's groups are the `top` ones with the most rows (its first
    measure), and the other parts are counted for those groups only (when the first part
    has fewer groups than `top`, the others may add theirs, up to `top` in all).
    """
    merged: dict[tuple, dict[str, Any]] = {}
    allowed: list | None = None
    for index, part in enumerate(parts):
        keys = []
        if by_time is not None:
            keys.append(by_time.expression(part.moment))
        if groups:
            keys.append(groups[index])
        labelled = [key.label(f"k{number}") for number, key in enumerate(keys)]
        query = (select(*labelled, *[value.label(name) for name, value in part.measures.items()])
                 .where(part.moment >= period.start, part.moment < period.end,
                        *part.conditions))
        if labelled:
            query = query.group_by(*keys)
        if top is not None and groups:
            if index == 0:
                first = next(iter(part.measures.values()))
                query = query.order_by(first.desc(), *keys).limit(top)
            elif allowed is not None:
                query = query.where(_in(groups[index], allowed))
        rows = db.session.execute(query).all()
        for row in rows:
            key = tuple(row[: len(labelled)])
            values = merged.setdefault(key, {})
            values.update({name: row._mapping[name] for name in part.measures})
        if index == 0 and top is not None and groups and len(rows) >= top:
            allowed = [row[len(labelled) - 1] for row in rows]
    if top is not None and groups:
        # The other parts may have added groups the first part did not have.
        merged = dict(list(merged.items())[:top])
    return merged


def _in(column, values: Iterable[Any]):
    values = list(values)
    known = [value for value in values if value is not None]
    condition = column.in_(known) if known else false()
    if len(known) != len(values):
        condition = condition | column.is_(None)
    return condition


def count_if(*conditions) -> Any:
    """SQL COUNT(*) FILTER (WHERE …) of rows meeting every condition."""
    return func.count().filter(and_(*conditions)) if conditions else func.count()


def sum_if(column, *conditions) -> Any:
    """SQL SUM(column) FILTER (WHERE …)."""
    return func.sum(column).filter(and_(*conditions)) if conditions else func.sum(column)
