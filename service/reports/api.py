"""GET /api/v1/reports (what can be asked) and GET /api/v1/reports/{metric}."""
from __future__ import annotations

from flask import Blueprint

from service.api import current_user, doc, query_args
from service.db_types import utcnow
from service.reports import export
from service.reports.registry import Report, reports
from service.reports.schemas import ReportCatalog, ReportQuery, ReportResult
from service.reports.service import compute, may_read, report_named

blueprint = Blueprint("reports_api", __name__)

_query = ReportQuery()
_TAGS = ["reports"]
# The keys every result has (service.reports.service.compute); any other comes from
# Report.extra and is passed through as it is.
_RESULT_KEYS = frozenset(("metric", "from_", "to", "zone", "group_by", "filters", "total",
                          "groups", "previous"))


def describe(report: Report) -> dict:
    """A report's name, title, groupings, filters and columns, in the caller's language."""
    return {"name": report.name, "title": str(report.title),
            "description": str(report.description), "section": report.section,
            "group_by": [grouping.value for grouping in report.groupings],
            "filters": list(report.filters),
            "columns": [{"key": column.key, "label": str(column.label), "unit": column.unit,
                         "drillable": column.drill is not None} for column in report.columns]}


@blueprint.get("/reports")
@doc("The reports you may read: their groupings, filters and columns", tags=_TAGS,
     responses={200: ReportCatalog})
def catalog():
    user = current_user()
    return ReportCatalog().dump(
        {"items": [describe(report) for report in reports() if may_read(user, report)]})


@blueprint.get("/reports/<string:metric>")
@doc("One report over a period, sliced and grouped, with the previous period beside it "
     "(format=csv or xlsx: the same table as a download)", tags=_TAGS, query=ReportQuery,
     responses={200: ReportResult})
def report(metric: str):
    chosen = report_named(metric)
    args = query_args(_query)
    result = compute(chosen, current_user(), args, utcnow())
    if args["format"] != "json":
        return export.download(chosen, result, args["format"])
    body = ReportResult().dump(dump_numbers(chosen, result))
    # What the report adds through Report.extra (e.g. the opportunities' by_source).
    body.update({key: value for key, value in result.items() if key not in _RESULT_KEYS})
    return body


def dump_numbers(report: Report, result: dict) -> dict:
    """The result with its numbers passed through the report's numbers schema."""
    numbers = report.numbers()
    dumped = dict(result)
    dumped["total"] = numbers.dump(result["total"]) if result["total"] is not None else None
    dumped["groups"] = [{"key": group["key"], "label": group["label"],
                         **numbers.dump(group),
                         **({"previous": numbers.dump(group["previous"])
                             if group["previous"] is not None else None}
                            if "previous" in group else {})}
                        for group in result["groups"]]
    previous = result.get("previous")
    if previous:
        dumped["previous"] = {**previous, "total": numbers.dump(previous["total"])}
    return dumped
