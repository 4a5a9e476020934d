"""Survey numbers: NPS, CSAT per dimension, and response rates, for a period and slice.

Every count and sum is an SQL aggregate (COUNT … FILTER, SUM, GROUP BY) over the stored
responses or invitations; only the divisions are done in Python (see numbers.py).

- NPS counts NPS answers given in the period (`created_at`): promoters score 9–10,
  passives 7–8, detractors 0–6; NPS = % promoters − % detractors, one decimal.
- CSAT counts CSAT answers given in the period: the average overall score and per
  dimension (service attitude, resolution efficiency, final outcome; each optional, so
  each has its own count), two decimals, and % satisfied (score 4–5), one decimal.
- Response rates count invitations by the moment they were sent (`sent_at` in the
  period), per kind: how many were opened (the page shown at least once) and answered,
  whenever that happened; rates are of those sent.

Answers and invitations keep the team, agent, product and account of the ticket (or
account) they came from, so they are counted by who served the customer then. NPS and
CSAT answers are also joined to their ticket (tickets.analytics.dimensions.service_facts):
they can be grouped by whether it breached an SLA target, how often it was reopened, how
many departments worked on it, its channel, priority, category and account tier, and
filtered by the last four; answers without a ticket fall in the group of no value.

Invitations (and recovery follow-ups, surveys.reports.outcomes) reach their ticket's
channel, priority and category the same way, but take the tier of their own account: a
relationship NPS invitation has no ticket, yet has the account of its contact, and the
tier groups then add up to the account groups.
"""
from __future__ import annotations

from typing import Any, Callable
from zoneinfo import ZoneInfo

from service.directory.models import Account
from surveys.models import Invitation, SurveyKind, SurveyResponse
from tickets.analytics.dimensions import service_facts
from service.reports.engine import Metric, run
from service.reports.numbers import average, nps_score, percent
from service.reports.query import DEFAULT_TOP, Grouping, Part, Slice, count_if, sum_if
from service.reports.rollup import Rollup

DIMENSIONS = ("attitude", "efficiency", "outcome")
PROMOTER_MIN, DETRACTOR_MAX = 9, 6
SATISFIED_MIN = 4

RESPONSE_COLUMNS = {"team": SurveyResponse.team_id, "agent": SurveyResponse.agent_id,
                    "product": SurveyResponse.product, "account": SurveyResponse.account_id}
INVITATION_COLUMNS = {"team": Invitation.team_id, "agent": Invitation.agent_id,
                      "product": Invitation.product, "account": Invitation.account_id}


# Made once: the join, the groupings and the filters must name the same ticket alias.
_JOIN_TICKET, _TICKET_GROUPINGS, _TICKET_FILTERS = service_facts(SurveyResponse.ticket_id)
# An answer's filter columns: its own team, agent, product, account; its ticket's others.
ANSWER_FILTERS = {**RESPONSE_COLUMNS, **_TICKET_FILTERS}


def _dimensions(columns: dict[str, Any]) -> dict[Grouping, list[Any]]:
    return {Grouping(name): [column] for name, column in columns.items()}


def ticket_and_tier(ticket_id: Any, account_id: Any, name: str
                    ) -> tuple[Callable[[Any], Any], dict[str, Any]]:
    """The outer joins to add to the FROM of rows pointing at a ticket and an account of
    their own (`name` names the account's alias), and the filter columns they add: the
    ticket's channel, priority and category, and the tier of the row's own account."""
    join_ticket, _groupings, ticket = service_facts(ticket_id)
    account = Account.__table__.alias(name)

    def join(source: Any) -> Any:
        return join_ticket(source).outerjoin(account, account.c.id == account_id)

    # The row's own account, not the ticket's: rows of no ticket still have a tier.
    return join, {"channel": ticket["channel"], "priority": ticket["priority"],
                  "category": ticket["category"], "tier": account.c.tier}


def _answers() -> Any:
    """FROM survey_responses LEFT JOIN its ticket (and the ticket's account)."""
    return _JOIN_TICKET(SurveyResponse.__table__)


# Answers group by their own team, agent, product and account, and by their ticket's facts.
ANSWER_DIMENSIONS = {**_dimensions(RESPONSE_COLUMNS),
                     **{grouping: [expression] for grouping, expression
                        in _TICKET_GROUPINGS.items()}}


# ---------------------------------------------------------------------------- NPS

def _nps_parts(period: Slice) -> list[Part]:
    score = SurveyResponse.score
    return [Part(SurveyResponse.created_at, {
        "total": count_if(),
        "promoters": count_if(score >= PROMOTER_MIN),
        "passives": count_if(score > DETRACTOR_MAX, score < PROMOTER_MIN),
        "detractors": count_if(score <= DETRACTOR_MAX),
    }, [SurveyResponse.kind == SurveyKind.NPS, *period.conditions(ANSWER_FILTERS)],
        select_from=_answers(), ticket=SurveyResponse.ticket_id)]


def _nps_numbers(row: dict[str, Any]) -> dict[str, Any]:
    total = row.get("total") or 0
    promoters, passives = row.get("promoters") or 0, row.get("passives") or 0
    detractors = row.get("detractors") or 0
    return {"responses": total, "promoters": promoters, "passives": passives,
            "detractors": detractors,
            "promoters_percent": percent(promoters, total),
            "passives_percent": percent(passives, total),
            "detractors_percent": percent(detractors, total),
            "nps": nps_score(promoters, detractors, total)}


NPS = Metric(_nps_parts, ANSWER_DIMENSIONS, _nps_numbers)


def nps(period: Slice, group_by: Grouping | None = None, *, zone: ZoneInfo | None = None,
        top: int = DEFAULT_TOP) -> dict[str, Any]:
    """NPS with its counts over the period, and by time bucket or dimension if asked."""
    return run(NPS, period, group_by, zone=zone, top=top)


# ---------------------------------------------------------------------------- CSAT

def _csat_parts(period: Slice) -> list[Part]:
    measures: dict[str, Any] = {
        "total": count_if(),
        "score_sum": sum_if(SurveyResponse.score),
        "satisfied": count_if(SurveyResponse.score >= SATISFIED_MIN),
    }
    for name in DIMENSIONS:
        column = getattr(SurveyResponse, name)
        measures[f"{name}_count"] = count_if(column.is_not(None))
        measures[f"{name}_sum"] = sum_if(column)
        measures[f"{name}_satisfied"] = count_if(column >= SATISFIED_MIN)
    return [Part(SurveyResponse.created_at, measures,
                 [SurveyResponse.kind == SurveyKind.CSAT, *period.conditions(ANSWER_FILTERS)],
                 select_from=_answers(), ticket=SurveyResponse.ticket_id)]


def _csat_numbers(row: dict[str, Any]) -> dict[str, Any]:
    total = row.get("total") or 0
    satisfied = row.get("satisfied") or 0
    dimensions = {}
    for name in DIMENSIONS:
        answered = row.get(f"{name}_count") or 0
        happy = row.get(f"{name}_satisfied") or 0
        dimensions[name] = {"answered": answered,
                            "average": average(row.get(f"{name}_sum"), answered),
                            "satisfied": happy, "satisfied_percent": percent(happy, answered)}
    return {"responses": total, "average": average(row.get("score_sum"), total),
            "satisfied": satisfied, "satisfied_percent": percent(satisfied, total),
            "dimensions": dimensions}


CSAT = Metric(_csat_parts, ANSWER_DIMENSIONS, _csat_numbers)


def csat(period: Slice, group_by: Grouping | None = None, *, zone: ZoneInfo | None = None,
         top: int = DEFAULT_TOP) -> dict[str, Any]:
    """CSAT average and % satisfied, overall and per dimension, with counts."""
    return run(CSAT, period, group_by, zone=zone, top=top)


# ---------------------------------------------------------------------------- response rate

# Made once, like _JOIN_TICKET: the join and the columns must name the same aliases.
_JOIN_INVITATION, _INVITATION_FACTS = ticket_and_tier(Invitation.ticket_id,
                                                      Invitation.account_id, "inv_account")
# An invitation's filters and groupings: its own team, agent, product, account and tier;
# its ticket's channel, priority and category.
INVITATION_FILTERS = {**INVITATION_COLUMNS, **_INVITATION_FACTS}


def _invitations() -> Any:
    """FROM survey_invitations LEFT JOIN its ticket and its own account."""
    return _JOIN_INVITATION(Invitation.__table__)


def _rate_parts(period: Slice) -> list[Part]:
    measures: dict[str, Any] = {}
    opened = Invitation.opened_at.is_not(None) | Invitation.answered_at.is_not(None)
    for kind in SurveyKind:
        is_kind = Invitation.kind == kind
        measures[f"{kind.value}_sent"] = count_if(is_kind)
        measures[f"{kind.value}_opened"] = count_if(is_kind, opened)
        measures[f"{kind.value}_answered"] = count_if(is_kind, Invitation.answered_at.is_not(None))
    # "sent" first: the top groups are those sent the most invitations.
    ordered = {"sent": count_if(), **measures}
    return [Part(Invitation.sent_at, ordered, period.conditions(INVITATION_FILTERS),
                 select_from=_invitations())]


def _rate_numbers(row: dict[str, Any]) -> dict[str, Any]:
    result = {}
    for kind in SurveyKind:
        sent = row.get(f"{kind.value}_sent") or 0
        opened = row.get(f"{kind.value}_opened") or 0
        answered = row.get(f"{kind.value}_answered") or 0
        result[kind.value] = {"sent": sent, "opened": opened, "answered": answered,
                              "open_rate": percent(opened, sent),
                              "response_rate": percent(answered, sent)}
    return result


# Kept in daily rollups per team (a lead sees invitations of no team too) and per slice:
# an invitation opened or answered days after it was sent shows once its day is rebuilt.
RESPONSE_RATES = Metric(_rate_parts, _dimensions(INVITATION_FILTERS), _rate_numbers,
                        rollup=Rollup("survey-responses", teamless=True,
                                      details=(Grouping.AGENT, Grouping.CHANNEL,
                                               Grouping.PRIORITY, Grouping.CATEGORY,
                                               Grouping.PRODUCT, Grouping.TIER)))


def response_rates(period: Slice, group_by: Grouping | None = None, *,
                   zone: ZoneInfo | None = None, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """Per kind: invitations sent in the period, how many were opened and answered."""
    return run(RESPONSE_RATES, period, group_by, zone=zone, top=top)
