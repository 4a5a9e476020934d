"""Reading cross-department tasks: one task, a ticket's tasks, keyset pages of a queue."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.db_types import utcnow
from service.errors import NotFound
from service.extensions import db
from service.pagination import decode_time_cursor, encode_cursor
from service.validation import is_id
from tickets.models import Attachment
from tickets.services import ensure_visible
from tickets.tasks.access import tasks_visible_to
from tickets.tasks.models import ACTIVE_TASK_STATUSES, Task, TaskStatus

_TASK_RELATIONS = (joinedload(Task.department), joinedload(Task.assignee),
                   joinedload(Task.created_by))


def get_task(user: User, task_id: int, *, for_update: bool = False) -> Task:
    """A task the user may see, or NotFound (never revealing that it exists)."""
    if not is_id(task_id):
        raise NotFound(_("No such task."))
    query = (select(Task).where(Task.id == task_id, tasks_visible_to(user))
             .options(*_TASK_RELATIONS))
    if for_update:
        query = query.with_for_update(of=Task).execution_options(populate_existing=True)
    task = db.session.scalar(query)
    if task is None:
        raise NotFound(_("No such task."))
    return task


def ticket_tasks(user: User, ticket_id: int) -> list[Task]:
    """Every task of a ticket the user may see (NotFound otherwise), oldest first."""
    ensure_visible(user, ticket_id)
    if not can(user, Permission.TICKET_VIEW_INTERNAL):
        raise NotFound(_("No such ticket."))
    return list(db.session.scalars(
        select(Task).where(Task.ticket_id == ticket_id)
        .options(*_TASK_RELATIONS).order_by(Task.id)))


def is_overdue(task: Task, now: datetime) -> bool:
    """Whether an active task is past its due time."""
    return task.status in ACTIVE_TASK_STATUSES and task.due_at <= now


def list_tasks(user: User, *, department_id: int | Sequence[int] | None = None,
               status: Sequence[TaskStatus] | None = None, assignee_id: int | None = None,
               overdue: bool | None = None, ticket_id: int | None = None, limit: int = 50,
               cursor: str | None = None, now: datetime | None = None
               ) -> tuple[list[Task], str | None]:
    """One keyset page of the tasks the user may see, soonest due first, and the next cursor.

    `department_id` is one department or several (a member of many: "my departments").
    """
    now = now or utcnow()
    query = (select(Task).where(tasks_visible_to(user))
             .options(*_TASK_RELATIONS))
    if isinstance(department_id, int):
        query = query.where(Task.department_id == department_id)
    elif department_id is not None:
        query = query.where(Task.department_id.in_(list(department_id)))
    if status:
        query = query.where(Task.status.in_(list(status)))
    if assignee_id is not None:
        query = query.where(Task.assignee_id == assignee_id)
    if ticket_id is not None:
        query = query.where(Task.ticket_id == ticket_id)
    late = and_(Task.status.in_(ACTIVE_TASK_STATUSES), Task.due_at <= now)
    if overdue is True:
        query = query.where(late)
    elif overdue is False:
        query = query.where(~late)
    if cursor:
        due, last_id = decode_time_cursor(cursor, "due_at")
        query = query.where(or_(Task.due_at > due, and_(Task.due_at == due, Task.id > last_id)))
    rows = list(db.session.scalars(query.order_by(Task.due_at, Task.id).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("due_at", rows[-1].due_at, rows[-1].id)


def note_attachments(note_ids: Sequence[int]) -> dict[int, list[Attachment]]:
    """The files of these notes, by note id."""
    found: dict[int, list[Attachment]] = {}
    if note_ids:
        for attachment in db.session.scalars(select(Attachment).where(
                Attachment.task_note_id.in_(list(note_ids))).order_by(Attachment.id)):
            found.setdefault(attachment.task_note_id, []).append(attachment)
    return found
