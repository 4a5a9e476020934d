"""The console's reports pages: the reports a reader may open with their headline numbers,
one report as a chart and a table (filters, grouping, previous period, CSV/XLSX), and the
tickets behind any of its numbers.

Every page is a GET form: it changes nothing, so it needs no CSRF token, and bad input
shows the page again with a message by the field (400), never an error page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Mapping

from flask import Blueprint, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from service.auth.models import User
from service.console import charts
from service.console.access import console_user, staff_required
from service.db_types import utcnow
from service.directory.models import team_members
from service.errors import DomainError, Forbidden, InvalidInput
from service.extensions import db
from service.labels import CHANNEL_LABELS, TIER_LABELS
from service.reports import access
from service.reports.api import download
from service.reports.engine import group_labels
from service.reports.formatting import (GROUPING_LABELS, SECTION_TITLES, change,
                                        format_value, group_label, key_text)
from service.reports.query import TIME_GROUPINGS, Grouping
from service.reports.registry import SECTIONS, Column, Report, Unit, reports
from service.reports.service import (compute, may_read, parse_key, report_named,
                                     require_reader, tickets_for)
from service.templating import PRIORITY_LABELS
from tickets import facts
from tickets import reports as ticket_reports

blueprint = Blueprint("reports_console", __name__, url_prefix="/console/reports",
                      template_folder="templates")

PRESETS = {"last_7": _l("Last 7 days"), "last_30": _l("Last 30 days"),
           "last_90": _l("Last 90 days"), "last_month": _l("Last month"),
           "this_month": _l("This month"), "last_12_months": _l("Last 12 months"),
           "custom": _l("Custom dates")}
DEFAULT_PRESET = "last_30"
# The filters the form offers (account and department are the API's only).
FORM_FILTERS = ("team", "agent", "channel", "priority", "category", "product", "tier")
CHOICES = {"channel": CHANNEL_LABELS, "priority": PRIORITY_LABELS, "tier": TIER_LABELS}
TOP = 20  # groups of a breakdown on the page and in its exports
PAGE_SIZE = 50
MAX_TEXT = 80


@dataclass(frozen=True)
class Question:
    """A question a lead asks, answered by one report grouped one way."""

    text: Any
    report: str
    group_by: Grouping
    period: str


QUESTIONS = (
    Question(_l("Which team breaches most?"), "sla-compliance", Grouping.TEAM, "last_30"),
    Question(_l("Which product brings repeat issues?"), "repeat-issues", Grouping.PRODUCT,
             "last_90"),
    Question(_l("Is NPS rising?"), "nps", Grouping.MONTH, "last_12_months"),
    Question(_l("Did last month's follow-ups sell anything?"), "opportunities",
             Grouping.SOURCE, "last_month"))


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


def _choose(report: Report, values: Mapping[str, str], today: date,
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
        raw = (values.get(name) or "").strip()
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


def _options(report: Report, user: User) -> dict[str, list[tuple[Any, str]]]:
    """The choices of the form's select fields: the user's teams and their agents."""
    chinese = _chinese()
    teams = [(team_id, name_zh if chinese and name_zh else name)
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


def _chinese() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def _today(user: User) -> date:
    return utcnow().astimezone(access.report_zone(user)).date()


def _framework_errors(error: InvalidInput) -> dict[str, list[str]]:
    """The framework's field messages under the form's field names."""
    messages = error.errors or {"": [error.detail]}
    return {("from" if name == "from_" else name): list(value) if isinstance(value, list)
            else [str(value)] for name, value in messages.items()}


# ---- the index ----

@blueprint.get("")
@staff_required()
def index():
    """The reports the user may read, by section, each with its headline number."""
    user = console_user()
    readable = [report for report in reports() if may_read(user, report)]
    if not readable:
        raise Forbidden("Your role may not read any report.")
    first, last = preset_days(DEFAULT_PRESET, _today(user))
    now = utcnow()
    sections = []
    for section in SECTIONS:
        cards = [_card(report, user, first, last, now)
                 for report in readable if report.section == section]
        if cards:
            sections.append({"key": section, "title": str(SECTION_TITLES[section]),
                             "cards": cards})
    names = {report.name: report for report in readable}
    questions = [{"text": str(question.text),
                  "href": url_for(".show", name=question.report,
                                  group_by=question.group_by.value, period=question.period)}
                 for question in QUESTIONS if question.report in names
                 and question.group_by in names[question.report].groupings]
    return render_template("reports/index.html", report_sections=sections, questions=questions,
                           period=str(PRESETS[DEFAULT_PRESET]), first=first, last=last)


def _card(report: Report, user: User, first: date, last: date, now: datetime) -> dict:
    """A report's title, description and headline number against the previous period."""
    column = report.headline
    current = previous = None
    try:
        # One compute() without groups: the total and the previous total, two queries.
        result = compute(report, user, {"from_": first, "to": last}, now)
        current = column.value(result["total"])
        previous = column.value((result.get("previous") or {}).get("total"))
    except DomainError:  # a report refusing this reader's scope: shown without a number
        result = None
    return {"name": report.name, "title": str(report.title),
            "description": str(report.description), "label": str(column.label),
            "value": format_value(current, column.unit),
            "previous": format_value(previous, column.unit),
            "change": change(current, previous, column), "computed": result is not None,
            "href": url_for(".show", name=report.name)}


# ---- one report ----

def _prepare(name: str, *, drill: bool = False) -> tuple[Report, User, dict, Choice]:
    report = report_named(name)
    user = console_user()
    require_reader(user, report)
    options = _options(report, user)
    return report, user, options, _choose(report, request.args, _today(user), options,
                                          drill=drill)


@blueprint.get("/<string:name>")
@staff_required()
def show(name: str):
    """One report: the filter form, a chart of its headline number and its table."""
    report, user, options, chosen = _prepare(name)
    context = _form_context(report, options, chosen)
    if chosen.errors:
        return render_template("reports/show.html", **context), 400
    try:
        result = compute(report, user, chosen.args, utcnow())
    except InvalidInput as error:
        chosen.errors.update(_framework_errors(error))
        return render_template("reports/show.html", **context), 400
    _label_groups(result)
    context.update(_table(report, result, chosen), chart=_chart(report, result))
    context["exports"] = {kind: url_for(".export", name=report.name, kind=kind,
                                        **chosen.params) for kind in ("csv", "xlsx")}
    return render_template("reports/show.html", **context)


@blueprint.get("/<string:name>.<any(csv, xlsx):kind>")
@staff_required()
def export(name: str, kind: str):
    """The report's table as a CSV or XLSX download (the same filters as the page)."""
    report, user, options, chosen = _prepare(name)
    if not chosen.errors:
        try:
            result = compute(report, user, chosen.args, utcnow())
        except InvalidInput as error:
            chosen.errors.update(_framework_errors(error))
        else:
            _label_groups(result)
            return download(report, result, kind)
    return render_template("reports/show.html", **_form_context(report, options, chosen)), 400


def _form_context(report: Report, options: dict, chosen: Choice) -> dict[str, Any]:
    values = request.args
    return {"report": report, "title": str(report.title), "errors": chosen.errors,
            "presets": {key: str(label) for key, label in PRESETS.items()},
            "groupings": [(grouping.value, str(GROUPING_LABELS[grouping]))
                          for grouping in report.groupings],
            # Team and agent only when there is a choice (a sales rep has no teams).
            "filters": [name for name in FORM_FILTERS if name in report.filters
                        and (name not in ("team", "agent") or options.get(name))],
            "options": options, "values": values,
            "filters_set": any(values.get(name) for name in FORM_FILTERS),
            "selected_period": values.get("period") or DEFAULT_PRESET,
            "selected_group": chosen.params.get("group_by", ""),
            "first": chosen.first, "last": chosen.last}


def _label_groups(result: dict[str, Any]) -> None:
    """Each group's label in the reader's words (dates, channels, "no team"…)."""
    grouping = Grouping(result["group_by"]) if result.get("group_by") else None
    for group in result.get("groups") or []:
        group["label"] = group_label(grouping, group["key"], group.get("label") or "")


def _table(report: Report, result: dict[str, Any], chosen: Choice) -> dict[str, Any]:
    """The rows of the page's table: each group, then the total, each cell formatted,
    with its previous value, its change and the link to the tickets behind it."""
    with_previous = bool(result.get("previous"))
    by_time = result.get("group_by") in {grouping.value for grouping in TIME_GROUPINGS}
    rows = []
    for group in result.get("groups") or []:
        rows.append(_row(report, group["label"], group, group.get("previous"),
                         chosen.params, key_text(group["key"]), compared="previous" in group))
    total = None
    if result.get("total") is not None:
        totals = {**chosen.params, "group_by": ""}
        total = _row(report, _("Total"), result["total"],
                     (result.get("previous") or {}).get("total"), totals, None,
                     compared=with_previous)
    return {"rows": rows, "total_row": total, "with_previous": with_previous,
            "group_title": str(GROUPING_LABELS[Grouping(result["group_by"])])
            if result.get("group_by") else "", "by_time": by_time,
            "result": result, "columns": [str(column.label) for column in report.columns]}


def _row(report: Report, label: str, numbers: dict, previous: dict | None,
         params: dict[str, str], key: str | None, *, compared: bool) -> dict[str, Any]:
    """One table row; `compared`: the row has previous numbers (None: no rows then)."""
    cells = []
    for column in report.columns:
        value, before = column.value(numbers), column.value(previous)
        if compared and previous is None and column.unit in (Unit.COUNT, Unit.MONEY):
            before = 0  # the group had no rows then: nothing counted, nothing summed
        href = None
        if column.drill and value not in (None, 0):
            href = url_for(".tickets", name=report.name, measure=column.drill,
                           **({"key": key} if key is not None else {}), **params)
        cells.append({"text": format_value(value, column.unit), "href": href,
                      "previous": format_value(before, column.unit) if compared else None,
                      "change": change(value, before, column) if compared else None})
    return {"label": label, "cells": cells}


def _chart(report: Report, result: dict[str, Any]) -> Any:
    """A trend (days, weeks, months) or bars (a dimension) of the headline number."""
    column: Column = report.headline
    groups = result.get("groups") or []
    if not groups:
        return None
    title = _("%(label)s by %(grouping)s", label=str(column.label),
              grouping=str(GROUPING_LABELS[Grouping(result["group_by"])]).lower())
    values = [column.value(group) for group in groups]
    high = 100.0 if column.unit == Unit.PERCENT else None
    if result["group_by"] in {grouping.value for grouping in TIME_GROUPINGS}:
        numbers = [value for value in values if isinstance(value, (int, float))]
        points = [charts.Point(group["label"], value, format_value(value, column.unit))
                  for group, value in zip(groups, values, strict=True)]
        return charts.trend_chart("chart-report", title, points,
                                  low=min([0.0, *numbers]), high=high)
    bars = [charts.Bar(group["label"], float(value or 0), format_value(value, column.unit))
            for group, value in zip(groups, values, strict=True)]
    return charts.bar_chart("chart-report", title, bars, max_value=high)


# ---- drill-down ----

@blueprint.get("/<string:name>/tickets")
@staff_required()
def tickets(name: str):
    """The tickets behind one number of a report, newest first, 50 a page."""
    report, user, options, chosen = _prepare(name, drill=True)
    measure = request.args.get("measure", "")
    columns = [column for column in report.columns if column.drill == measure]
    if not columns:
        chosen.errors["measure"] = [_("This number has no tickets behind it to list.")]
    raw_key = request.args.get("key")
    after = request.args.get("after", "")
    if after and not (after.isascii() and after.isdigit() and len(after) <= 10):
        chosen.errors["after"] = [_("Not a page of this list.")]
    context: dict[str, Any] = {"report": report, "errors": chosen.errors, "page": None,
                               "back": url_for(".show", name=report.name, **chosen.params)}
    if chosen.errors:
        context["heading"] = str(report.title)
        return render_template("reports/tickets.html", **context), 400
    grouping = chosen.args["group_by"]
    try:
        ids = tickets_for(report, user, chosen.args, measure, raw_key, utcnow())
        key = parse_key(Grouping(grouping), raw_key) if grouping else None
    except InvalidInput as error:
        chosen.errors.update(_framework_errors(error))
        context["heading"] = str(report.title)
        return render_template("reports/tickets.html", **context), 400
    context["heading"] = _drill_title(columns[0], grouping, key, raw_key, chosen)
    total, rows = facts.ticket_rows(ids, limit=PAGE_SIZE, after=int(after) if after else None,
                              visible_to_user=user)
    chinese = _chinese()
    here = {**chosen.params, "measure": measure, **({"key": raw_key} if raw_key else {})}
    context["page"] = {
        "total": total, "rows": [{**row.__dict__, "team": row.team_zh if chinese and
                                  row.team_zh else row.team} for row in rows],
        "next": url_for(".tickets", name=report.name, after=rows[-1].id, **here)
        if len(rows) == PAGE_SIZE else None,
        "first": url_for(".tickets", name=report.name, **here) if after else None}
    return render_template("reports/tickets.html", **context)


def _drill_title(column: Column, grouping: str | None, key: Any, raw_key: str | None,
                 chosen: Choice) -> str:
    """e.g. "Created — Channel: Email, 1 Nov 2026 – 30 Nov 2026"."""
    period = _("%(first)s – %(last)s", first=format_date(chosen.first, "medium"),
               last=format_date(chosen.last, "medium"))
    if not grouping:
        return _("%(number)s, %(period)s", number=str(column.label), period=period)
    chosen_grouping = Grouping(grouping)
    named = group_labels(chosen_grouping, [key]).get(key, "") if key is not None else ""
    label = group_label(chosen_grouping, raw_key if chosen_grouping in TIME_GROUPINGS
                        else key, named)
    return _("%(number)s — %(grouping)s: %(group)s, %(period)s", number=str(column.label),
             grouping=str(GROUPING_LABELS[chosen_grouping]), group=label, period=period)

