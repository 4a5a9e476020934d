"""What the feedback loop led to: service-recovery follow-ups and sales opportunities.

Recovery (team, account and the account's tier are the follow-up's; agent and product
those of the answer that opened it; channel, priority and category those of its ticket, so
a follow-up of no ticket matches no filter on them and groups under no value):
- opened: follow-ups created in the period;
- closed: follow-ups closed in the period, of which closed in time (closed_at ≤ due_at),
  re-surveyed (a re-survey invitation was made) and won back (the re-survey's answer was
  CSAT ≥ 4 or NPS ≥ 7), out of those whose re-survey was answered;
- open now / overdue now: follow-ups open at `now` (past their due time), whatever the
  period (totals only).

Opportunities, by source (they belong to accounts, not to support teams or tickets, so
only the account and account tier filters apply and a lead's team scope does not narrow
them; an opportunity of a contact with no account has no tier):
- created in the period, of which contacted (ever) and contacted in time
  (contacted_at ≤ first_contact_due_at);
- won and lost: closed as such in the period, and the won value (sum of won_value).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select

from service.directory.models import Account
from service.extensions import db
from surveys.models import (Opportunity, OpportunitySource, OpportunityStatus,
                            RecoveryFollowUp, RecoveryStatus, SurveyResponse)
from surveys.reports.metrics import ticket_and_tier
from service.reports.engine import Metric, run
from service.reports.numbers import percent
from service.reports.query import (DEFAULT_TOP, Grouping, Part, Slice, count_if, sum_if)

# Made once: the join and the columns must name the same ticket and account aliases.
_JOIN_FOLLOW_UP, _FOLLOW_UP_FACTS = ticket_and_tier(RecoveryFollowUp.ticket_id,
                                                    RecoveryFollowUp.account_id, "fu_account")
# A follow-up's filters and groupings (see the module docstring for whose each one is).
RECOVERY_COLUMNS = {"team": RecoveryFollowUp.team_id, "agent": SurveyResponse.agent_id,
                    "product": SurveyResponse.product, "account": RecoveryFollowUp.account_id,
                    **_FOLLOW_UP_FACTS}
OPPORTUNITY_COLUMNS = {"tier": Account.tier, "account": Opportunity.account_id}


# ---------------------------------------------------------------------------- recovery

def _follow_ups() -> Any:
    """FROM recovery_follow_ups JOIN its answer, LEFT JOIN its ticket and its account."""
    answered = RecoveryFollowUp.__table__.join(
        SurveyResponse.__table__, SurveyResponse.id == RecoveryFollowUp.response_id)
    return _JOIN_FOLLOW_UP(answered)


def _recovery_conditions(period: Slice) -> list:
    """The slice's scope and filters on the follow-ups of _follow_ups()."""
    return period.conditions(RECOVERY_COLUMNS)


def _recovery_parts(period: Slice) -> list[Part]:
    conditions = _recovery_conditions(period)
    follow_up = RecoveryFollowUp
    return [
        Part(follow_up.created_at, {"opened": count_if()}, conditions,
             select_from=_follow_ups(), ticket=follow_up.ticket_id),
        Part(follow_up.closed_at, {
            "closed": count_if(),
            "closed_in_time": count_if(follow_up.closed_at <= follow_up.due_at),
            "resurveyed": count_if(follow_up.resurvey_invitation_id.is_not(None)),
            "resurvey_answered": count_if(follow_up.won_back.is_not(None)),
            "won_back": count_if(follow_up.won_back.is_(True)),
        }, conditions, select_from=_follow_ups(), ticket=follow_up.ticket_id),
    ]


def _recovery_numbers(row: dict[str, Any]) -> dict[str, Any]:
    closed = row.get("closed") or 0
    in_time = row.get("closed_in_time") or 0
    answered = row.get("resurvey_answered") or 0
    won_back = row.get("won_back") or 0
    return {"opened": row.get("opened") or 0, "closed": closed, "closed_in_time": in_time,
            "closed_in_time_percent": percent(in_time, closed),
            "resurveyed": row.get("resurveyed") or 0, "resurvey_answered": answered,
            "won_back": won_back, "won_back_percent": percent(won_back, answered)}


RECOVERY = Metric(_recovery_parts, {Grouping(name): [column] * 2
                                     for name, column in RECOVERY_COLUMNS.items()},
                  _recovery_numbers)


def open_follow_ups(period: Slice, now: datetime) -> dict[str, int]:
    """Follow-ups of the slice open at `now`, and how many of them are past due."""
    row = db.session.execute(
        select(func.count(), count_if(RecoveryFollowUp.due_at < now))
        .select_from(_follow_ups())
        .where(RecoveryFollowUp.status == RecoveryStatus.OPEN,
               *_recovery_conditions(period))).one()
    return {"open_now": row[0] or 0, "overdue_now": row[1] or 0}


def recovery(period: Slice, now: datetime, group_by: Grouping | None = None, *,
             zone: ZoneInfo | None = None, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """Recovery follow-ups opened, closed (in time), re-surveyed and won back; open now."""
    result = run(RECOVERY, period, group_by, zone=zone, top=top)
    return {**result, **recovery_extra(period, result, now)}


def recovery_extra(period: Slice, result: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Report.extra of the recovery report: the total gains open_now and overdue_now."""
    return {"total": {**result["total"], **open_follow_ups(period, now)}}


# ---------------------------------------------------------------------------- opportunities

def _opportunities() -> Any:
    """FROM opportunities LEFT JOIN their account (a contact's may have none)."""
    return Opportunity.__table__.outerjoin(Account.__table__,
                                           Account.id == Opportunity.account_id)


def _opportunity_parts(period: Slice) -> list[Part]:
    # Only the account filters apply, not the team scope (see the module docstring).
    conditions = Slice(period.start, period.end, tier=period.tier,
                       account=period.account).conditions(OPPORTUNITY_COLUMNS)
    won = Opportunity.status == OpportunityStatus.WON
    contacted = Opportunity.contacted_at.is_not(None)
    return [
        Part(Opportunity.created_at, {
            "created": count_if(),
            "contacted": count_if(contacted),
            "contacted_in_time": count_if(
                and_(contacted, Opportunity.contacted_at <= Opportunity.first_contact_due_at)),
        }, conditions, select_from=_opportunities()),
        Part(Opportunity.closed_at, {
            "won": count_if(won),
            "won_value": sum_if(func.coalesce(Opportunity.won_value, 0), won),
            "lost": count_if(Opportunity.status == OpportunityStatus.LOST),
        }, conditions, select_from=_opportunities()),
    ]


def _opportunity_numbers(row: dict[str, Any]) -> dict[str, Any]:
    created = row.get("created") or 0
    in_time = row.get("contacted_in_time") or 0
    won, lost = row.get("won") or 0, row.get("lost") or 0
    return {"created": created, "contacted": row.get("contacted") or 0,
            "contacted_in_time": in_time,
            "contacted_in_time_percent": percent(in_time, created),
            "won": won, "won_value": int(row.get("won_value") or 0), "lost": lost,
            "win_rate": percent(won, won + lost)}


OPPORTUNITIES = Metric(_opportunity_parts, {
    Grouping.SOURCE: [Opportunity.source] * 2,
    Grouping.TIER: [Account.tier] * 2,
    Grouping.ACCOUNT: [Opportunity.account_id] * 2,
}, _opportunity_numbers)


def opportunities(period: Slice, group_by: Grouping | None = None, *,
                  zone: ZoneInfo | None = None, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """Opportunities created, contacted in time, won (and value) and lost, with the same
    numbers for every source in "by_source" (all sources listed, zeros included)."""
    result = run(OPPORTUNITIES, period, group_by, zone=zone, top=top)
    result["by_source"] = by_source(period)
    return result


def by_source(period: Slice) -> list[dict[str, Any]]:
    """The opportunity numbers of every source (zeros included), in the enum's order."""
    groups = run(OPPORTUNITIES, period, Grouping.SOURCE, top=None, with_total=False)["groups"]
    found = {group["key"]: group for group in groups}
    empty = _opportunity_numbers({})
    return [found.get(source.value, {"key": source.value, "label": source.value, **empty})
            for source in OpportunitySource]


def opportunities_extra(period: Slice, result: dict[str, Any], now: datetime
                        ) -> dict[str, Any]:
    """Report.extra of the opportunities report: by_source beside the groups."""
    return {"by_source": by_source(period)}
