"""The opportunity rules: when a survey answer or a customer's words warrant a call.

Each function returns the `Signal`s one event warrants (it stores nothing); the jobs hand
them to `surveys.opportunities.services.record`, which keeps one open opportunity per
account and kind. The rules:

1. An NPS promoter (9–10) → `referral`, source `nps_promoter`.
2. An NPS detractor (0–6) → `churn_risk`, source `csat` — "csat" stands for any survey
   answer that is not a promoter's.
3. A survey comment, or a customer's public message on a ticket (its subject too, when
   the ticket is opened), matching a phrase rule → the rule's kind (upsell, cross_sell with
   the rule's product suggested, churn_risk, referral); source `nps_promoter` for a
   promoter's comment, `csat` for any other survey comment, `ticket_signal` for tickets.
   A cross-sell rule stays silent when the account already owns its product.
4. Repeated problems and 5. a reopened VIP ticket: surveys.signals.ticket_rules.

Matches of one kind in one text make one Signal with one piece of evidence per rule.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from service.directory.models import AccountProduct
from service.extensions import db
from surveys.models import (EvidenceKind, OpportunityKind, OpportunitySource, SurveyKind,
                            SurveyResponse)
from surveys.opportunities.signal import Evidence, Signal
from surveys.signals import detect
from tickets.facts import message_facts, ticket_facts
from tickets.models import format_number

PROMOTER_MIN = 9  # NPS 9–10
DETRACTOR_MAX = 6  # NPS 0–6
QUOTE_MAX = 200  # how much of a comment a reason quotes
CUSTOMER, PUBLIC = "customer", "public"


def quote(text: str | None, limit: int = QUOTE_MAX) -> str:
    """A customer's words for a reason: one line, cut to `limit` characters."""
    words = " ".join((text or "").split())
    return words if len(words) <= limit else words[:limit - 1].rstrip() + "…"


def owned_products(account_id: int | None) -> set[str]:
    """The account's products, case-folded (none without an account)."""
    if account_id is None:
        return set()
    return {name.casefold() for name in db.session.scalars(
        select(AccountProduct.product).where(AccountProduct.account_id == account_id))}


def _wanted(matches: Iterable[detect.Match], account_id: int | None) -> list[detect.Match]:
    """The matches worth a call: cross-sell only for a product the account does not own."""
    owned: set[str] | None = None
    kept = []
    for match in matches:
        if match.kind == OpportunityKind.CROSS_SELL:
            owned = owned_products(account_id) if owned is None else owned
            if not match.product or match.product.casefold() in owned:
                continue  # owning it, the customer asks for help, not for a purchase
        kept.append(match)
    return kept


def phrase_signals(text: str | None, *, account_id: int | None, contact_id: int | None,
                   evidence_kind: EvidenceKind, ref_id: int | None,
                   source: OpportunitySource, where: str) -> list[Signal]:
    """Rule 3: one Signal per opportunity kind the text's phrases warrant."""
    if not text or not text.strip():
        return []
    by_kind: dict[OpportunityKind, list[detect.Match]] = {}
    for match in _wanted(detect.detect(text), account_id):
        by_kind.setdefault(OpportunityKind(match.kind), []).append(match)
    signals = []
    for kind, matches in by_kind.items():
        reason = "; ".join(f'{match.rule_name}: "{quote(match.excerpt)}" '
                           f'(matched "{match.phrase}" in {where})' for match in matches)
        evidence = tuple(Evidence(kind=evidence_kind, ref_id=ref_id, rule=match.rule_key,
                                  phrase=match.phrase, excerpt=match.excerpt)
                         for match in matches)
        products = tuple(dict.fromkeys(match.product for match in matches if match.product))
        signals.append(Signal(kind=kind, source=source, reason=reason, evidence=evidence,
                              account_id=account_id, contact_id=contact_id,
                              suggested_products=products))
    return signals


def merge(signals: Iterable[Signal]) -> list[Signal]:
    """One Signal per kind: evidence, reasons and products of the same kind put together."""
    merged: dict[OpportunityKind, Signal] = {}
    for signal in signals:
        kind = OpportunityKind(signal.kind)
        first = merged.get(kind)
        if first is None:
            merged[kind] = signal
            continue
        merged[kind] = Signal(
            kind=kind, source=first.source, reason=f"{first.reason}; {signal.reason}",
            evidence=first.evidence + tuple(item for item in signal.evidence
                                            if item not in first.evidence),
            account_id=first.account_id, contact_id=first.contact_id,
            suggested_products=tuple(dict.fromkeys(first.suggested_products
                                                   + signal.suggested_products)),
            estimated_value=first.estimated_value)
    return list(merged.values())


def for_response(response_id: int) -> list[Signal]:
    """Rules 1–3 on a survey answer: its score (NPS) and its comment (CSAT and NPS)."""
    response = db.session.get(SurveyResponse, response_id)
    if response is None:
        return []
    promoter = response.kind == SurveyKind.NPS and response.score >= PROMOTER_MIN
    customer = {"account_id": response.account_id, "contact_id": response.contact_id}
    signals = []
    said = f' and wrote: "{quote(response.comment)}"' if (response.comment or "").strip() else ""
    excerpt = quote(response.comment, detect.EXCERPT_MAX) or None
    if promoter:
        signals.append(Signal(
            kind=OpportunityKind.REFERRAL, source=OpportunitySource.NPS_PROMOTER,
            reason=f"NPS promoter: the customer scored {response.score} of 10{said}",
            evidence=(Evidence(EvidenceKind.SURVEY_RESPONSE, response.id, "nps_promoter",
                               excerpt=excerpt),), **customer))
    elif response.kind == SurveyKind.NPS and response.score <= DETRACTOR_MAX:
        signals.append(Signal(
            kind=OpportunityKind.CHURN_RISK, source=OpportunitySource.CSAT,
            reason=f"NPS detractor: the customer scored {response.score} of 10{said}",
            evidence=(Evidence(EvidenceKind.SURVEY_RESPONSE, response.id, "nps_detractor",
                               excerpt=excerpt),), **customer))
    survey = "NPS" if response.kind == SurveyKind.NPS else "CSAT"
    signals += phrase_signals(
        response.comment, evidence_kind=EvidenceKind.SURVEY_RESPONSE, ref_id=response.id,
        source=OpportunitySource.NPS_PROMOTER if promoter else OpportunitySource.CSAT,
        where=f"a {survey} survey comment (score {response.score})", **customer)
    return merge(signals)


def for_message(message_id: int) -> list[Signal]:
    """Rule 3 on a ticket message: only a customer's public words count."""
    message = message_facts(message_id)
    if message is None or message.author_kind != CUSTOMER or message.visibility != PUBLIC:
        return []
    ticket = ticket_facts(message.ticket_id)
    if ticket is None:
        return []
    return phrase_signals(message.body, account_id=ticket.account_id,
                          contact_id=ticket.contact_id, evidence_kind=EvidenceKind.MESSAGE,
                          ref_id=message.id, source=OpportunitySource.TICKET_SIGNAL,
                          where=f"a message on ticket {format_number(ticket.id)}")
