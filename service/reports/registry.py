"""The reports Loopdesk knows: each domain registers its metrics here at import time.

A Report ties a Metric (SQL parts, dimensions, numbers) to what the API, the console
pages, the exports and the weekly mail need: a name (its URL), a title, which filters and
groupings it accepts, who may read it, its table's columns and its headline number.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from marshmallow import Schema

from service.auth.permissions import Permission
from service.reports.engine import Metric
from service.reports.query import FILTERS, TIME_GROUPINGS, Grouping


class Unit:
    """How a column's value reads: the console, exports and mail format by it."""

    COUNT = "count"
    PERCENT = "percent"  # 0–100, one decimal
    SECONDS = "seconds"  # a duration
    SCORE = "score"  # an average score (CSAT 1–5) or NPS (−100…100)
    MONEY = "money"
    RATIO = "ratio"  # e.g. complaints per active account


@dataclass(frozen=True)
class Column:
    """One number of a report's table: where it is in the numbers, its label and unit.

    `key` is a dotted path into the numbers dict ("first_response.percent"); `drill`
    names the measure whose rows are behind the number (None: not drillable); `better`
    says which way is good ("up", "down" or None) for the previous-period comparison.
    """

    key: str
    label: Any  # a lazy string
    unit: str = Unit.COUNT
    drill: str | None = None
    better: str | None = None

    def value(self, numbers: dict[str, Any] | None) -> Any:
        """This column's value in a numbers dict (None when absent)."""
        value: Any = numbers
        for part in self.key.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value


@dataclass(frozen=True)
class Report:
    """A registered report (see the module docstring)."""

    name: str  # its URL slug: /api/v1/reports/<name>, /console/reports/<name>
    title: Any  # lazy strings
    description: Any
    metric: Metric
    numbers: type[Schema]  # the marshmallow schema of one set of numbers
    columns: tuple[Column, ...]
    section: str = "service"  # where the reports index lists it: see SECTIONS
    filters: tuple[str, ...] = FILTERS  # the Slice filters it accepts
    readers: tuple[Permission, ...] = (Permission.DASHBOARD,)  # any one of these
    time_groupings: bool = True  # False: a snapshot (backlog), no day/week/month
    refusals: dict[str, str] = field(default_factory=dict)  # filter → why it is refused
    order: int = 100  # position in its section
    # Numbers added to the result beside the metric's (e.g. follow-ups open right now):
    # (slice, result, now) → extra keys of the result.
    extra: Callable[[Any, dict[str, Any], datetime], dict[str, Any]] | None = None

    @property
    def groupings(self) -> tuple[Grouping, ...]:
        """The group_by values it accepts."""
        times = TIME_GROUPINGS if self.time_groupings else ()
        return (*times, *self.metric.dimensions)

    @property
    def headline(self) -> Column:
        """The number its chart shows: the first column."""
        return self.columns[0]


# Sections of the reports index, in order: (key, title) — titles are lazy strings set by
# service.reports.labels so that this module imports no Babel.
SECTIONS = ("service", "satisfaction", "sales", "self_service")

_REPORTS: dict[str, Report] = {}


def register(report: Report) -> Report:
    """Add a report; its name must be new and its filters known."""
    if report.name in _REPORTS and _REPORTS[report.name] is not report:
        raise ValueError(f"report {report.name!r} is registered twice")
    unknown = set(report.filters) - set(FILTERS)
    if unknown or report.section not in SECTIONS or not report.columns:
        raise ValueError(f"report {report.name!r}: bad filters, section or columns")
    if report.metric.rollup is not None and report.metric.rollup.name != report.name:
        raise ValueError(f"report {report.name!r}: its rollup must be stored under its name")
    _REPORTS[report.name] = report
    return report


def get(name: str) -> Report | None:
    """The report of that name, or None."""
    return _REPORTS.get(name)


def rolled_up() -> list[Report]:
    """The reports kept in daily rollups (service.reports.rollup)."""
    return [report for report in reports() if report.metric.rollup is not None]


def reports() -> list[Report]:
    """Every registered report, by section and order."""
    return sorted(_REPORTS.values(),
                  key=lambda report: (SECTIONS.index(report.section), report.order, report.name))
