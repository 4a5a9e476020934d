"""Opportunity words in the reader's language: kinds, sources, statuses and rule reasons."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from service.extensions import db
from surveys.models import (EvidenceKind, Opportunity, OpportunityKind, OpportunitySource,
                            OpportunityStatus, SignalRule)

KIND_LABELS = {
    OpportunityKind.UPSELL: _l("Upsell"), OpportunityKind.CROSS_SELL: _l("Cross-sell"),
    OpportunityKind.REFERRAL: _l("Referral"), OpportunityKind.RENEWAL: _l("Renewal"),
    OpportunityKind.CHURN_RISK: _l("Churn risk"),
}
SOURCE_LABELS = {
    OpportunitySource.NPS_PROMOTER: _l("NPS promoter"), OpportunitySource.CSAT: _l("CSAT"),
    OpportunitySource.TICKET_SIGNAL: _l("Ticket signal"),
    OpportunitySource.VIP_REVISIT: _l("VIP revisit"), OpportunitySource.MANUAL: _l("Manual"),
}
STATUS_LABELS = {
    OpportunityStatus.NEW: _l("New"), OpportunityStatus.CONTACTED: _l("Contacted"),
    OpportunityStatus.QUALIFIED: _l("Qualified"), OpportunityStatus.WON: _l("Won"),
    OpportunityStatus.LOST: _l("Lost"),
}
EVIDENCE_LABELS = {
    EvidenceKind.SURVEY_RESPONSE: _l("Survey answer"), EvidenceKind.TICKET: _l("Ticket"),
    EvidenceKind.MESSAGE: _l("Ticket message"), EvidenceKind.REVISIT: _l("VIP revisit call"),
    EvidenceKind.NOTE: _l("Note"),
}
# What a rule means, by its key's beginning (built-in rules end in _en / _zh and the like).
_RULE_REASONS = (
    ("nps_promoter", _l("The customer is an NPS promoter (9–10): ask for a referral or "
                        "offer more.")),
    ("nps_detractor", _l("The customer is an NPS detractor (0–6): they may leave.")),
    ("csat", _l("A low CSAT answer: the customer was unhappy with our service.")),
    ("repeat", _l("Repeated problems: several tickets in a short time.")),
    ("churn", _l("The customer talked about leaving or not renewing.")),
    ("reopen", _l("A ticket of this VIP account was reopened.")),
    ("more_seats", _l("The customer asked for more seats or accounts.")),
    ("higher_limit", _l("The customer asked for higher limits or capacity.")),
    ("limits", _l("The customer asked for higher limits or capacity.")),
    ("higher_plan", _l("The customer asked for features of a higher plan.")),
    ("plan", _l("The customer asked for features of a higher plan.")),
    ("product", _l("The customer asked about a product they do not own yet.")),
    ("cross_sell", _l("The customer asked about a product they do not own yet.")),
    ("vip_revisit", _l("Learned on a VIP revisit call.")),
    ("revisit", _l("Learned on a VIP revisit call.")),
    ("manual", _l("Opened by a colleague.")),
)


def kind_label(kind: OpportunityKind | str) -> str:
    """The kind in the reader's language."""
    return str(KIND_LABELS.get(OpportunityKind(kind), kind))


def source_label(source: OpportunitySource | str) -> str:
    """The source in the reader's language."""
    return str(SOURCE_LABELS.get(OpportunitySource(source), source))


def status_label(status: OpportunityStatus | str) -> str:
    """The status in the reader's language."""
    return str(STATUS_LABELS.get(OpportunityStatus(status), status))


def evidence_label(kind: EvidenceKind | str) -> str:
    """What a piece of evidence is, in the reader's language."""
    return str(EVIDENCE_LABELS.get(EvidenceKind(kind), kind))


def rule_reason(rule: str, names: dict[str, str] | None = None) -> str:
    """Why a rule fired, in the reader's language; an admin rule's own name otherwise."""
    for prefix, reason in _RULE_REASONS:
        if rule.startswith(prefix):
            return str(reason)
    if names and rule in names:
        return names[rule]
    return rule


def rule_names(rules: list[str]) -> dict[str, str]:
    """The admins' names of these rule keys (one query)."""
    if not rules:
        return {}
    return dict(db.session.execute(select(SignalRule.key, SignalRule.name)
                                   .where(SignalRule.key.in_(rules))).all())


def reason_text(opportunity: Opportunity) -> str:
    """The opportunity's reason as stored (written in English by the rule that made it)."""
    return opportunity.reason


TEMPLATE_HELPERS = {"opportunity_kind_label": kind_label,
                    "opportunity_source_label": source_label,
                    "opportunity_status_label": status_label,
                    "evidence_label": evidence_label}
