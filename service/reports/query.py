"""What every report shares: the slice it counts, its groupings, its time buckets, its
measures (counts, sums, percentiles that remember which rows they count), and one helper
that runs grouped SQL aggregates on SQLite and PostgreSQL alike.

Time buckets are cut in a display zone (the TIMEZONE setting, the reader's zone, or one
given): a day runs from local midnight to the next local midnight, a week from Monday
00:00 local time, a month from the 1st at 00:00 local time. The bounds are computed with
zoneinfo and handed to SQL as UTC instants in one CASE expression, so a day on which the
clocks change is 23 or 25 hours long, exactly as the reader lives it, on SQLite and
PostgreSQL alike. The first and last buckets are cut to the period.
"""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import (ARRAY, DateTime, Float, Integer, Select, and_, case, cast, false, func,
                        literal, or_, select)
from sqlalchemy.dialects import postgresql

from flask_babel import gettext as _

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
    CHANNEL = "channel"
    PRIORITY = "priority"
    CATEGORY = "category"
    TIER = "tier"
    DEPARTMENT = "department"  # the department a cross-department task was asked of
    BREACHED = "breached"  # whether the ticket breached an SLA target
    REOPENS = "reopens"  # how often the ticket was reopened: 0, 1, 2 (2 or more)
    DEPARTMENTS = "departments"  # how many departments worked on the ticket: 0…3 (3+)


TIME_GROUPINGS = (Grouping.DAY, Grouping.WEEK, Grouping.MONTH)


# The filters a Slice may carry, in the order reports list them.
FILTERS = ("team", "agent", "channel", "priority", "category", "product", "tier", "account",
           "department")


@dataclass(frozen=True)
class Slice:
    """What a report counts: the period [start, end), the caller's teams, and filters.

    `team_ids` is the caller's scope (None: every row; a tuple: rows of those teams and
    rows of no team). The FILTERS (team, agent, channel, …) narrow it further.
    """

    start: datetime
    end: datetime
    team_ids: tuple[int, ...] | None = None
    team: int | None = None
    agent: int | None = None
    product: str | None = None
    account: int | None = None
    channel: str | None = None
    priority: str | None = None
    category: str | None = None
    tier: str | None = None
    department: int | None = None

    @property
    def filters(self) -> dict[str, Any]:
        """The filters set on this slice, by name."""
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name) is not None}

    def previous(self) -> Slice:
        """The same slice over the period of the same length just before this one."""
        length = self.end - self.start
        return replace(self, start=self.start - length, end=self.start)

    def conditions(self, columns: Mapping[str, Any], *, teamless: bool = True) -> list:
        """SQL conditions on a table whose dimension columns are given by name (the
        FILTERS: "team", "agent", "product", …); a filter on a missing one matches none.

        `teamless`: whether a lead's scope takes in the rows of no team (answers that
        belong to the company, like relationship NPS) or not (tickets: as on the
        dashboard, a ticket no team holds is the admins' to see)."""
        result = []
        team = columns.get("team")
        if self.team_ids is not None:
            # A team filter below narrows the scope to one team.
            if team is None:
                result.append(false())
            elif teamless:
                result.append(or_(team.in_(self.team_ids), team.is_(None)))
            else:
                result.append(team.in_(self.team_ids) if self.team_ids else false())
        for name in FILTERS:
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
        # SQLite: a Python function (service.extensions) bisects the stored text.
        stored = [bound.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") for bound in starts]
        return func.loopdesk_bucket(column, json.dumps(stored))


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
            raise InvalidInput(errors={"group_by": [_(
                "Too many %(grouping)s buckets (at most %(most)d): choose a shorter period "
                "or a longer bucket.", grouping=grouping.value, most=MAX_BUCKETS)]})
        day = _next_start(day, grouping)
    bounds.append(end)
    return Buckets(grouping, zone, tuple(bounds), tuple(keys))


@dataclass(frozen=True)
class Measure:
    """An SQL aggregate that remembers the rows it counts, so that a number can be drilled
    into: COUNT(*), SUM(column) or percentile_cont(fraction) of `column`, each FILTERed
    by `conditions` (on top of its part's conditions)."""

    kind: str  # "count", "distinct", "sum" or "percentile"
    column: Any = None
    conditions: tuple = ()
    fraction: float | None = None

    @property
    def is_percentile(self) -> bool:
        return self.kind == "percentile"

    @property
    def additive(self) -> bool:
        """Whether time buckets' values add up to the total's (counts and sums do;
        percentiles and distinct counts do not)."""
        return self.kind in ("count", "sum")

    def __clause_element__(self) -> Any:
        """The aggregate as SQL (counts and sums; percentiles need the dialect: sql())."""
        if self.is_percentile:
            raise TypeError("a percentile needs the dialect: use Measure.sql(dialect)")
        return self.sql("")

    def sql(self, dialect: str) -> Any:
        """The aggregate in the given dialect's SQL (percentiles: PostgreSQL only)."""
        if self.kind == "count":
            aggregate = func.count()
        elif self.kind == "distinct":
            aggregate = func.count(func.distinct(self.column))
        elif self.kind == "sum":
            aggregate = func.sum(self.column)
        else:
            aggregate = func.percentile_cont(self.fraction).within_group(self.column)
        return aggregate.filter(and_(*self.conditions)) if self.conditions else aggregate

    def label(self, name: str) -> Any:
        return self.__clause_element__().label(name)

    def desc(self) -> Any:
        return self.__clause_element__().desc()


def count_if(*conditions) -> Measure:
    """COUNT(*) FILTER (WHERE …) of the rows meeting every condition."""
    return Measure("count", conditions=conditions)


def count_distinct(column, *conditions) -> Measure:
    """COUNT(DISTINCT column) FILTER (WHERE …), NULLs not counted (e.g. active accounts)."""
    return Measure("distinct", column, (*conditions, column.is_not(None)))


def sum_if(column, *conditions) -> Measure:
    """SUM(column) FILTER (WHERE …)."""
    return Measure("sum", column, conditions)


def percentile(column, fraction: float, *conditions) -> Measure:
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY column) FILTER (WHERE …), linearly
    interpolated like PostgreSQL's on every database (rows where `column` is NULL are
    left out)."""
    if not 0 <= fraction <= 1:
        raise ValueError("a percentile's fraction lies in [0, 1]")
    return Measure("percentile", column, (*conditions, column.is_not(None)), fraction)


@dataclass
class Part:
    """Aggregates counted by one moment column: e.g. follow-ups opened (by created_at).

    `moment` None: the part is a snapshot (its conditions place it in time, e.g. tickets
    open at the period's end), never cut into time buckets. `select_from` names the
    tables (joins) when the columns span more than one; `ticket` is the column holding
    each row's ticket id, which drill-down lists.
    """

    moment: Any  # the column that places a row in the period and in a bucket
    measures: dict[str, Any]  # name → Measure (or any SQL aggregate)
    conditions: list = field(default_factory=list)  # conditions of this table
    select_from: Any = None
    ticket: Any = None

    def where(self, period: Slice) -> list:
        """The conditions of this part's rows in the period."""
        window = [] if self.moment is None else [self.moment >= period.start,
                                                  self.moment < period.end]
        return [*window, *self.conditions]

    def select(self, *columns) -> Select:
        query = select(*columns)
        return query.select_from(self.select_from) if self.select_from is not None else query


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def aggregate(parts: Sequence[Part], period: Slice, *, groups: Sequence[Any] = (),
              by_time: Buckets | None = None, top: int | None = None,
              only: Sequence[Any] | None = None) -> dict[tuple, dict[str, Any]]:
    """Run each part's aggregates over the period, grouped by `groups` (SQL expressions,
    one per part, in part order) or by the buckets; key tuple → measure → value.

    With `top`, the first part's groups are the `top` ones with the most rows (its first
    measure), and the other parts are counted for those groups only (when the first part
    has fewer groups than `top`, the others may add theirs, up to `top` in all). With
    `only`, just the groups of those keys are counted (the previous period of a breakdown).
    Percentiles are one ordered-set aggregate on PostgreSQL and a window-function query
    per percentile elsewhere (SQLite has no percentile_cont).
    """
    merged: dict[tuple, dict[str, Any]] = {}
    allowed: list | None = list(only) if only is not None else None
    dialect = _dialect()
    for index, part in enumerate(parts):
        keys = []
        if by_time is not None:
            if part.moment is None:
                raise InvalidInput(errors={"group_by": [_(
                    "This report is a snapshot: it cannot be cut into days, weeks or months.")]})
            keys.append(by_time.expression(part.moment))
        if groups:
            keys.append(groups[index])
        conditions = part.where(period)
        if allowed is not None and groups:
            conditions.append(_in(groups[index], allowed))
        plain = {name: value for name, value in part.measures.items()
                 if not getattr(value, "is_percentile", False)}
        ranked = {name: value for name, value in part.measures.items() if name not in plain}
        arrays: dict[str, list[str]] = {}  # label → the percentile measures it holds
        if dialect == "postgresql" or not ranked:
            plain, arrays = _postgresql_measures(part.measures, dialect)
            ranked = {}
        labelled = [key.label(f"k{number}") for number, key in enumerate(keys)]
        rows = []
        if plain:
            query = part.select(*labelled, *[value.label(name) for name, value in plain.items()]
                                ).where(*conditions)
            if labelled:
                query = query.group_by(*keys)
            if top is not None and groups and index == 0 and only is None:
                first = next(iter(plain.values()))
                # Ties: groups in key order, no group last (as on every database).
                query = query.order_by(first.desc(), *[key.asc().nulls_last() for key in keys]
                                       ).limit(top)
            rows = db.session.execute(query).all()
            for row in rows:
                key = tuple(row[: len(labelled)])
                values = merged.setdefault(key, {})
                values.update({name: row._mapping[name] for name in plain
                               if name not in arrays})
                for label, names in arrays.items():
                    found = row._mapping[label] or [None] * len(names)
                    values.update({name: None if value is None else float(value)
                                   for name, value in zip(names, found, strict=True)})
        for name, measure in ranked.items():
            for key, value in _window_percentile(part, measure, keys, conditions).items():
                merged.setdefault(key, {})[name] = value
        if index == 0 and top is not None and groups and only is None and len(rows) >= top:
            allowed = [row[len(labelled) - 1] for row in rows]
    if groups:
        # A group in which nothing was counted is not one (a flat part's prefilter reads
        # rows whose moments all fall outside the period).
        merged = {key: values for key, values in merged.items()
                  if any(value for value in values.values())}
    if top is not None and groups:
        # The other parts may have added groups the first part did not have.
        merged = dict(list(merged.items())[:top])
    return merged


def _postgresql_measures(measures: dict[str, Any], dialect: str
                         ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The measures as SQL, percentiles of the same values under the same conditions
    merged into one percentile_cont(ARRAY[…]) (one sort for a median and a p90); and which
    measures each merged label holds."""
    plain: dict[str, Any] = {}
    groups = percentile_groups(measures)
    for name, measure in measures.items():
        if name in groups:  # the first of its group: keeps the measures' order
            plain[f"pct{list(groups).index(name)}"] = None
        elif not getattr(measure, "is_percentile", False):
            plain[name] = _in_dialect(measure, dialect)
    arrays: dict[str, list[str]] = {}
    for number, members in enumerate(groups.values()):
        first = members[0][1]
        fractions = postgresql.array([measure.fraction for _, measure in members])
        aggregate = (func.percentile_cont(fractions, type_=ARRAY(Float))
                     .within_group(first.column).filter(and_(*first.conditions)))
        plain[f"pct{number}"] = aggregate
        arrays[f"pct{number}"] = [name for name, _ in members]
    return plain, arrays


def percentile_groups(measures: dict[str, Any]) -> dict[str, list[tuple[str, Measure]]]:
    """The percentile measures of the same values under the same conditions (a median and
    a p90 of one part), which one sort serves: first member's name → (name, measure)…"""
    groups: dict[tuple, list[tuple[str, Measure]]] = {}
    for name, measure in measures.items():
        if getattr(measure, "is_percentile", False):
            # The same column and condition objects: percentile() adds its own NOT NULL.
            key = (id(measure.column), tuple(map(id, measure.conditions[:-1])))
            groups.setdefault(key, []).append((name, measure))
    return {members[0][0]: members for members in groups.values()}


def _in_dialect(measure: Any, dialect: str) -> Any:
    """A Measure as the dialect's SQL; any other aggregate as it is."""
    return measure.sql(dialect) if isinstance(measure, Measure) else measure


def _window_percentile(part: Part, measure: Measure, keys: Sequence[Any],
                       conditions: Sequence[Any]) -> dict[tuple, float | None]:
    """percentile_cont with window functions, per group: rank the values, pick the two
    around p·(n−1) and interpolate between them, in one SQL statement."""
    names = [f"k{number}" for number in range(len(keys))]
    values = (part.select(*[key.label(name) for key, name in zip(keys, names, strict=True)],
                          measure.column.label("v"))
              .where(*conditions, *measure.conditions).subquery("pv"))
    partition = [values.c[name] for name in names]
    ranked = select(*partition, values.c.v,
                    (func.row_number().over(partition_by=partition or None,
                                            order_by=values.c.v) - 1).label("i"),
                    func.count().over(partition_by=partition or None).label("n")
                    ).subquery("pr")
    position = literal(measure.fraction) * (ranked.c.n - 1)
    lower = cast(position, Integer)  # position ≥ 0, so the cast is floor()
    low = func.max(case((ranked.c.i == lower, ranked.c.v)))
    high = func.max(case((ranked.c.i == lower + 1, ranked.c.v)))
    value = low + func.max(position - lower) * (func.coalesce(high, low) - low)
    group = [ranked.c[name] for name in names]
    query = select(*group, value.label("p"))
    if group:
        query = query.group_by(*group)
    return {tuple(row[: len(group)]): (None if row.p is None else float(row.p))
            for row in db.session.execute(query)}


def _in(column, values: Iterable[Any]):
    values = list(values)
    known = [value for value in values if value is not None]
    condition = column.in_(known) if known else false()
    if len(known) != len(values):
        condition = condition | column.is_(None)
    return condition


def drill(parts: Sequence[Part], measure: str, period: Slice, *,
          group: Any = None, key: Any = None, bucket: tuple[datetime, datetime] | None = None,
          ) -> Select:
    """SQL: the ids of the tickets behind one number: the rows of `measure` in the period,
    in one group (`group` = `key`; key None: rows of no group) or one time bucket."""
    for index, part in enumerate(parts):
        chosen = part.measures.get(measure)
        if chosen is None:
            continue
        if part.ticket is None:
            break
        conditions = [*part.where(period), *getattr(chosen, "conditions", ()),
                      part.ticket.is_not(None)]
        if group is not None:
            expression = group[index]
            # An enum column refuses a value it does not know (LookupError): not a group.
            known = getattr(expression.type, "enums", None)
            if key is not None and known is not None and key not in known:
                raise InvalidInput(errors={"key": [_("Not a key of this breakdown.")]})
            conditions.append(expression.is_(None) if key is None else expression == key)
        if bucket is not None:
            conditions += [part.moment >= bucket[0], part.moment < bucket[1]]
        # No DISTINCT: callers use it inside IN (…), which ignores repeats, and DISTINCT made
        # PostgreSQL read every ticket (bench/RESULTS.md).
        return part.select(part.ticket).where(*conditions)
    raise InvalidInput(errors={"measure": [_("This number has no tickets behind it to list.")]})
