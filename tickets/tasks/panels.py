"""The ticket page's task panels: the ticket's tasks with a "New task" form, and time used."""
from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import gettext as _

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.db_types import utcnow
from tickets.models import Status, Ticket
from tickets.tasks import choices, clock, services
from tickets.tasks.forms import NewTaskForm
from tickets.ticket_page import register_panel, team_name

# The form a refused "New task" post left, shown again with its messages (see console.py).
FAILED_FORM_KEY = "_failed_new_task_form"


def new_task_form(*, posted: bool = False) -> NewTaskForm:
    """A "New task" form (the posted one, or a fresh one) with its choices."""
    form = NewTaskForm() if posted else NewTaskForm(formdata=None)
    form.set_choices(choices.departments(), choices.people())
    return form


def may_open_tasks(user: User, ticket: Ticket) -> bool:
    """Whether the user may open tasks on this ticket now (not once it is resolved or closed)."""
    return can(user, Permission.TASK_CREATE) and ticket.status not in (Status.RESOLVED,
                                                                        Status.CLOSED)


def tasks_panel(user: User, ticket: Ticket) -> dict[str, Any] | None:
    """The ticket's tasks, the warning when the customer is due an update, the form."""
    if not can(user, Permission.TICKET_VIEW_INTERNAL):
        return None
    now = utcnow()
    tasks = services.ticket_tasks(user, ticket.id)
    form = None
    if may_open_tasks(user, ticket):
        form = g.pop(FAILED_FORM_KEY, None) or new_task_form()
    return {"tasks": tasks, "form": form, "now": now,
            "customer_update": clock.customer_update_status(ticket, now)}


def time_used_panel(user: User, ticket: Ticket) -> dict[str, Any] | None:
    """Who used how much of the customer's resolution time: support and each department."""
    if not can(user, Permission.TICKET_VIEW_INTERNAL):
        return None
    used = clock.time_used(ticket, utcnow())
    rows = [(_("Support"), used.support_seconds)]
    rows += [(team_name(name, name_zh) or "", seconds)
             for _team_id, name, name_zh, seconds in used.departments]
    longest = max((seconds for _label, seconds in rows), default=0)
    return {"total": used.total_seconds, "longest": longest, "rows": rows}


def register() -> None:
    """Add the two panels to every ticket page."""
    register_panel("tasks", "tickets/tasks/_panel_tasks.html", tasks_panel, order=20,
                   column="main")
    register_panel("time_used", "tickets/tasks/_panel_time_used.html", time_used_panel,
                   order=30, column="side")
