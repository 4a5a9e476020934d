"""A ticket with everything that happened to it, as JSON-ready data (the evidence file)."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from service.db_types import utcnow
from service.extensions import db
from tickets.models import Attachment, Message, SlaBreach, SlaPause, Ticket, TicketEvent
from tickets.resolution.models import Confirmation, Resolution
from tickets.tasks.models import Task, TaskNote


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _row(instance: Any) -> dict[str, Any]:
    """Every column of a row, by attribute name, JSON-ready."""
    mapper = instance.__mapper__
    return {attr.key: _plain(getattr(instance, attr.key)) for attr in mapper.column_attrs}


def _rows(model: Any, ticket_id: int) -> list[Any]:
    return list(db.session.scalars(select(model).where(model.ticket_id == ticket_id)
                                   .order_by(model.id)))


def export_ticket(ticket: Ticket) -> dict[str, Any]:
    """Ticket fields, every message (with its visibility), event, task with notes,
    resolution with its confirmations (all evidence), SLA pause and breach, and the
    attachments' metadata (never their bytes). Staff only: it holds internal notes."""
    contact = ticket.contact
    tasks = _rows(Task, ticket.id)
    notes: dict[int, list[dict[str, Any]]] = {}
    if tasks:
        for note in db.session.scalars(select(TaskNote).where(
                TaskNote.task_id.in_([task.id for task in tasks])).order_by(TaskNote.id)):
            notes.setdefault(note.task_id, []).append(_row(note))
    resolutions = _rows(Resolution, ticket.id)
    confirmations: dict[int, list[dict[str, Any]]] = {}
    for confirmation in _rows(Confirmation, ticket.id):
        confirmations.setdefault(confirmation.resolution_id, []).append(_row(confirmation))
    return {
        "exported_at": utcnow().isoformat(),
        "ticket": {**_row(ticket), "number": ticket.number, "tags": ticket.tags},
        "contact": {"id": contact.id, "name": contact.name, "email": contact.email,
                    "phone": contact.phone, "company": contact.company},
        "messages": [_row(message) for message in _rows(Message, ticket.id)],
        "events": [_row(event) for event in _rows(TicketEvent, ticket.id)],
        "tasks": [{**_row(task), "notes": notes.get(task.id, [])} for task in tasks],
        "resolutions": [{**_row(resolution),
                         "confirmations": confirmations.get(resolution.id, [])}
                        for resolution in resolutions],
        "sla_pauses": [_row(pause) for pause in _rows(SlaPause, ticket.id)],
        "sla_breaches": [_row(breach) for breach in _rows(SlaBreach, ticket.id)],
        "attachments": [_row(attachment) for attachment in _rows(Attachment, ticket.id)],
    }
