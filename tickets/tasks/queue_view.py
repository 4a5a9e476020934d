"""What the task queue page shows: its filters as list_tasks arguments, and the rows' names."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from service.auth.models import User
from service.db_types import utcnow
from service.directory.models import Team
from service.errors import InvalidInput
from service.extensions import db
from tickets.console.queues import relative_times
from tickets.models import Ticket, format_number
from tickets.tasks import choices, services
from tickets.tasks.forms import (ACTIVE, ALL_DEPARTMENTS, ANY_STATUS, MY_DEPARTMENTS,
                                 TaskFilterForm, as_id)
from tickets.tasks.models import ACTIVE_TASK_STATUSES, Task, TaskStatus

PAGE_SIZE = 50


def preload(tasks: Iterable[Task], *, users: Iterable[int | None] = ()) -> dict[int, str]:
    """Load the tasks' departments and people in one query each, so that reading
    task.department or task.assignee in a template finds them in the session (no query
    per row); returns the subjects of the tasks' tickets."""
    tasks = list(tasks)
    team_ids = {task.department_id for task in tasks}
    user_ids = {task.assignee_id for task in tasks} | set(users)
    user_ids.discard(None)
    if team_ids:
        list(db.session.scalars(select(Team).where(Team.id.in_(team_ids))))
    if user_ids:
        list(db.session.scalars(select(User).where(User.id.in_(user_ids))))
    ticket_ids = {task.ticket_id for task in tasks}
    if not ticket_ids:
        return {}
    return dict(db.session.execute(select(Ticket.id, Ticket.subject)
                                   .where(Ticket.id.in_(ticket_ids))).all())


def filters(user: User, form: TaskFilterForm) -> dict[str, Any]:
    """The validated filters as list_tasks arguments."""
    args: dict[str, Any] = {"limit": PAGE_SIZE, "cursor": form.cursor.data or None}
    department = form.department.data
    if department == MY_DEPARTMENTS:
        # Someone in no department (an admin, say) sees every task they may see.
        own = choices.user_departments(user)
        args["department_id"] = own or None
    elif department != ALL_DEPARTMENTS:
        args["department_id"] = as_id(department)
    status = form.status.data
    if status == ACTIVE:
        args["status"] = list(ACTIVE_TASK_STATUSES)
    elif status != ANY_STATUS:
        args["status"] = [TaskStatus(status)]
    if form.assignee.data == "me":
        args["assignee_id"] = user.id
    if form.overdue.data:
        args["overdue"] = True
    return args


def _link_args(form: TaskFilterForm) -> dict[str, Any]:
    """The filters as query arguments, for the page's links (no cursor)."""
    args = {"department": form.department.data, "status": form.status.data}
    if form.assignee.data:
        args["assignee"] = form.assignee.data
    if form.overdue.data:
        args["overdue"] = "y"
    return args


def queue_context(user: User, form: TaskFilterForm) -> dict[str, Any]:
    """The queue page's variables; `items` is None when the filters are not valid."""
    now = utcnow()
    items, next_cursor = None, None
    if form.validate():
        try:
            items, next_cursor = services.list_tasks(user, **filters(user, form))
        except InvalidInput:
            db.session.rollback()
            form.cursor.errors = [_("This page link is no longer valid. Start from the first "
                                    "page.")]
    link_args = _link_args(form) if items is not None else {}
    cursor = form.cursor.data if items is not None else None
    return {
        "form": form, "items": items or [], "valid": items is not None, "now": now,
        "subjects": preload(items or []), "relative": relative_times(now), "cursor": cursor,
        "ticket_number": format_number,
        "first_url": url_for("tasks_console.queue", **link_args),
        "next_url": (url_for("tasks_console.queue", **link_args, cursor=next_cursor)
                     if next_cursor else None),
        "filtered": bool(form.errors) or link_args not in (
            {}, {"department": MY_DEPARTMENTS, "status": ACTIVE}),
    }
