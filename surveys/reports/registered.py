"""The feedback reports, registered with service.reports: NPS, CSAT and survey response
rates (section "satisfaction"), service recovery and opportunities (section "sales").

They are served by GET /api/v1/reports/<name> with the shape and query parameters the
former per-report routes had (the result adds `metric` and `previous`). Importing this
module registers them, and the console dashboard's feedback section.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from service.auth.permissions import Permission
from service.reports.query import FILTERS
from service.reports.registry import Column, Report, Unit, register
from surveys.reports import dashboard as _dashboard  # noqa: F401  (registers the section)
from surveys.reports import metrics, outcomes
from surveys.reports.schemas import (CsatNumbers, NpsNumbers, OpportunityNumbers,
                                     RatesNumbers, RecoveryNumbers)

READERS = (Permission.DASHBOARD, Permission.SURVEY_VIEW)
# Answers, invitations and follow-ups carry their own team, agent, product and account,
# and reach their ticket's channel, priority and category and an account's tier; none of
# them belongs to a department.
ANSWER_FILTERS = ("team", "agent", "channel", "priority", "category", "product", "tier",
                  "account")
# Opportunities belong to accounts: every filter but those of the account is refused.
ACCOUNT_FILTERS = ("tier", "account")
_ACCOUNTS_ONLY = _l("Opportunities belong to accounts, not to teams or tickets: filter them "
                    "by account or account tier.")

NPS = register(Report(
    name="nps",
    title=_l("NPS"),
    description=_l("Net Promoter Score (promoters minus detractors, in percent) of the NPS "
                   "answers given in the period, with its counts; also by whether the ticket "
                   "breached its SLA, its reopens and the departments that worked on it."),
    metric=metrics.NPS,
    numbers=NpsNumbers,
    columns=(Column("nps", _l("NPS"), Unit.SCORE, better="up"),
             Column("responses", _l("Answers"), Unit.COUNT, drill="total"),
             Column("promoters", _l("Promoters"), Unit.COUNT, drill="promoters", better="up"),
             Column("passives", _l("Passives"), Unit.COUNT, drill="passives"),
             Column("detractors", _l("Detractors"), Unit.COUNT, drill="detractors",
                    better="down"),
             Column("promoters_percent", _l("Promoters"), Unit.PERCENT, better="up"),
             Column("detractors_percent", _l("Detractors"), Unit.PERCENT, better="down")),
    section="satisfaction",
    filters=ANSWER_FILTERS,
    readers=READERS,
    order=10,
))

CSAT = register(Report(
    name="csat",
    title=_l("CSAT"),
    description=_l("Average CSAT score (1–5) and the share satisfied (4–5) of the CSAT "
                   "answers given in the period, overall and per dimension; also by whether "
                   "the ticket breached its SLA, its reopens and the departments that worked "
                   "on it."),
    metric=metrics.CSAT,
    numbers=CsatNumbers,
    columns=(Column("average", _l("Average score"), Unit.SCORE, better="up"),
             Column("responses", _l("Answers"), Unit.COUNT, drill="total"),
             Column("satisfied", _l("Satisfied (4–5)"), Unit.COUNT, drill="satisfied",
                    better="up"),
             Column("satisfied_percent", _l("Satisfied (4–5)"), Unit.PERCENT, better="up"),
             Column("dimensions.attitude.average", _l("Service attitude"), Unit.SCORE,
                    better="up"),
             Column("dimensions.efficiency.average", _l("Resolution efficiency"), Unit.SCORE,
                    better="up"),
             Column("dimensions.outcome.average", _l("Final outcome"), Unit.SCORE,
                    better="up")),
    section="satisfaction",
    filters=ANSWER_FILTERS,
    readers=READERS,
    order=20,
))

RESPONSE_RATES = register(Report(
    name="survey-responses",
    title=_l("Survey response rates"),
    description=_l("Per survey kind: invitations sent in the period, and how many of them "
                   "were opened and answered."),
    metric=metrics.RESPONSE_RATES,
    numbers=RatesNumbers,
    columns=(Column("csat.response_rate", _l("CSAT response rate"), Unit.PERCENT, better="up"),
             Column("csat.sent", _l("CSAT invitations sent")),
             Column("csat.answered", _l("CSAT invitations answered")),
             Column("csat.open_rate", _l("CSAT open rate"), Unit.PERCENT, better="up"),
             Column("nps.response_rate", _l("NPS response rate"), Unit.PERCENT, better="up"),
             Column("nps.sent", _l("NPS invitations sent")),
             Column("nps.answered", _l("NPS invitations answered")),
             Column("nps.open_rate", _l("NPS open rate"), Unit.PERCENT, better="up")),
    section="satisfaction",
    filters=ANSWER_FILTERS,
    readers=READERS,
    order=30,
))

RECOVERY = register(Report(
    name="recovery",
    title=_l("Service recovery"),
    description=_l("Follow-ups of unhappy answers opened and closed in the period, closed in "
                   "time, re-surveyed and won back; those open and overdue right now."),
    metric=outcomes.RECOVERY,
    numbers=RecoveryNumbers,
    columns=(Column("opened", _l("Opened"), Unit.COUNT, drill="opened"),
             Column("closed", _l("Closed"), Unit.COUNT, drill="closed"),
             Column("closed_in_time_percent", _l("Closed in time"), Unit.PERCENT, better="up"),
             Column("won_back", _l("Won back"), Unit.COUNT, drill="won_back", better="up"),
             Column("won_back_percent", _l("Won back"), Unit.PERCENT, better="up"),
             Column("open_now", _l("Open now")),
             Column("overdue_now", _l("Overdue now"), better="down")),
    section="sales",
    filters=ANSWER_FILTERS,
    readers=READERS,
    order=10,
    extra=outcomes.recovery_extra,
))

OPPORTUNITIES = register(Report(
    name="opportunities",
    title=_l("Opportunities"),
    description=_l("Sales opportunities created in the period, contacted in time, won (and "
                   "their value) and lost, by source. They belong to accounts, not to teams."),
    metric=outcomes.OPPORTUNITIES,
    numbers=OpportunityNumbers,
    columns=(Column("created", _l("Created")),
             Column("contacted_in_time_percent", _l("Contacted in time"), Unit.PERCENT,
                    better="up"),
             Column("won", _l("Won"), better="up"),
             Column("won_value", _l("Won value"), Unit.MONEY, better="up"),
             Column("lost", _l("Lost"), better="down"),
             Column("win_rate", _l("Win rate"), Unit.PERCENT, better="up")),
    section="sales",
    filters=ACCOUNT_FILTERS,
    readers=READERS,
    refusals={name: _ACCOUNTS_ONLY for name in FILTERS if name not in ACCOUNT_FILTERS},
    order=20,
    extra=outcomes.opportunities_extra,
))
