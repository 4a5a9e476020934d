"""A report's table as rows, CSV or XLSX, safe to open in a spreadsheet.

A text cell that a spreadsheet would read as a formula (it starts with =, +, -, @, a tab
or a carriage return, also in their full-width forms) gets a leading apostrophe, so
a product called "=HYPERLINK(…)" stays text (OWASP's CSV-injection advice). Numbers stay
numbers. XLSX cells are written as typed values, never as formulas.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Sequence

from flask import Response
from flask_babel import gettext as _

from service.reports.registry import Column, Report, Unit

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
UNIT_SUFFIX = {Unit.PERCENT: " (%)", Unit.SECONDS: " (s)"}


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as text (see the module docstring)."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return value
    return safe_text(str(value))


def table(report: Report, result: dict[str, Any], group_title: str) -> list[list[Any]]:
    """Header and rows of a report's result: one row per group (or the total alone), each
    column followed by its previous-period value when the result has one."""
    columns: Sequence[Column] = report.columns
    with_previous = bool(result.get("previous"))
    header = [group_title]
    for column in columns:
        header.append(str(column.label) + UNIT_SUFFIX.get(column.unit, ""))
        if with_previous:
            header.append(_("%(label)s, previous period", label=str(column.label)))
    rows = [header]
    previous_total = (result.get("previous") or {}).get("total")
    lines = [(group.get("label") or str(group.get("key") or _("None")), group,
              group.get("previous")) for group in result.get("groups") or []]
    if result.get("total") is not None:
        lines.append((_("Total"), result["total"], previous_total))
    for label, numbers, previous in lines:
        row = [label]
        for column in columns:
            row.append(column.value(numbers))
            if with_previous:
                row.append(column.value(previous))
        rows.append(row)
    return rows


def to_csv(rows: list[list[Any]]) -> bytes:
    """UTF-8 CSV with a byte-order mark (Excel then reads Chinese text right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list[Any]], sheet_title: str) -> bytes:
    """An XLSX workbook of one sheet; every text cell typed as a string."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(sheet_title))
    for row in rows:
        sheet.append([_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()
    return cleaned[:31] or "Report"


def filename(report: Report, result: dict[str, Any], extension: str) -> str:
    """e.g. sla-compliance_2026-11-01_2026-12-01.csv (the period's UTC dates)."""
    start, end = result["from_"], result["to"]
    return f"{report.name}_{start.date().isoformat()}_{end.date().isoformat()}.{extension}"


def download(report: Report, result: dict[str, Any], kind: str) -> Response:
    """The report's table as a CSV or XLSX attachment ("csv" or "xlsx")."""
    rows = table(report, result, _("Group"))
    if kind == "csv":
        body, mimetype = to_csv(rows), "text/csv; charset=utf-8"
    else:
        body = to_xlsx(rows, str(report.title))
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{filename(report, result, kind)}"')
    response.headers["Cache-Control"] = "no-store"
    return response
