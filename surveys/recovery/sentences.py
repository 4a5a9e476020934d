"""How the ticket timeline tells service-recovery events, in the reader's language."""
from __future__ import annotations

from flask_babel import gettext as _

from surveys.recovery.labels import KIND_LABELS, OUTCOME_LABELS, label
from tickets.models import TicketEvent
from tickets.ticket_page import EventNames, register_event_sentence


def _opened(event: TicketEvent, actor: str, names: EventNames):
    data = event.data or {}
    return _("The customer answered %(kind)s %(score)s: a service-recovery follow-up was "
             "opened.", kind=label(KIND_LABELS, data.get("survey_kind")),
             score=data.get("score", "?")), []


def _reopened(event: TicketEvent, actor: str, names: EventNames):
    data = event.data or {}
    if data.get("action") == "reopened":
        return _("The customer's survey comment says the problem is not solved, so the "
                 "ticket was reopened."), []
    return _("The customer's survey comment says the problem is not solved; a new ticket "
             "%(number)s was opened.", number=data.get("number") or "?"), []


def _closed(event: TicketEvent, actor: str, names: EventNames):
    data = event.data or {}
    return _("%(actor)s finished the service-recovery follow-up: %(outcome)s.", actor=actor,
             outcome=label(OUTCOME_LABELS, data.get("outcome"))), []


def register() -> None:
    """Teach the ticket timeline the recovery event kinds."""
    register_event_sentence("recovery_opened", _opened)
    register_event_sentence("recovery_reopened", _reopened)
    register_event_sentence("recovery_closed", _closed)
