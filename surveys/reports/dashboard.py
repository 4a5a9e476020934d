"""The dashboard's "Customer satisfaction and sales" section: NPS and CSAT with their trends,
response rates, recovery follow-ups and opportunities by source.

Counts the rows of the dashboard's scope (the lead's teams, or the team chosen) over the
dashboard's period [start, now]. The trends cover the same period by local day (at least
the last 7 days, so "today" still shows a trend). Opportunities are counted for every
account: they belong to sales, not to support teams.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.console import charts
from service.console.dashboard import register_section
from service.templating import display_zone
from surveys.models import OpportunitySource
from surveys.reports import metrics, outcomes
from service.reports.query import Grouping, Slice
from tickets.reports import Period, Scope

SOURCE_LABELS = {
    OpportunitySource.NPS_PROMOTER: _l("NPS promoter"), OpportunitySource.CSAT: _l("CSAT"),
    OpportunitySource.TICKET_SIGNAL: _l("Ticket signal"),
    OpportunitySource.VIP_REVISIT: _l("VIP revisit"), OpportunitySource.MANUAL: _l("Manual"),
}
DIMENSION_LABELS = {"attitude": _l("Service attitude"), "efficiency": _l("Resolution efficiency"),
                    "outcome": _l("Final outcome")}
KIND_LABELS = {"csat": _l("CSAT"), "nps": _l("NPS")}
TREND_MIN_DAYS = 7


def _text(value: float | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value:.1f}{suffix}"


def section_context(user: User, scope: Scope, period: Period, starts: dict[Period, datetime],
                    now: datetime) -> dict[str, Any] | None:
    """The section's numbers and charts, or None for a user who may not see survey numbers."""
    if not can(user, Permission.SURVEY_VIEW):
        return None
    end = now + timedelta(microseconds=1)  # the dashboard's periods include `now`
    counted = Slice(starts[period], end, team_ids=scope.team_ids)
    trend_start = min(starts[period], starts[Period.WEEK])
    trended = Slice(trend_start, end, team_ids=scope.team_ids)
    zone = display_zone()
    nps_trend = metrics.nps(trended, Grouping.DAY, zone=zone)["groups"]
    csat_trend = metrics.csat(trended, Grouping.DAY, zone=zone)["groups"]
    nps = metrics.nps(counted)["total"]
    csat = metrics.csat(counted)["total"]
    sales = outcomes.opportunities(Slice(starts[period], end))
    return {
        "nps": nps, "csat": csat,
        "dimensions": [{"label": str(DIMENSION_LABELS[name]), **numbers}
                       for name, numbers in csat["dimensions"].items()],
        "rates": [{"label": str(KIND_LABELS[kind]), **numbers} for kind, numbers in
                  metrics.response_rates(counted)["total"].items()],
        "recovery": outcomes.recovery(counted, now)["total"],
        "sales": sales["total"],
        "sources": [{**row, "label": str(SOURCE_LABELS[OpportunitySource(row["key"])])}
                    for row in sales["by_source"]],
        "nps_chart": charts.trend_chart(
            "chart-nps-trend", _("NPS by day"),
            [charts.Point(group["key"], group["nps"], _text(group["nps"])) for group in nps_trend],
            low=-100.0, high=100.0) if nps["responses"] or _any(nps_trend) else None,
        "csat_chart": charts.trend_chart(
            "chart-csat-trend", _("Average CSAT by day"),
            [charts.Point(group["key"], group["average"], _text(group["average"]))
             for group in csat_trend], low=0.0, high=5.0)
        if csat["responses"] or _any(csat_trend) else None,
        "dimension_chart": charts.bar_chart(
            "chart-csat-dimensions", _("Percent satisfied (4–5) per dimension"),
            [charts.Bar(str(DIMENSION_LABELS[name]), numbers["satisfied_percent"] or 0.0,
                        _text(numbers["satisfied_percent"], " %"))
             for name, numbers in csat["dimensions"].items()], max_value=100.0)
        if any(numbers["answered"] for numbers in csat["dimensions"].values()) else None,
        "trend_days": max(1, len(nps_trend)),
    }


def _any(groups: list[dict[str, Any]]) -> bool:
    return any(group["responses"] for group in groups)


register_section("customer_feedback", "surveys/dashboard/section.html", section_context,
                 order=100)
