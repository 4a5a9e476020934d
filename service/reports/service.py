"""Computing a registered report for a reader: access, scope, period, filters, grouping."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from service.auth.models import User
from service.auth.permissions import can
from service.errors import Forbidden, InvalidInput, NotFound
from service.reports import access
from service.reports.engine import run, run_with_previous, tickets_behind
from service.reports.query import FILTERS, TIME_GROUPINGS, Grouping, Slice
from service.reports.registry import Report, get
from service.validation import MAX_ID, strip_controls


def report_named(name: str) -> Report:
    """The registered report of that name, or NotFound."""
    report = get(name)
    if report is None:
        raise NotFound(f"There is no report {name!r}: GET /api/v1/reports lists them.")
    return report


def may_read(user: User, report: Report) -> bool:
    """Whether the user holds one of the report's reader permissions."""
    return any(can(user, permission) for permission in report.readers)


def require_reader(user: User, report: Report) -> None:
    """Raise Forbidden unless the user may read the report."""
    if not may_read(user, report):
        raise Forbidden(f"Your role ({user.role}) may not read this report.")


def grouping_of(report: Report, value: str | None) -> Grouping | None:
    """The report's grouping named `value`, or InvalidInput listing the allowed ones."""
    if not value:
        return None
    allowed = [grouping.value for grouping in report.groupings]
    if value not in allowed:
        raise InvalidInput(errors={"group_by": [
            _("Choose one of: %(allowed)s.", allowed=", ".join(allowed))]})
    return Grouping(value)


def slice_for(report: Report, user: User, args: dict[str, Any], now: datetime
              ) -> tuple[Slice, Any]:
    """The Slice the reader asked for (period in their zone, their teams, the filters)
    and the zone; refused filters and teams outside a lead's are InvalidInput."""
    require_reader(user, report)
    refused = {name: [str(report.refusals.get(name) or _(
                   "This report cannot be filtered by %(filter)s.", filter=name))]
               for name in FILTERS if name in args and name not in report.filters}
    if refused:
        raise InvalidInput(errors=refused)
    team_ids = access.team_scope(user, args.get("team"))
    zone = access.report_zone(user, args.get("tz"))
    start, end = access.resolve_period(args.get("from_"), args.get("to"), zone, now)
    filters = {name: args[name] for name in FILTERS if args.get(name) is not None}
    return Slice(start, end, team_ids=team_ids, **filters), zone


def compute(report: Report, user: User, args: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The report's result for the reader: metric, period, zone, grouping, filters, total,
    groups and (unless args["compare"] is False) the previous period."""
    period, zone = slice_for(report, user, args, now)
    group_by = grouping_of(report, args.get("group_by"))
    top = args.get("top", 10)
    if args.get("compare", True):
        result = run_with_previous(report.metric, period, group_by, zone=zone, top=top)
    else:
        result = {**run(report.metric, period, group_by, zone=zone, top=top), "previous": None}
    if report.extra is not None:
        result.update(report.extra(period, result, now))
    return {"metric": report.name, "from_": period.start, "to": period.end,
            "zone": zone.key, "group_by": group_by.value if group_by else None,
            "filters": period.filters, **result}


_NUMBER_KEYS = (Grouping.TEAM, Grouping.AGENT, Grouping.ACCOUNT, Grouping.DEPARTMENT,
                Grouping.REOPENS, Grouping.DEPARTMENTS)


def parse_key(group_by: Grouping | None, text: str | None) -> Any:
    """A group's key as written in a URL ("" or absent: the group of no value); a time
    bucket's key stays its text (tickets_behind checks it against the period's)."""
    if group_by is None or text in (None, ""):
        return None
    if group_by in TIME_GROUPINGS:
        return text
    not_a_key = InvalidInput(errors={"key": [_("Not a key of this breakdown.")]})
    if group_by in _NUMBER_KEYS:
        if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > MAX_ID:
            raise not_a_key
        return int(text)
    if group_by is Grouping.BREACHED:
        if text not in ("true", "false"):
            raise InvalidInput(errors={"key": [_("Use true or false.")]})
        return text == "true"
    if strip_controls(text) != text:  # no product or category holds one (PostgreSQL: none)
        raise not_a_key
    return text


def tickets_for(report: Report, user: User, args: dict[str, Any], measure: str,
                key: str | None, now: datetime):
    """SQL: the ids of the tickets behind one number of the report, for the reader."""
    if measure not in {column.drill for column in report.columns if column.drill}:
        raise InvalidInput(errors={"measure": [_("This number has no tickets behind it to list.")]})
    period, zone = slice_for(report, user, args, now)
    group_by = grouping_of(report, args.get("group_by"))
    return tickets_behind(report.metric, period, measure, group_by=group_by,
                          key=parse_key(group_by, key), zone=zone)
