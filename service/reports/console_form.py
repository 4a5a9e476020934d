"""The filter form of the console's report pages: its period presets, the choices of its
select fields, and reading what it asked for into compute()'s arguments and field messages.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from service.auth.models import User
from service.directory.models import team_members
from service.errors import InvalidInput
from service.extensions import db
from service.labels import CHANNEL_LABELS, TIER_LABELS
from service.reports import access
from service.reports.registry import Report
from service.templating import PRIORITY_LABELS
from service.validation import strip_controls
from tickets import reports as ticket_reports
from tickets.ticket_page import team_name

PRESETS = {"last_7": _l("Last 7 days"), "last_30": _l("Last 30 days"),
           "last_90": _l("Last 90 days"), "last_month": _l("Last month"),
           "this_month": _l("This month"), "last_12_months": _l("Last 12 months"),
           "custom": _l("Custom dates")}
DEFAULT_PRESET = "last_30"
# The filters the form offers (account and department are the API's only).
FORM_FILTERS = ("team", "agent", "channel", "priority", "category", "product", "tier")
CHOICES = {"channel": CHANNEL_LABELS, "priority": PRIORITY_LABELS, "tier": TIER_LABELS}
TOP = 20  # groups of a breakdown on the page and in its exports
MAX_TEXT = 80


@dataclass
class Choice:
    """What the filter form asked for: compute()'s arguments, the same as URL parameters
    (for links that keep them), the period's first and last day, and field → messages."""

    args: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    first: date | None = None
    last: date | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def preset_days(preset: str, today: date) -> tuple[date, date]:
    """The first and last day (both included) of a period preset, `today` included."""
    if preset in ("last_7", "last_30", "last_90"):
        return today - timedelta(days=int(preset.removeprefix("last_")) - 1), today
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if preset == "last_12_months":
        year, month = divmod(today.year * 12 + today.month - 1 - 11, 12)
        return date(year, month + 1, 1), today
    raise ValueError(preset)


def _date(text: str | None) -> date | None:
    if not text or len(text) != 10 or not text.isascii():
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def choose(report: Report, values: Mapping[str, str], today: date,
           options: dict[str, list[tuple[Any, str]]], *, drill: bool = False) -> Choice:
    """Read the form's values for this report (see Choice); messages are translated.
    A drill-down without group_by lists the total's tickets (no default grouping)."""
    chosen = Choice()
    errors = chosen.errors
    preset = values.get("period") or DEFAULT_PRESET
    if preset not in PRESETS:
        errors["period"] = [_("Choose one of the listed periods.")]
        preset = DEFAULT_PRESET
    if preset == "custom":
        first, last = _date(values.get("from")), _date(values.get("to"))
        if first is None:
            errors["from"] = [_("Give the first day as a date, e.g. 2026-03-01.")]
        if values.get("to") and last is None:
            errors["to"] = [_("Give the last day as a date, e.g. 2026-03-31.")]
        last = last or today
        if first is not None and first > last:
            errors["from"] = [_("The first day must not be after the last day.")]
        elif first is not None and (last - first).days >= access.MAX_DAYS:
            errors["from"] = [_("A period may cover at most %(n)d days.", n=access.MAX_DAYS)]
    else:
        first, last = preset_days(preset, today)
    chosen.first, chosen.last = first, last
    chosen.args.update(from_=first, to=last, top=TOP)
    chosen.params.update(period="custom", **{"from": first.isoformat() if first else "",
                                             "to": last.isoformat()})
    _choose_grouping(report, {"group_by": "", **values} if drill else values, preset, chosen)
    compare = values.get("compare", "1")
    if compare not in ("0", "1"):
        errors["compare"] = [_("Choose yes or no.")]
    chosen.args["compare"] = compare != "0"
    chosen.params["compare"] = "0" if compare == "0" else "1"
    for name in FORM_FILTERS:
        # Control characters dropped, as the API's schemas do (PostgreSQL refuses NUL).
        raw = strip_controls(values.get(name) or "").strip()
        if not raw:
            continue
        if name not in report.filters:
            errors[name] = [_("This report cannot be filtered this way.")]
        elif name in ("team", "agent"):
            allowed = {str(key): key for key, _label in options.get(name, [])}
            if raw not in allowed:
                errors[name] = [_("Choose one of your teams.") if name == "team"
                                else _("Choose one of the listed agents.")]
            else:
                chosen.args[name] = allowed[raw]
        elif name in CHOICES and raw not in CHOICES[name]:
            errors[name] = [_("Choose one of the listed values.")]
        elif len(raw) > MAX_TEXT:
            errors[name] = [_("At most %(n)d characters.", n=MAX_TEXT)]
        else:
            chosen.args[name] = raw
        if name in chosen.args:
            chosen.params[name] = raw
    return chosen


def _choose_grouping(report: Report, values: Mapping[str, str], preset: str,
                     chosen: Choice) -> None:
    """The grouping asked for; without one, a trend of days, weeks or months that suits
    the period (or the report's first dimension when it has no trend)."""
    allowed = [grouping.value for grouping in report.groupings]
    if "group_by" in values:
        raw = values.get("group_by") or ""
        if raw and raw not in allowed:
            chosen.errors["group_by"] = [_("Choose one of the listed groupings.")]
            raw = ""
    elif not report.time_groupings:
        raw = allowed[0] if allowed else ""
    elif chosen.first is not None and chosen.last is not None:
        days = (chosen.last - chosen.first).days + 1
        raw = "day" if days <= 31 else "week" if days <= 120 else "month"
        raw = raw if preset != "last_12_months" else "month"
    else:
        raw = ""
    chosen.args["group_by"] = raw or None
    chosen.params["group_by"] = raw


def options_for(report: Report, user: User) -> dict[str, list[tuple[Any, str]]]:
    """The choices of the form's select fields: the user's teams and their agents."""
    teams = [(team_id, team_name(name, name_zh) or "")
             for team_id, name, name_zh in ticket_reports.dashboard_teams(user)]
    options: dict[str, list[tuple[Any, str]]] = {
        "team": teams if "team" in report.filters else [],
        "agent": [],
        **{name: [(key, str(label)) for key, label in labels.items()]
           for name, labels in CHOICES.items()}}
    if "agent" in report.filters and teams:
        query = (select(User.id, User.name)
                 .join(team_members, team_members.c.user_id == User.id)
                 .where(team_members.c.team_id.in_([team[0] for team in teams]),
                        User.is_active.is_(True))
                 .distinct().order_by(User.name, User.id))
        options["agent"] = [(row.id, row.name) for row in db.session.execute(query)]
    return options


def framework_errors(error: InvalidInput) -> dict[str, list[str]]:
    """The service's field messages under the form's field names."""
    messages = error.errors or {"": [error.detail]}
    return {("from" if name == "from_" else name): list(value) if isinstance(value, list)
            else [str(value)] for name, value in messages.items()}
