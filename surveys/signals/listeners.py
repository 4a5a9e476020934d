"""Reactions to survey and ticket events: queue the opportunity rules after the commit."""
from __future__ import annotations

from service import events, jobs
from surveys.signals import jobs as signal_jobs

CUSTOMER, PUBLIC, REOPENED = "customer", "public", "reopened"


@events.survey_answered.connect
def _answered(response_id: int, **_data) -> None:
    """A first answer or an edit: an edit may add a comment, or change the score."""
    jobs.enqueue(signal_jobs.scan_response, response_id)


@events.message_added.connect
def _message(ticket_id: int, *, message_id: int, visibility: str | None = None,
             author_kind: str | None = None, **_data) -> None:
    """Only a customer's public words can ask for something; staff replies and notes never."""
    if visibility == PUBLIC and author_kind == CUSTOMER:
        jobs.enqueue(signal_jobs.scan_message, message_id)


@events.ticket_created.connect
def _created(ticket_id: int, **_data) -> None:
    """The opening message sends no message_added: the subject and it are read here, and the
    customer's recent tickets counted."""
    jobs.enqueue(signal_jobs.scan_new_ticket, ticket_id)


@events.ticket_status_changed.connect
def _status_changed(ticket_id: int, *, current=None, **_data) -> None:
    """A reopened ticket (of a VIP account, the job checks) is a churn risk."""
    if current is not None and str(current) == REOPENED:
        jobs.enqueue(signal_jobs.check_reopened_ticket, ticket_id)
