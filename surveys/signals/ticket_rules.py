"""The opportunity rules on tickets themselves: a new ticket's words, repeated problems, and
a VIP account's reopened ticket (rules 3–5 of surveys.signals.evaluate).

4. Repeated problems: when a new ticket brings the account's tickets (a contact's, without
   an account) in the last `repeat_window_days` to `repeat_ticket_threshold` or more →
   `churn_risk`, source `ticket_signal`; each such ticket is added as evidence, so the one
   open opportunity lists the tickets as they come.
5. A reopened ticket of a VIP account → `churn_risk`, source `ticket_signal`.
"""
from __future__ import annotations

from datetime import timedelta

from service.directory.models import Account, Tier
from service.extensions import db
from surveys import settings as survey_settings
from surveys.models import EvidenceKind, OpportunityKind, OpportunitySource
from surveys.opportunities.signal import Evidence, Signal
from surveys.signals.evaluate import CUSTOMER, merge, phrase_signals, quote
from tickets import facts
from tickets.facts import TicketFacts
from tickets.models import format_number

REPEATED_RULE = "repeated_problems"
VIP_REOPENED_RULE = "reopened_vip"


def _first_message(ticket_id: int) -> facts.MessageFacts | None:
    # ticket_created does not send message_added for the customer's opening message.
    return facts.first_message_facts(ticket_id)


def _words_of(ticket: TicketFacts) -> list[Signal]:
    """Rule 3 on a new ticket: its subject and the customer's first message."""
    customer = {"account_id": ticket.account_id, "contact_id": ticket.contact_id}
    number = format_number(ticket.id)
    signals = phrase_signals(ticket.subject, evidence_kind=EvidenceKind.TICKET,
                             ref_id=ticket.id, source=OpportunitySource.TICKET_SIGNAL,
                             where=f"the subject of ticket {number}", **customer)
    message = _first_message(ticket.id)
    if message is not None and message.author_kind == CUSTOMER:
        signals += phrase_signals(message.body, evidence_kind=EvidenceKind.MESSAGE,
                                  ref_id=message.id, source=OpportunitySource.TICKET_SIGNAL,
                                  where=f"the first message of ticket {number}", **customer)
    return signals


def repeated_problems(ticket: TicketFacts) -> Signal | None:
    """Rule 4: a churn-risk Signal when the customer's recent tickets reach the threshold."""
    settings = survey_settings.current()
    days, threshold = settings.repeat_window_days, settings.repeat_ticket_threshold
    since = ticket.created_at - timedelta(days=days)
    if ticket.account_id is not None:
        count = facts.recent_ticket_count(since, account_id=ticket.account_id)
    else:
        count = facts.recent_ticket_count(since, contact_id=ticket.contact_id)
    if count < threshold:
        return None
    who = "The account" if ticket.account_id is not None else "The customer"
    return Signal(
        kind=OpportunityKind.CHURN_RISK, source=OpportunitySource.TICKET_SIGNAL,
        reason=(f"Repeated problems: {who.lower()} opened {count} tickets in {days} days "
                f"(threshold {threshold}); the latest is {format_number(ticket.id)}: "
                f'"{quote(ticket.subject)}"'),
        evidence=(Evidence(EvidenceKind.TICKET, ticket.id, REPEATED_RULE,
                           phrase=f"{count} tickets in {days} days",
                           excerpt=quote(ticket.subject, 300)),),
        account_id=ticket.account_id, contact_id=ticket.contact_id)


def for_new_ticket(ticket_id: int) -> list[Signal]:
    """Rules 3 and 4 on a ticket just opened."""
    ticket = facts.ticket_facts(ticket_id)
    if ticket is None:
        return []
    signals = _words_of(ticket)
    repeated = repeated_problems(ticket)
    if repeated is not None:
        signals.append(repeated)
    return merge(signals)


def for_reopened_ticket(ticket_id: int) -> list[Signal]:
    """Rule 5: a VIP account's ticket was reopened."""
    ticket = facts.ticket_facts(ticket_id)
    if ticket is None or ticket.account_id is None:
        return []
    account = db.session.get(Account, ticket.account_id)
    if account is None or account.tier != Tier.VIP:
        return []
    return [Signal(
        kind=OpportunityKind.CHURN_RISK, source=OpportunitySource.TICKET_SIGNAL,
        reason=(f"VIP account {account.name} reopened ticket {format_number(ticket.id)}: "
                f'"{quote(ticket.subject)}" (reopened {ticket.reopen_count} '
                f"time{'s' if ticket.reopen_count != 1 else ''})"),
        evidence=(Evidence(EvidenceKind.TICKET, ticket.id, VIP_REOPENED_RULE,
                           phrase="reopened", excerpt=quote(ticket.subject, 300)),),
        account_id=ticket.account_id, contact_id=ticket.contact_id)]
