"""Ticket events published as outbound webhooks (service.notify.webhooks).

Every payload's `data` is the ticket summary below plus the event's own fields. It holds
ids, the subject and workflow facts only: no customer email, name or phone, no message
text. A receiver that needs more asks the API with its own token, under its own rights.

- ticket.created      the summary (already assigned when intake assigned it)
- ticket.updated      + "change": {"field": "status"|"priority"|"assignee_id"|"team_id"|
                      "category"|"tags", "from", "to"}
- ticket.resolved     the summary
- ticket.closed       the summary
- ticket.sla_warning / ticket.sla_breached   + "target", "due_at"

Listeners run inside the sender's transaction; with no webhook subscribed they cost one
cached lookup (the SLA sweep sends thousands of events per batch).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from service import events
from service.db_types import utcnow
from service.extensions import db
from service.notify.webhooks.models import WebhookEvent
from service.notify.webhooks.services import event_id_for, publish, subscribers
from tickets import sla
from tickets.models import SlaState, SlaTarget, Status, Ticket, format_number

# Tickets whose ticket.created was published in the current transaction: their
# assignment at intake is part of the creation, not a ticket.updated of its own.
_CREATED_NOW = "webhook_tickets_created"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_summary(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """The JSON-ready ticket facts every ticket event carries."""
    return {
        "id": ticket.id, "number": format_number(ticket.id), "subject": ticket.subject,
        "status": ticket.status.value, "priority": ticket.priority.value,
        "channel": ticket.channel.value, "language": ticket.language,
        "category": ticket.category, "product": ticket.product,
        "customer_id": ticket.contact_id, "account_id": ticket.account_id,
        "team_id": ticket.team_id, "assignee_id": ticket.assignee_id,
        "reopen_count": ticket.reopen_count,
        "created_at": _iso(ticket.created_at), "updated_at": _iso(ticket.updated_at),
        "closed_at": _iso(ticket.closed_at),
        "sla": {"policy": sla.policy_name(ticket),
                "state": sla.live_state(ticket, now).value,
                "first_response_due_at": _iso(ticket.first_response_due_at),
                "resolution_due_at": _iso(ticket.resolution_due_at),
                "first_responded_at": _iso(ticket.first_responded_at),
                "resolved_at": _iso(ticket.resolved_at),
                "paused": ticket.sla_paused_at is not None},
    }


def _publish(kind: WebhookEvent, ticket_id: int, *, event_key: str | None = None,
             sla_state: SlaState | None = None, **extra: Any) -> None:
    if not subscribers(kind):
        return
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return
    payload = {**ticket_summary(ticket, utcnow()), **extra}
    if sla_state is not None and payload["sla"]["state"] != SlaState.BREACHED:
        payload["sla"]["state"] = sla_state.value
    publish(kind, payload, event_id=event_id_for(event_key) if event_key else None)


def _value(item: Any) -> Any:
    return getattr(item, "value", item)


@events.ticket_created.connect
def _created(ticket_id: int, **_data) -> None:
    db.session.info.setdefault(_CREATED_NOW, set()).add(ticket_id)
    _publish(WebhookEvent.TICKET_CREATED, ticket_id,
             event_key=f"{WebhookEvent.TICKET_CREATED}:{ticket_id}")


@events.ticket_assigned.connect
def _assigned(ticket_id: int, assignee_id: int | None = None, **_data) -> None:
    if ticket_id in db.session.info.get(_CREATED_NOW, ()):
        return
    _publish(WebhookEvent.TICKET_UPDATED, ticket_id,
             change={"field": "assignee_id", "to": assignee_id})


@events.ticket_status_changed.connect
def _status_changed(ticket_id: int, previous: Status | None = None,
                    current: Status | None = None, **_data) -> None:
    _publish(WebhookEvent.TICKET_UPDATED, ticket_id,
             change={"field": "status", "from": _value(previous), "to": _value(current)})


@events.ticket_priority_changed.connect
def _priority_changed(ticket_id: int, previous=None, current=None, **_data) -> None:
    _publish(WebhookEvent.TICKET_UPDATED, ticket_id,
             change={"field": "priority", "from": _value(previous), "to": _value(current)})


@events.ticket_field_changed.connect
def _field_changed(ticket_id: int, field: str, previous=None, current=None, **_data) -> None:
    _publish(WebhookEvent.TICKET_UPDATED, ticket_id,
             change={"field": field, "from": previous, "to": current})


@events.ticket_resolved.connect
def _resolved(ticket_id: int, **_data) -> None:
    if not subscribers(WebhookEvent.TICKET_RESOLVED):
        return
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return
    # Resolved again after a reopen is a new event; the same resolution is one event.
    _publish(WebhookEvent.TICKET_RESOLVED, ticket_id,
             event_key=f"{WebhookEvent.TICKET_RESOLVED}:{ticket_id}:{ticket.reopen_count}")


@events.ticket_closed.connect
def _closed(ticket_id: int, **_data) -> None:
    ticket = db.session.get(Ticket, ticket_id)
    # Closed again after a reopen within the grace window is a new event.
    _publish(WebhookEvent.TICKET_CLOSED, ticket_id,
             event_key=f"{WebhookEvent.TICKET_CLOSED}:{ticket_id}:"
                       f"{ticket.reopen_count if ticket else 0}")


def _sla_event(kind: WebhookEvent, ticket_id: int, target: str) -> None:
    if not subscribers(kind):
        return
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return
    due_at = (ticket.first_response_due_at if target == SlaTarget.FIRST_RESPONSE
              else ticket.resolution_due_at)
    # The sweep may judge a moment other than now: the event itself says what happened.
    state = SlaState.BREACHED if kind == WebhookEvent.TICKET_SLA_BREACHED else SlaState.AT_RISK
    _publish(kind, ticket_id, event_key=f"{kind}:{ticket_id}:{target}:{_iso(due_at)}",
             sla_state=state, target=target, due_at=_iso(due_at))


@events.sla_warning.connect
def _sla_warning(ticket_id: int, target: str, **_data) -> None:
    _sla_event(WebhookEvent.TICKET_SLA_WARNING, ticket_id, target)


@events.sla_breached.connect
def _sla_breached(ticket_id: int, target: str, **_data) -> None:
    _sla_event(WebhookEvent.TICKET_SLA_BREACHED, ticket_id, target)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_created(session: Session, *_args) -> None:
    if not session.in_nested_transaction():  # a savepoint ending is not the end
        session.info.pop(_CREATED_NOW, None)
