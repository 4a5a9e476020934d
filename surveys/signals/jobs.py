"""Background entry points of the opportunity rules: take ids, evaluate, record, commit.

Reading texts for phrases runs here rather than in the request that added them, so intake
and survey pages stay fast; `record` keeps one open opportunity per account and kind, so a
job run twice (a retry, an edited answer) adds no evidence twice.
"""
from __future__ import annotations

from service.jobs import job
from surveys.opportunities.signal import Signal


def _record_all(signals: list[Signal]) -> None:
    from service.extensions import db
    from surveys.opportunities.services import record

    for signal in signals:
        record(signal)
    db.session.commit()


@job(queue="default")
def scan_response(response_id: int) -> None:
    """Rules 1–3 on a survey answer (first answers and edits alike)."""
    from surveys.signals.evaluate import for_response

    _record_all(for_response(response_id))


@job(queue="default")
def scan_message(message_id: int) -> None:
    """Rule 3 on a customer's public message."""
    from surveys.signals.evaluate import for_message

    _record_all(for_message(message_id))


@job(queue="default")
def scan_new_ticket(ticket_id: int) -> None:
    """Rules 3 and 4 on a ticket just opened: its words, and repeated problems."""
    from surveys.signals.ticket_rules import for_new_ticket

    _record_all(for_new_ticket(ticket_id))


@job(queue="default")
def check_reopened_ticket(ticket_id: int) -> None:
    """Rule 5 on a reopened ticket (a VIP account's is a churn risk)."""
    from surveys.signals.ticket_rules import for_reopened_ticket

    _record_all(for_reopened_ticket(ticket_id))
