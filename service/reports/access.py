"""Who may read the feedback reports, over which teams, and for which period.

Admins read every team's numbers (rows of no team included) and sales reps too (they hold
SURVEY_VIEW for the accounts they sell to, whatever team served them). Leads read the
teams they lead or belong to, exactly as on the service dashboard
(tickets.reports.dashboard_teams / scope_for): a team outside those is refused, and rows
of no team (e.g. an account's NPS answer without a ticket) are not theirs.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from service.auth.models import Role, User
from service.auth.permissions import Permission, can
from service.errors import Forbidden, InvalidInput
from tickets import reports as ticket_reports

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366  # the longest period a report covers


def require_reader(user: User) -> None:
    """Raise Forbidden unless the user may read the reports (DASHBOARD or SURVEY_VIEW)."""
    if not (can(user, Permission.DASHBOARD) or can(user, Permission.SURVEY_VIEW)):
        raise Forbidden(f"Your role ({user.role}) may not read the survey reports.")


def team_scope(user: User, team_id: int | None = None) -> tuple[int, ...] | None:
    """The teams whose rows the user's reports count (None: every row).

    `team_id` is checked against a lead's teams (InvalidInput when it is not one); for
    others it is only a filter, applied by the report's Slice.
    """
    require_reader(user)
    if can(user, Permission.TICKET_VIEW_ALL) or user.role == Role.SALES:
        return None
    return ticket_reports.scope_for(user, team_id).team_ids


def report_zone(user: User | None, name: str | None = None) -> ZoneInfo:
    """The zone of the time buckets: `name` if given, else the user's, else TIMEZONE."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(errors={"tz": ["Not a known time zone (e.g. Europe/Berlin)."]}) \
                from None
    fallback = current_app.config["TIMEZONE"]
    try:
        return ZoneInfo((user.timezone if user is not None else None) or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def _instant(value: date | datetime, zone: ZoneInfo, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return aware.astimezone(UTC)
    # A date: from its local midnight; as the end, through the whole day.
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def resolve_period(start: date | datetime | None, end: date | datetime | None,
                   zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The UTC period [start, end) of `from` and `to`.

    A date means local midnight in `zone` (`to` includes its whole day); a datetime
    without an offset is read in `zone`. Without `to` the period ends now; without `from`
    it starts at local midnight 29 days before `to`'s day (the last 30 days).
    """
    until = _instant(end, zone, end=True) if end is not None else now
    if start is None:
        first_day = (until - timedelta(microseconds=1)).astimezone(zone).date() \
            - timedelta(days=DEFAULT_DAYS - 1)
        since = _instant(first_day, zone, end=False)
    else:
        since = _instant(start, zone, end=False)
    if since >= until:
        raise InvalidInput(errors={"from": ["'from' must be before 'to'."]})
    if until - since > timedelta(days=MAX_DAYS):
        raise InvalidInput(errors={"from": [f"The period may cover at most {MAX_DAYS} days."]})
    return since, until
