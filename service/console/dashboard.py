"""The leads' dashboard: backlog, SLA compliance, response times, load, channels, and the
sections other domains register (register_section)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.auth.models import Availability
from service.auth.permissions import Permission
from service.console import charts
from service.console.access import console_user, staff_required
from service.db_types import utcnow
from service.reports.formatting import format_seconds
from service.templating import PRIORITY_LABELS, display_zone
from service.validation import is_id
from tickets import reports
from tickets.models import Channel, SlaTarget, format_number
from tickets.reports import AGE_BUCKETS, Period
from service.labels import AVAILABILITY_LABELS, CHANNEL_LABELS

blueprint = Blueprint("dashboard", __name__, url_prefix="/console/dashboard",
                      template_folder="templates")

DEFAULT_PERIOD = Period.WEEK
PERIOD_LABELS = {Period.TODAY: _l("Today"), Period.WEEK: _l("Last 7 days"),
                 Period.MONTH: _l("Last 30 days")}
AGE_LABELS = {"lt_4h": _l("< 4 h"), "4h_24h": _l("4–24 h"), "1d_3d": _l("1–3 days"),
              "3d_7d": _l("3–7 days"), "gt_7d": _l("> 7 days")}
TARGET_LABELS = {SlaTarget.FIRST_RESPONSE: _l("First response"),
                 SlaTarget.RESOLUTION: _l("Resolution")}
MAX_PARAM_LENGTH = 20  # longer values are never valid; refuse them before parsing

# context_fn(user, scope, period, starts, now) → the section template's variables, or None
# to leave the section out (e.g. the user may not see it).
SectionContext = Callable[[Any, reports.Scope, Period, dict[Period, datetime], datetime],
                          dict[str, Any] | None]


@dataclass(frozen=True)
class Section:
    """A part of the dashboard another domain draws: its template and where it goes."""

    name: str
    template: str
    context_fn: SectionContext
    order: int


_SECTIONS: dict[str, Section] = {}


def register_section(name: str, template: str, context_fn: SectionContext,
                     order: int = 100) -> None:
    """Add a section after the built-in ones (lower `order` first); a name registered again
    replaces the earlier one, so re-importing a module does not show it twice.

    The template is included inside the dashboard's card grid with `section` holding the
    context_fn's dict; it draws its own `<section class="card">` (or `card wide`).
    """
    _SECTIONS[name] = Section(name, template, context_fn, order)


def _sections(user, scope: reports.Scope, period: Period, starts: dict[Period, datetime],
              now: datetime) -> list[dict[str, Any]]:
    """The registered sections to draw for this user: template and context, in order."""
    drawn = []
    for section in sorted(_SECTIONS.values(), key=lambda each: (each.order, each.name)):
        context = section.context_fn(user, scope, period, starts, now)
        if context is not None:
            drawn.append({"name": section.name, "template": section.template,
                          "context": context})
    return drawn


@blueprint.get("")
@staff_required(Permission.DASHBOARD)
def show():
    """The dashboard of the teams the user leads or belongs to (admins: every team)."""
    user = console_user()
    teams = reports.dashboard_teams(user)
    period, team_id, errors = _parse_filters(request.args, teams)
    context: dict[str, Any] = {
        "teams": [(team_id_, _team_name(name, name_zh)) for team_id_, name, name_zh in teams],
        "periods": _strings(PERIOD_LABELS), "selected_period": period, "selected_team": team_id,
        "raw_team": request.args.get("team", ""), "errors": errors,
    }
    if errors:
        return render_template("console/dashboard.html", **context), 400
    scope = reports.scope_for(user, team_id, teams)
    now = utcnow()
    zone = display_zone()
    starts = {each: reports.period_start(each, now, zone) for each in Period}
    context.update(_report(scope, period, starts, now))
    context["dashboard_sections"] = _sections(user, scope, period, starts, now)
    context.update(period_label=str(PERIOD_LABELS[period]), period_start=starts[period], now=now,
                   no_teams=not teams)
    return render_template("console/dashboard.html", **context)


def _parse_filters(args: Mapping[str, str], teams: list) -> tuple[Period, int | None,
                                                                  dict[str, list[str]]]:
    """The period and team asked for, or field → messages for what is not valid."""
    errors: dict[str, list[str]] = {}
    raw_period = args.get("period", "") or DEFAULT_PERIOD.value
    period = DEFAULT_PERIOD
    if len(raw_period) <= MAX_PARAM_LENGTH and raw_period in Period._value2member_map_:
        period = Period(raw_period)
    else:
        errors["period"] = [_("Choose today, the last 7 days or the last 30 days.")]
    raw_team = (args.get("team", "") or "").strip()
    team_id = None
    if raw_team:
        allowed = {team[0] for team in teams}
        number = int(raw_team) if len(raw_team) <= MAX_PARAM_LENGTH and \
            raw_team.isascii() and raw_team.isdigit() else None
        if number is not None and is_id(number) and number in allowed:
            team_id = number
        else:
            errors["team"] = [_("Choose one of your teams.")]
    return period, team_id, errors


def _team_name(name: str, name_zh: str | None) -> str:
    locale = get_locale()
    return name_zh if name_zh and locale is not None and locale.language == "zh" else name


def _report(scope: reports.Scope, period: Period, starts: dict[Period, datetime],
            now: datetime) -> dict[str, Any]:
    """Every section's numbers, and the charts drawn from them."""
    start = starts[period]
    targets = _strings(TARGET_LABELS)
    backlog = _backlog(reports.backlog(scope, now))
    compliance_numbers, times = reports.sla_report(scope, starts, start, now)
    compliance = _compliance(compliance_numbers)
    breach_count, latest = reports.breaches(scope, start, now)
    load = _load(reports.agent_load(scope))
    channels = _channels(reports.tickets_by_channel(scope, start, now))
    return {
        "backlog": backlog, "compliance": compliance, "breach_count": breach_count,
        "breaches": [{"id": row.ticket_id, "number": format_number(row.ticket_id),
                      "subject": row.subject, "target": targets[row.target],
                      "priority": row.priority.value, "due_at": row.due_at,
                      "breached_at": row.breached_at} for row in latest],
        "times": [{"label": targets[target], "count": durations.count,
                   "median": format_seconds(durations.median),
                   "p90": format_seconds(durations.p90)}
                  for target, durations in times.items()],
        "load": load, "channels": channels,
    }


def _backlog(counts: dict) -> dict[str, Any]:
    series = [charts.Series(str(AGE_LABELS[key]), f"age{index}")
              for index, (key, _bound) in enumerate(AGE_BUCKETS)]
    rows = [(str(PRIORITY_LABELS[priority.value]), values)
            for priority, values in counts.items()]
    total = sum(sum(values) for _label, values in rows)
    return {
        "series": series, "rows": rows, "total": total,
        "column_totals": [sum(values[i] for _label, values in rows)
                          for i in range(len(series))],
        "chart": charts.stacked_bar_chart(
            "chart-backlog", _("Open tickets by priority and age"), series, rows,
            [str(sum(values)) for _label, values in rows]) if total else None,
    }


def _compliance(result: dict) -> dict[str, Any]:
    targets, periods = _strings(TARGET_LABELS), _strings(PERIOD_LABELS)
    rows = []
    bars = []
    for target, by_period in result.items():
        for period, numbers in by_period.items():
            percent = numbers.percent
            text = format_percent(percent)
            rows.append({"target": targets[target], "period": periods[period],
                         "met": numbers.met, "breached": numbers.breached,
                         "total": numbers.total, "percent": text})
            bars.append(charts.Bar(
                _("%(target)s, %(period)s", target=targets[target], period=periods[period]),
                percent or 0.0, text))
    any_due = any(row["total"] for row in rows)
    return {"rows": rows, "chart": charts.bar_chart(
        "chart-sla", _("Percent of SLA targets met"), bars, max_value=100.0)
        if any_due else None}


def _load(agents: list[reports.AgentLoad]) -> dict[str, Any]:
    availability = _strings(AVAILABILITY_LABELS)
    rows = [{"name": agent.name, "availability": availability[agent.availability],
             "open": agent.open_tickets, "weighted": agent.weighted_load,
             "capacity": agent.capacity} for agent in agents]
    bars = [charts.Bar(
        agent.name if agent.availability == Availability.AVAILABLE else
        _("%(name)s (%(availability)s)", name=agent.name,
          availability=availability[agent.availability]),
        agent.open_tickets,
        _("%(open)d of %(capacity)d", open=agent.open_tickets, capacity=agent.capacity),
        marker=agent.capacity, marker_text=_("Capacity: %(n)d", n=agent.capacity))
        for agent in agents]
    return {"rows": rows, "chart": charts.bar_chart(
        "chart-load", _("Open tickets per agent, against capacity"), bars) if rows else None}


def _channels(counts: dict) -> dict[str, Any]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], list(Channel).index(item[0])))
    labels = _strings(CHANNEL_LABELS)
    rows = [{"label": labels[channel], "count": count} for channel, count in ordered]
    total = sum(counts.values())
    return {"rows": rows, "total": total, "chart": charts.bar_chart(
        "chart-channels", _("New tickets by channel"),
        [charts.Bar(row["label"], row["count"], str(row["count"])) for row in rows])
        if total else None}


def _strings(labels: Mapping) -> dict:
    """The labels translated once for this request (lazy strings re-translate on each use)."""
    return {key: str(value) for key, value in labels.items()}


def format_percent(value: float | None) -> str:
    """A percentage with one decimal, or a dash when there is nothing to divide."""
    return "—" if value is None else f"{value:.1f} %"

