"""Over which teams, in which zone and for which period a report counts for its reader.

Admins read every team's numbers (rows of no team included) and sales reps too (they hold
SURVEY_VIEW for the accounts they sell to, whatever team served them). Leads read the
teams they lead or belong to, exactly as on the service dashboard
(tickets.reports.dashboard_teams / scope_for); a team outside those is refused. Whether a
report takes in rows of no team for a lead is the report's choice (Slice.conditions).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from flask_babel import gettext as _

from service.auth.models import Role, User
from service.auth.permissions import Permission, can
from service.auth.services import valid_timezones
from service.errors import InvalidInput
from tickets import reports as ticket_reports

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366  # the longest period a report covers
# The years a period may lie in: wide enough for any ticket, narrow enough that the
# period before it, its local days and its buckets are dates Python can hold.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def team_scope(user: User, team_id: int | None = None) -> tuple[int, ...] | None:
    """The teams whose rows the user's reports count (None: every row).

    `team_id` is checked against a lead's teams (InvalidInput when it is not one); for
    others it is only a filter, applied by the report's Slice. Whether the user may read
    the report at all is the caller's check (service.reports.service.require_reader).
    """
    if can(user, Permission.TICKET_VIEW_ALL) or user.role == Role.SALES:
        return None
    return ticket_reports.scope_for(user, team_id).team_ids


def report_zone(user: User | None, name: str | None = None) -> ZoneInfo:
    """The zone of the time buckets: `name` if given, else the user's, else TIMEZONE."""
    if name:
        # The zones a user may choose: not a folder of them ("America"), nor a path.
        if name not in valid_timezones():
            raise InvalidInput(errors={"tz": [_("Not a known time zone (e.g. Europe/Berlin).")]})
        return ZoneInfo(name)
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
    out_of_range = InvalidInput(errors={"from": [_(
        "Choose a period between the years %(first)d and %(last)d.", first=EARLIEST.year,
        last=LATEST.year - 1)]})
    try:
        until = _instant(end, zone, end=True) if end is not None else now
        if start is None:
            first_day = (until - timedelta(microseconds=1)).astimezone(zone).date() \
                - timedelta(days=DEFAULT_DAYS - 1)
            since = _instant(first_day, zone, end=False)
        else:
            since = _instant(start, zone, end=False)
    except OverflowError:  # e.g. to=9999-12-31: its end is past the last date there is
        raise out_of_range from None
    if since < EARLIEST or until > LATEST:
        raise out_of_range
    if since >= until:
        raise InvalidInput(errors={"from": [_("'from' must be before 'to'.")]})
    if until - since > timedelta(days=MAX_DAYS):
        raise InvalidInput(errors={"from": [
            _("The period may cover at most %(days)d days.", days=MAX_DAYS)]})
    return since, until
