"""JSON reports of the feedback loop under /api/v1/reports: NPS, CSAT, response rates,
service recovery and opportunities, for a period, grouped and filtered."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint
from marshmallow import Schema

from service.api import current_user, doc, query_args
from service.db_types import utcnow
from service.errors import InvalidInput
from service.reports import access
from surveys.reports import metrics, outcomes
from surveys.reports import dashboard as _dashboard  # noqa: F401  (registers the section)
from service.reports.query import Slice
from surveys.reports.schemas import (CsatReport, NpsReport, OpportunityReport,
                                     OpportunityReportQuery, RecoveryReport,
                                     RecoveryReportQuery, ResponseRateReport,
                                     SurveyReportQuery, grouping)

blueprint = Blueprint("survey_reports_api", __name__)

_survey_query, _recovery_query = SurveyReportQuery(), RecoveryReportQuery()
_opportunity_query = OpportunityReportQuery()
_FILTERS = ("team", "agent", "product", "account")
_TAGS = ["reports"]


def _report(schema: Schema, compute: Callable[..., dict[str, Any]], out: type[Schema],
            *, team_filters: bool = True) -> dict[str, Any]:
    """Parse the query, check the caller and scope, compute, and dump the report."""
    user = current_user()
    access.require_reader(user)
    args = query_args(schema)
    if not team_filters:
        refused = {name: ["Opportunities belong to accounts: filter them by account."]
                   for name in ("team", "agent", "product") if name in args}
        if refused:
            raise InvalidInput(errors=refused)
    team_ids = access.team_scope(user, args.get("team"))
    zone = access.report_zone(user, args.get("tz"))
    now = utcnow()
    start, end = access.resolve_period(args.get("from_"), args.get("to"), zone, now)
    filters = {name: args[name] for name in _FILTERS if name in args}
    period = Slice(start, end, team_ids=team_ids, **filters)
    group_by = grouping(args)
    result = compute(period, group_by, zone=zone, top=args["top"], now=now)
    return out().dump({"from_": start, "to": end, "zone": zone.key,
                       "group_by": group_by.value if group_by else None,
                       "filters": filters, **result})


def _without_now(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def compute(period, group_by, *, zone, top, now):
        return function(period, group_by, zone=zone, top=top)
    return compute


@blueprint.get("/reports/nps")
@doc("NPS (% promoters − % detractors) with its counts, by period, team, agent, product or "
     "account", tags=_TAGS, query=SurveyReportQuery, responses={200: NpsReport})
def nps():
    return _report(_survey_query, _without_now(metrics.nps), NpsReport)


@blueprint.get("/reports/csat")
@doc("CSAT average and % satisfied (4–5), overall and per dimension", tags=_TAGS,
     query=SurveyReportQuery, responses={200: CsatReport})
def csat():
    return _report(_survey_query, _without_now(metrics.csat), CsatReport)


@blueprint.get("/reports/survey-responses")
@doc("Survey response rates per kind: invitations sent in the period, opened and answered",
     tags=_TAGS, query=SurveyReportQuery, responses={200: ResponseRateReport})
def response_rates():
    return _report(_survey_query, _without_now(metrics.response_rates), ResponseRateReport)


@blueprint.get("/reports/recovery")
@doc("Service-recovery follow-ups opened, closed (in time), re-surveyed, won back; open now",
     tags=_TAGS, query=RecoveryReportQuery, responses={200: RecoveryReport})
def recovery():
    def compute(period, group_by, *, zone, top, now):
        return outcomes.recovery(period, now, group_by, zone=zone, top=top)
    return _report(_recovery_query, compute, RecoveryReport)


@blueprint.get("/reports/opportunities")
@doc("Opportunities created, contacted in time, won (and won value) and lost, by source",
     tags=_TAGS, query=OpportunityReportQuery, responses={200: OpportunityReport})
def opportunities():
    return _report(_opportunity_query, _without_now(outcomes.opportunities), OpportunityReport,
                   team_filters=False)
