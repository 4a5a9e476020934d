"""Recompute an account's health when one of its inputs changes (after the commit)."""
from __future__ import annotations

from service import events, jobs
from service.extensions import db
from surveys.health import priority
from surveys.models import SurveyResponse
from tickets import facts

priority.register()


def _for_ticket(ticket_id: int) -> None:
    ticket = facts.ticket_facts(ticket_id)
    if ticket is not None and ticket.account_id is not None:
        from surveys.health.jobs import recompute_health

        jobs.enqueue(recompute_health, ticket.account_id)


@events.survey_answered.connect
def _answered(response_id: int, **_data) -> None:
    response = db.session.get(SurveyResponse, response_id)
    if response is not None and response.account_id is not None:
        from surveys.health.jobs import recompute_health

        jobs.enqueue(recompute_health, response.account_id)


@events.ticket_created.connect
def _created(ticket_id: int, **_data) -> None:
    _for_ticket(ticket_id)


@events.ticket_closed.connect
def _closed(ticket_id: int, **_data) -> None:
    _for_ticket(ticket_id)


@events.ticket_status_changed.connect
def _reopened(ticket_id: int, *, current: object = None, **_data) -> None:
    if current == "reopened":  # tickets.models.Status is a StrEnum
        _for_ticket(ticket_id)


@events.sla_breached.connect
def _breached(ticket_id: int, **_data) -> None:
    _for_ticket(ticket_id)
