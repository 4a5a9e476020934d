"""The console's reports pages: the reports a reader may open with their headline numbers,
one report as a chart and a table (filters, grouping, previous period, CSV/XLSX), and the
tickets behind any of its numbers.

Every page is a GET form: it changes nothing, so it needs no CSRF token, and bad input
shows the page again with a message by the field (400), never an error page.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.auth.models import User
from service.console import charts
from service.console.access import console_user, staff_required
from service.db_types import utcnow
from service.errors import DomainError, Forbidden, InvalidInput
from service.reports import access
from service.reports.export import download
from service.reports.console_form import (DEFAULT_PRESET, FORM_FILTERS, PRESETS, Choice,
                                          choose, framework_errors, options_for, preset_days)
from service.reports.engine import group_labels
from service.reports.formatting import (GROUPING_LABELS, SECTION_TITLES, change,
                                        format_value, group_label, key_text)
from service.reports.query import TIME_GROUPINGS, Grouping
from service.reports.registry import SECTIONS, Column, Report, Unit, reports
from service.reports.service import (compute, may_read, parse_key, report_named,
                                     require_reader, tickets_for)
from service.validation import is_id
from tickets import facts
from tickets.ticket_page import team_name

blueprint = Blueprint("reports_console", __name__, url_prefix="/console/reports",
                      template_folder="templates")

PAGE_SIZE = 50


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


def _today(user: User) -> date:
    return utcnow().astimezone(access.report_zone(user)).date()


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
    options = options_for(report, user)
    return report, user, options, choose(report, request.args, _today(user), options,
                                         drill=drill)


def _result(report: Report, user: User, chosen: Choice) -> dict[str, Any] | None:
    """The report's result for the form's choice, its groups labelled; None when the
    choice is refused (its messages added to chosen.errors)."""
    if chosen.errors:
        return None
    try:
        result = compute(report, user, chosen.args, utcnow())
    except InvalidInput as error:
        chosen.errors.update(framework_errors(error))
        return None
    _label_groups(result)
    return result


@blueprint.get("/<string:name>")
@staff_required()
def show(name: str):
    """One report: the filter form, a chart of its headline number and its table."""
    report, user, options, chosen = _prepare(name)
    context = _form_context(report, options, chosen)
    result = _result(report, user, chosen)
    if result is None:
        return render_template("reports/show.html", **context), 400
    context.update(_table(report, result, chosen), chart=_chart(report, result))
    context["exports"] = {kind: url_for(".export", name=report.name, kind=kind,
                                        **chosen.params) for kind in ("csv", "xlsx")}
    return render_template("reports/show.html", **context)


@blueprint.get("/<string:name>.<any(csv, xlsx):kind>")
@staff_required()
def export(name: str, kind: str):
    """The report's table as a CSV or XLSX download (the same filters as the page)."""
    report, user, options, chosen = _prepare(name)
    result = _result(report, user, chosen)
    if result is not None:
        return download(report, result, kind)
    return render_template("reports/show.html", **_form_context(report, options, chosen)), 400


def _form_context(report: Report, options: dict, chosen: Choice) -> dict[str, Any]:
    values = request.args
    return {"report": report, "title": str(report.title), "errors": chosen.errors,
            "presets": {key: str(label) for key, label in PRESETS.items()},
            "groupings": [(grouping.value, str(GROUPING_LABELS[grouping]))
                          for grouping in report.groupings],
            # Team and agent only when there is a choice (a sales rep has no teams);
            # each filter is labelled as the grouping of the same name.
            "filters": [(name, str(GROUPING_LABELS[Grouping(name)])) for name in FORM_FILTERS
                        if name in report.filters
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
    if after and not (after.isascii() and after.isdigit() and len(after) <= 10
                      and is_id(int(after))):
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
        chosen.errors.update(framework_errors(error))
        context["heading"] = str(report.title)
        return render_template("reports/tickets.html", **context), 400
    context["heading"] = _drill_title(columns[0], grouping, key, chosen)
    total, rows = facts.ticket_rows(ids, limit=PAGE_SIZE, after=int(after) if after else None,
                              visible_to_user=user)
    here = {**chosen.params, "measure": measure, **({"key": raw_key} if raw_key else {})}
    context["page"] = {
        "total": total, "rows": [{**row.__dict__, "team": team_name(row.team, row.team_zh)}
                                 for row in rows],
        "next": url_for(".tickets", name=report.name, after=rows[-1].id, **here)
        if len(rows) == PAGE_SIZE else None,
        "first": url_for(".tickets", name=report.name, **here) if after else None}
    return render_template("reports/tickets.html", **context)


def _drill_title(column: Column, grouping: str | None, key: Any, chosen: Choice) -> str:
    """e.g. "Created — Channel: Email, 1 Nov 2026 – 30 Nov 2026"."""
    period = _("%(first)s – %(last)s", first=format_date(chosen.first, "medium"),
               last=format_date(chosen.last, "medium"))
    if not grouping:
        return _("%(number)s, %(period)s", number=str(column.label), period=period)
    chosen_grouping = Grouping(grouping)
    named = group_labels(chosen_grouping, [key]).get(key, "") if key is not None else ""
    label = group_label(chosen_grouping, key, named)
    return _("%(number)s — %(grouping)s: %(group)s, %(period)s", number=str(column.label),
             grouping=str(GROUPING_LABELS[chosen_grouping]), group=label, period=period)

