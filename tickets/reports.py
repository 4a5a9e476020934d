"""Reports on service for the leads' dashboard: backlog, SLA compliance, times, load, channels.

Every number is an SQL aggregate over the tickets of a `Scope` (a set of teams); no
function here loads ticket rows into Python. Percentiles use `percentile_cont` on
PostgreSQL and an equivalent window-function query elsewhere (SQLite), so both give the
same, linearly interpolated, answer.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, and_, case, cast, false, func, literal, or_, select, true
from sqlalchemy.dialects import postgresql

from service.auth.models import Availability, Role, User
from service.auth.permissions import Permission, can
from service.db_types import UTCDateTime
from service.directory.models import Team, team_members
from service.errors import InvalidInput
from service.extensions import db
from service.validation import is_id
from tickets.models import (OPEN_STATUSES, PRIORITY_ORDER, Channel, Priority, SlaBreach,
                            SlaTarget, Ticket)


class Period(enum.StrEnum):
    TODAY = "today"
    WEEK = "7d"
    MONTH = "30d"


PERIOD_DAYS = {Period.TODAY: 1, Period.WEEK: 7, Period.MONTH: 30}

# Open-ticket age buckets: (key, upper bound of the age; None = no bound).
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("lt_4h", timedelta(hours=4)), ("4h_24h", timedelta(hours=24)),
    ("1d_3d", timedelta(days=3)), ("3d_7d", timedelta(days=7)), ("gt_7d", None))

PERCENTILES = (0.5, 0.9)


def period_start(period: Period, now: datetime, zone: ZoneInfo) -> datetime:
    """The UTC start of a period: local midnight of its first day in `zone`.

    "today" starts at today's local midnight; "7d" and "30d" start at local midnight six
    and twenty-nine days before that, so they cover 7 and 30 calendar days ending now.
    """
    first_day = now.astimezone(zone).date() - timedelta(days=PERIOD_DAYS[period] - 1)
    return datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)


# ---------------------------------------------------------------------------- scope

@dataclass(frozen=True)
class Scope:
    """Which tickets a report counts: those of `team_ids`, or every ticket when None."""

    team_ids: tuple[int, ...] | None

    def tickets(self):
        """SQL condition on Ticket: the ticket belongs to the scope."""
        if self.team_ids is None:
            return true()
        return Ticket.team_id.in_(self.team_ids) if self.team_ids else false()

    def breaches(self):
        """SQL condition on SlaBreach: the team holding the ticket at the breach is in scope."""
        if self.team_ids is None:
            return true()
        return SlaBreach.team_id.in_(self.team_ids) if self.team_ids else false()

    def agents(self):
        """SQL condition on User: the user is a member of a team of the scope."""
        if self.team_ids is None:
            return true()
        if not self.team_ids:
            return false()
        return User.id.in_(select(team_members.c.user_id)
                           .where(team_members.c.team_id.in_(self.team_ids)))


def dashboard_teams(user: User) -> list[tuple[int, str, str | None]]:
    """(id, name, Chinese name) of the teams whose reports the user may see, by name.

    Admins: every team. Leads: the teams they lead or belong to. Anyone else: none.
    """
    query = select(Team.id, Team.name, Team.name_zh).order_by(Team.name)
    if not can(user, Permission.TICKET_VIEW_ALL):
        if user.role != Role.LEAD or not can(user, Permission.DASHBOARD):
            return []
        member_of = select(team_members.c.team_id).where(team_members.c.user_id == user.id)
        query = query.where(or_(Team.lead_id == user.id, Team.id.in_(member_of)))
    return [tuple(row) for row in db.session.execute(query)]


def scope_for(user: User, team_id: int | None,
              teams: list[tuple[int, str, str | None]] | None = None) -> Scope:
    """The scope of the user's dashboard, narrowed to `team_id` when given.

    Admins without a team see every ticket (those no team holds included); leads see
    their teams' tickets. A team outside the user's teams is refused (InvalidInput).
    """
    teams = dashboard_teams(user) if teams is None else teams
    allowed = tuple(team[0] for team in teams)
    if team_id is not None:
        if not is_id(team_id) or team_id not in allowed:
            raise InvalidInput(errors={"team": ["Choose one of your teams."]})
        return Scope((team_id,))
    if can(user, Permission.TICKET_VIEW_ALL):
        return Scope(None)
    return Scope(allowed)


# ---------------------------------------------------------------------------- backlog

def backlog(scope: Scope, now: datetime) -> dict[Priority, list[int]]:
    """Open tickets by priority, counted per age bucket (AGE_BUCKETS order), age from creation.

    A ticket exactly at a bound goes to the older bucket (4 h old is "4–24 h").
    """
    bucket = case(*[(Ticket.created_at > now - bound, index)
                    for index, (_, bound) in enumerate(AGE_BUCKETS) if bound is not None],
                  else_=len(AGE_BUCKETS) - 1)
    counts = {priority: [0] * len(AGE_BUCKETS) for priority in reversed(PRIORITY_ORDER)}
    rows = db.session.execute(
        select(Ticket.priority, bucket.label("bucket"), func.count())
        .where(Ticket.status.in_(OPEN_STATUSES), scope.tickets())
        .group_by(Ticket.priority, bucket))
    for priority, index, count in rows:
        counts[Priority(priority)][int(index)] = count
    return counts


# ---------------------------------------------------------------------------- SLA compliance

@dataclass(frozen=True)
class Compliance:
    """Targets met and breached in a period."""

    met: int
    breached: int

    @property
    def total(self) -> int:
        return self.met + self.breached

    @property
    def percent(self) -> float | None:
        """Percent met, or None when no target fell due in the period."""
        return 100.0 * self.met / self.total if self.total else None


def _target_columns(target: SlaTarget):
    """(met at, due at, breached at) columns of one target."""
    if target is SlaTarget.FIRST_RESPONSE:
        return (Ticket.first_responded_at, Ticket.first_response_due_at,
                Ticket.first_response_breached_at)
    return Ticket.resolved_at, Ticket.resolution_due_at, Ticket.resolution_breached_at


def _sla_moment_since(start: datetime):
    """SQL prefilter: a due time, the first response or the resolution is at or after start.

    On PostgreSQL it is written as GREATEST(...) so that one expression index on that
    GREATEST (ix_tickets_sla_latest, see the dashboard's report) serves every report
    here instead of a scan of all tickets; elsewhere as the equivalent OR.
    """
    columns = (Ticket.first_response_due_at, Ticket.resolution_due_at,
               Ticket.first_responded_at, Ticket.resolved_at)
    if db.session.get_bind().dialect.name == "postgresql":
        return func.greatest(*columns, type_=UTCDateTime) >= start
    return or_(*(column >= start for column in columns))


def _outcomes(target: SlaTarget, now: datetime):
    """SQL (met, met moment, breached, breach moment) of a target as of `now`."""
    done, due, breached_at = _target_columns(target)
    met = and_(done.is_not(None), due.is_not(None), breached_at.is_(None), done <= due)
    breached = and_(due.is_not(None), or_(
        breached_at.is_not(None),
        and_(done.is_not(None), done > due),
        # Still open past due; a paused clock's due time is moving, so it is not due yet.
        and_(done.is_(None), Ticket.sla_paused_at.is_(None), due <= now)))
    # Fell due at the due time; if the due time moved later after a recorded breach
    # (priority lowered), at the breach.
    breach_moment = case((and_(breached_at.is_not(None), breached_at < due), breached_at),
                         else_=due)
    return met, done, breached, breach_moment


def sla_compliance(scope: Scope, starts: Mapping[Period, datetime],
                   now: datetime) -> dict[SlaTarget, dict[Period, Compliance]]:
    """Per target and period: how many targets were met and how many breached.

    A ticket's target counts in a period when it was decided in it:
    - met: responded (first response) or resolved (resolution) at or before its due time,
      with no breach recorded; it counts at the moment it was met;
    - breached: a breach was recorded, or it was met after its due time, or the ticket is
      still unanswered / unresolved and its due time has passed (clock not paused); it
      counts at its due time (at the recorded breach if the due time later moved).
    Targets not yet due (or on a paused clock) and tickets without an SLA policy are left
    out. Periods run from `starts[period]` to `now`, both included.

    A target decided at or after a start has its due time at or after it (met means by the
    due time; a breach counts at its due time or before), so _sla_moment_since(start)
    keeps every ticket that can count.
    """
    columns, keys = _compliance_columns(starts, now)
    row = db.session.execute(select(*columns).where(
        scope.tickets(), _sla_moment_since(min(starts.values())))).one()
    return _compliance_result(row, keys)


def _compliance_columns(starts: Mapping[Period, datetime], now: datetime):
    """The count columns of sla_compliance (met, breached per target and period), and
    which (target, period) each pair of columns is."""
    columns = []
    keys = []
    for target in SlaTarget:
        met, met_at, breached, breach_at = _outcomes(target, now)
        for period, start in starts.items():
            # The cheap range test first: AND stops there for most rows.
            columns.append(func.count().filter(met_at >= start, met_at <= now, met))
            columns.append(func.count().filter(breach_at >= start, breach_at <= now, breached))
            keys.append((target, period))
    return columns, keys


def _compliance_result(row, keys) -> dict[SlaTarget, dict[Period, Compliance]]:
    result: dict[SlaTarget, dict[Period, Compliance]] = {target: {} for target in SlaTarget}
    for index, (target, period) in enumerate(keys):
        result[target][period] = Compliance(row[2 * index] or 0, row[2 * index + 1] or 0)
    return result


# ---------------------------------------------------------------------------- breaches

@dataclass(frozen=True)
class BreachRow:
    ticket_id: int
    subject: str
    target: SlaTarget
    priority: Priority
    due_at: datetime
    breached_at: datetime


def breaches(scope: Scope, start: datetime, now: datetime,
             limit: int = 10) -> tuple[int, list[BreachRow]]:
    """Breach records detected in [start, now]: their count and the latest `limit`.

    A breach counts for the team that held the ticket when it was breached (the record
    keeps it), so counting needs no join with the tickets.
    """
    window = and_(SlaBreach.breached_at >= start, SlaBreach.breached_at <= now,
                  scope.breaches())
    total = db.session.scalar(select(func.count()).select_from(SlaBreach).where(window))
    if not total:
        return 0, []
    rows = db.session.execute(
        select(SlaBreach.ticket_id, Ticket.subject, SlaBreach.target, SlaBreach.priority,
               SlaBreach.due_at, SlaBreach.breached_at)
        .join(Ticket, Ticket.id == SlaBreach.ticket_id).where(window)
        .order_by(SlaBreach.breached_at.desc(), SlaBreach.id.desc()).limit(limit))
    return total, [BreachRow(row.ticket_id, row.subject, SlaTarget(row.target),
                             Priority(row.priority), row.due_at, row.breached_at)
                   for row in rows]


# ---------------------------------------------------------------------------- response times

@dataclass(frozen=True)
class Durations:
    """How many tickets, and their median and 90th-percentile time in seconds."""

    count: int
    median: float | None
    p90: float | None


def _elapsed_seconds(later, earlier, dialect: str):
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def response_times(scope: Scope, start: datetime, now: datetime) -> dict[SlaTarget, Durations]:
    """Median and p90 calendar time from creation to first response / to resolution.

    First response: tickets first answered in [start, now]; resolution: tickets resolved
    (latest resolution, if reopened) in [start, now]. Percentiles interpolate linearly
    between the two nearest values (PostgreSQL's percentile_cont).
    """
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        row = db.session.execute(select(*_percentile_columns(start, now)).where(
            scope.tickets(), _sla_moment_since(start))).one()
        return _durations_result(row)
    return {target: _window_percentiles(scope, target, start, now, dialect)
            for target in SlaTarget}


def sla_report(scope: Scope, starts: Mapping[Period, datetime], start: datetime,
               now: datetime) -> tuple[dict[SlaTarget, dict[Period, Compliance]],
                                       dict[SlaTarget, Durations]]:
    """sla_compliance(scope, starts, now) and response_times(scope, start, now) together.

    On PostgreSQL in one statement: both read the same tickets, through the same index.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return sla_compliance(scope, starts, now), response_times(scope, start, now)
    columns, keys = _compliance_columns(starts, now)
    row = db.session.execute(select(*columns, *_percentile_columns(start, now)).where(
        scope.tickets(), _sla_moment_since(min(*starts.values(), start)))).one()
    return _compliance_result(row, keys), _durations_result(row[len(columns):])


def _percentile_columns(start: datetime, now: datetime) -> list:
    """PostgreSQL: per target, the count and percentile_cont(PERCENTILES) of the times."""
    columns = []
    for target in SlaTarget:
        done = _target_columns(target)[0]
        seconds = _elapsed_seconds(done, Ticket.created_at, "postgresql")
        window = and_(done >= start, done <= now)
        columns.append(func.count().filter(window))
        # One ordered-set aggregate per target computes both percentiles from one sort.
        columns.append(func.percentile_cont(postgresql.array(PERCENTILES),
                                            type_=postgresql.ARRAY(Float))
                       .within_group(seconds).filter(window))
    return columns


def _durations_result(row) -> dict[SlaTarget, Durations]:
    result = {}
    for index, target in enumerate(SlaTarget):
        count, values = row[2 * index: 2 * index + 2]
        median, p90 = values if values else (None, None)
        result[target] = Durations(count or 0, _float(median), _float(p90))
    return result


def _float(value) -> float | None:
    return None if value is None else float(value)


def _window_percentiles(scope: Scope, target: SlaTarget, start: datetime, now: datetime,
                        dialect: str) -> Durations:
    """percentile_cont computed with window functions: rank the values, pick the two around
    p·(n−1) and interpolate, all in one SQL statement."""
    done = _target_columns(target)[0]
    seconds = _elapsed_seconds(done, Ticket.created_at, dialect).label("seconds")
    values = (select(seconds).where(scope.tickets(), done >= start, done <= now)
              .subquery("durations"))
    ranked = select(values.c.seconds,
                    (func.row_number().over(order_by=values.c.seconds) - 1).label("i"),
                    func.count().over().label("n")).subquery("ranked")
    columns = [func.max(ranked.c.n)]
    for p in PERCENTILES:
        position = literal(p) * (ranked.c.n - 1)
        lower = cast(position, Integer)  # position ≥ 0, so the cast is floor()
        low = func.max(case((ranked.c.i == lower, ranked.c.seconds)))
        high = func.max(case((ranked.c.i == lower + 1, ranked.c.seconds)))
        fraction = func.max(position - lower)
        columns.append(low + fraction * (func.coalesce(high, low) - low))
    row = db.session.execute(select(*columns)).one()
    return Durations(row[0] or 0, _float(row[1]), _float(row[2]))


# ---------------------------------------------------------------------------- load

@dataclass(frozen=True)
class AgentLoad:
    id: int
    name: str
    availability: Availability
    open_tickets: int
    weighted_load: int
    capacity: int


def agent_load(scope: Scope) -> list[AgentLoad]:
    """Active agents and leads of the scope's teams: open tickets (all their tickets),
    priority-weighted load and capacity, most loaded first.

    Reads the counters tickets.load keeps exact on every change, instead of counting.
    """
    rows = db.session.execute(
        select(User.id, User.name, User.availability, User.open_tickets, User.open_load,
               User.max_open_tickets)
        .where(User.is_active.is_(True), User.role.in_((Role.AGENT, Role.LEAD)),
               scope.agents())
        .order_by(User.open_load.desc(), User.open_tickets.desc(), User.name, User.id))
    return [AgentLoad(row.id, row.name, Availability(row.availability), row.open_tickets,
                      row.open_load, row.max_open_tickets) for row in rows]


# ---------------------------------------------------------------------------- channels

def tickets_by_channel(scope: Scope, start: datetime, now: datetime) -> dict[Channel, int]:
    """Tickets created in [start, now] per channel (every channel, zeros included)."""
    counts = {channel: 0 for channel in Channel}
    for channel, count in db.session.execute(
            select(Ticket.channel, func.count())
            .where(Ticket.created_at >= start, Ticket.created_at <= now, scope.tickets())
            .group_by(Ticket.channel)):
        counts[Channel(channel)] = count
    return counts
