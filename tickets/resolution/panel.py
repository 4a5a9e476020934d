"""The resolution panel of the console's ticket page: resolve, confirmation, history."""
from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy import select

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.directory.models import Contact
from service.extensions import db
from tickets import lifecycle
from tickets.models import Attachment, Status, Ticket
from tickets.resolution import services
from tickets.resolution.forms import PhoneConfirmationForm, ResolveForm
from tickets.resolution.labels import (ACTOR_LABELS, CHANNEL_LABELS, OUTCOME_LABELS,
                                       STATE_LABELS, label, method_label)
from tickets.resolution.models import ConfirmationState
from tickets.resolution.presenters import present_open_tasks, present_resolutions
from tickets.tasks.labels import TASK_STATUS_LABELS
from tickets.tasks.services import active_tasks

TEMPLATE = "tickets/resolution/_panel.html"
# Where a posted form with errors waits for the page to be shown again (one request).
_POSTED = "resolution_posted_forms"
# Stored values in the reader's words, for the template.
WORDS = {"state": lambda value: label(STATE_LABELS, value),
         "outcome": lambda value: label(OUTCOME_LABELS, value),
         "channel": lambda value: label(CHANNEL_LABELS, value),
         "actor": lambda value: label(ACTOR_LABELS, value), "method": method_label,
         "task_status": lambda value: label(TASK_STATUS_LABELS, value)}


def keep_posted(name: str, form: Any) -> None:
    """Show this posted form (with its errors) instead of a fresh one on this request."""
    g.setdefault(_POSTED, {})[name] = form


def _posted(name: str) -> Any:
    return g.get(_POSTED, {}).get(name)


def ticket_files(ticket_id: int) -> list[Attachment]:
    """The ticket's files, staff view (internal ones too), oldest first."""
    return list(db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id)
                                   .order_by(Attachment.id)))


def resolve_form(user: User, ticket: Ticket, files: list[Attachment], open_tasks: list,
                 **kwargs: Any) -> ResolveForm:
    """The resolve form for this user and ticket (the override only for leads, only when
    tasks are open)."""
    return ResolveForm([(file.id, file.filename) for file in files],
                       may_override=bool(open_tasks) and can(user, Permission.RESOLVE_OVERRIDE),
                       **kwargs)


def may_resolve(user: User, ticket: Ticket) -> bool:
    """Whether the user may resolve and the ticket's status allows it."""
    return (can(user, Permission.TICKET_RESOLVE)
            and lifecycle.can_transition(ticket.status, Status.RESOLVED))


def panel_context(user: User, ticket: Ticket) -> dict[str, Any] | None:
    """What the panel shows this user; None for anyone who may not read internal records."""
    if not can(user, Permission.TICKET_VIEW_INTERNAL):
        return None
    resolutions = sorted(services.resolutions_of(ticket.id), key=lambda item: item.id)
    history = present_resolutions(ticket, resolutions)
    files = ticket_files(ticket.id)
    current = history[-1] if history else None
    awaiting = (current is not None and ticket.status == Status.RESOLVED
                and current["confirmation"]["state"] == ConfirmationState.PENDING.value)
    data: dict[str, Any] = {
        "history": list(reversed(history)), "current": current, "awaiting": awaiting,
        "files": {file.id: file for file in files},
        "contacts": _contact_names(history), "words": WORDS,
        "resolve_form": None, "open_tasks": [], "blocked": False, "phone_form": None,
    }
    if may_resolve(user, ticket):
        open_tasks = active_tasks(ticket.id)
        form = _posted("resolve") or resolve_form(user, ticket, files, open_tasks,
                                                  formdata=None)
        data["open_tasks"] = present_open_tasks(open_tasks)
        # An agent cannot resolve past open tasks: show them, not a form that must fail.
        data["blocked"] = bool(open_tasks) and not form.may_override
        data["resolve_form"] = None if data["blocked"] else form
    if awaiting and can(user, Permission.CONFIRMATION_RECORD):
        data["phone_form"] = _posted("phone") or PhoneConfirmationForm(
            formdata=None, data={"resolution_id": str(current["id"])})
    return data


def _contact_names(history: list[dict[str, Any]]) -> dict[int, str]:
    ids = {answer["contact_id"] for item in history for answer in item["confirmations"]
           if answer["contact_id"]}
    if not ids:
        return {}
    return dict(db.session.execute(select(Contact.id, Contact.name)
                                   .where(Contact.id.in_(ids))).all())
