"""Cross-department tasks: opening, working and finishing them, and what they do to the ticket.

Who may see and work tasks, and due times: tickets.tasks.access; reading: tickets.tasks
.queries (both re-exported here, the names other modules use). Opening a task needs
task.create on a ticket the user may see, while it is not resolved or closed.

The ticket follows its tasks: the first task moves it to pending_internal (its SLA keeps
running: we own the problem), the last one finishing moves it back to open.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from service.auth.models import User
from service.auth.permissions import Permission, require
from service.db_types import utcnow
from service.directory.models import Team
from service.errors import Conflict, InvalidInput, InvalidTransition
from service.extensions import db
from service.validation import is_id, strip_controls
from tickets import attachments, conversation, lifecycle, timeline
from tickets.models import Channel, Status, Ticket, Visibility
from tickets.services import ensure_visible
from tickets.tasks.access import (can_work, department_calendar, department_due, is_member,
                                  require_work, tasks_visible_to)
from tickets.tasks.models import ACTIVE_TASK_STATUSES, Task, TaskNote, TaskStatus
from tickets.tasks.overdue import sweep_overdue_tasks
from tickets.tasks.queries import (get_task, is_overdue, list_tasks, note_attachments,
                                   ticket_tasks)

__all__ = [  # the names other modules (console, resolution, API) use
    "NOTE_MAX", "TEXT_MAX", "TITLE_MAX", "TRANSITIONS", "active_tasks", "add_note",
    "can_work", "create_task", "department_calendar", "department_due", "get_task",
    "is_overdue", "list_tasks", "note_attachments", "sweep_overdue_tasks",
    "tasks_visible_to", "ticket_tasks", "update_task",
]

TITLE_MAX = 200
TEXT_MAX = 20000
NOTE_MAX = 10000
MAX_UPLOADS = 5
# A due time further out than this is a typo, not a plan (and keeps date arithmetic sane).
DUE_HORIZON = timedelta(days=366)

# Allowed status changes; the same status is a no-op. Finished tasks may be reopened.
TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED, TaskStatus.DONE,
                                TaskStatus.CANCELLED}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.OPEN, TaskStatus.BLOCKED, TaskStatus.DONE,
                                       TaskStatus.CANCELLED}),
    TaskStatus.BLOCKED: frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.DONE,
                                   TaskStatus.CANCELLED}),
    TaskStatus.DONE: frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS}),
    TaskStatus.CANCELLED: frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS}),
}
_FINISHED = (TaskStatus.DONE, TaskStatus.CANCELLED)
_TICKET_DONE = (Status.RESOLVED, Status.CLOSED)
# Ticket statuses a new (or reopened) task moves to pending_internal; a ticket waiting on
# the customer keeps waiting on them.
_MOVES_TO_INTERNAL = (Status.NEW, Status.OPEN, Status.REOPENED)


def active_tasks(ticket_id: int) -> list[Task]:
    """The ticket's tasks still open, in progress or blocked (they block resolving)."""
    return list(db.session.scalars(
        select(Task).where(Task.ticket_id == ticket_id, Task.status.in_(ACTIVE_TASK_STATUSES))
        .order_by(Task.id)))


# ---- input checks ----

def _text(errors: dict[str, list[str]], field: str, value: Any, *, maximum: int,
          required: bool = False) -> str:
    text = strip_controls(value).strip() if isinstance(value, str) else None
    if value is not None and text is None:
        errors[field] = [_("Must be text.")]
        return ""
    text = text or ""
    if required and not text:
        errors[field] = [_("This field is required.")]
    elif len(text) > maximum:
        errors[field] = [_("At most %(count)d characters.", count=maximum)]
    return text


def _check_assignee(errors: dict[str, list[str]], assignee_id: Any,
                    department_id: int | None) -> None:
    if assignee_id is None:
        return
    user = db.session.get(User, assignee_id) if is_id(assignee_id) else None
    if user is None or not user.is_active or not is_member(user.id, department_id):
        errors["assignee_id"] = [_("No active member of this department has this id.")]


def _check_due(errors: dict[str, list[str]], due_at: Any, now: datetime) -> datetime | None:
    if due_at is None:
        return None
    if not isinstance(due_at, datetime) or due_at.tzinfo is None:
        errors["due_at"] = [_("Give a time with its UTC offset.")]
        return None
    try:
        due = due_at.astimezone(UTC)
    except (OverflowError, ValueError):
        errors["due_at"] = [_("Not a valid time.")]
        return None
    if due <= now:
        errors["due_at"] = [_("The due time must be in the future.")]
    elif due > now + DUE_HORIZON:
        errors["due_at"] = [_("The due time must be within a year.")]
    return due


def _lock_ticket(ticket_id: int) -> Ticket:
    # Locked so two tasks finishing at once agree on whether the last one finished.
    return db.session.scalar(select(Ticket).where(Ticket.id == ticket_id)
                             .with_for_update(of=Ticket)
                             .execution_options(populate_existing=True))


def _require_open_ticket(ticket: Ticket) -> None:
    if ticket.status in _TICKET_DONE:
        raise InvalidTransition(_("The ticket is %(status)s; its tasks can no longer change.",
                                  status=ticket.status.value))


# ---- changing ----

def create_task(user: User, ticket: Ticket, *, title: str, description: str,
                department_id: int, expected_outcome: str = "",
                assignee_id: int | None = None, due_at: datetime | None = None,
                now: datetime | None = None) -> Task:
    """Hand work on a ticket to a department; the ticket waits on it (pending_internal). Commits.

    Raises Forbidden, NotFound (ticket not visible), InvalidTransition (resolved/closed)
    or InvalidInput (title, description, expected_outcome, department_id, assignee_id, due_at).
    """
    require(user, Permission.TASK_CREATE)
    ensure_visible(user, ticket.id)
    _require_open_ticket(ticket)
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    title = _text(errors, "title", title, maximum=TITLE_MAX, required=True)
    description = _text(errors, "description", description, maximum=TEXT_MAX)
    expected_outcome = _text(errors, "expected_outcome", expected_outcome, maximum=TEXT_MAX)
    department = db.session.get(Team, department_id) if is_id(department_id) else None
    if department is None:
        errors["department_id"] = [_("No department has this id.")]
    _check_assignee(errors, assignee_id, department.id if department else None)
    due = _check_due(errors, due_at, now)
    if errors:
        raise InvalidInput(_("The task has invalid fields."), errors=errors)
    task = Task(ticket_id=ticket.id, department_id=department.id, assignee_id=assignee_id,
                title=title, description=description, expected_outcome=expected_outcome,
                status=TaskStatus.OPEN, due_at=due or department_due(department, now),
                created_by_id=user.id, created_at=now, updated_at=now)
    db.session.add(task)
    db.session.flush()
    timeline.record(ticket.id, "task_opened", actor=user, at=now, task_id=task.id,
                    title=task.title, department_id=department.id, assignee_id=assignee_id,
                    due_at=task.due_at.isoformat())
    if ticket.status in _MOVES_TO_INTERNAL:
        # The resolution clock keeps running: waiting on a colleague is still our time.
        lifecycle.change_status(ticket, Status.PENDING_INTERNAL, actor=user, now=now,
                                reason="task opened")
    ticket.updated_at = now
    db.session.commit()
    return task


_CHANGEABLE = ("status", "assignee_id", "due_at", "title", "description", "expected_outcome",
               "outcome", "note")


def update_task(user: User, task: Task, changes: dict[str, Any],
                now: datetime | None = None) -> Task:
    """Apply a change to a task (all of it, or nothing and an error); commits.

    `changes` may hold status, assignee_id, due_at, title, description, expected_outcome,
    outcome and note (a progress note kept with the new status). Raises Forbidden,
    InvalidTransition (ticket resolved/closed, status not allowed) or InvalidInput.
    """
    require_work(user, task)
    unknown = set(changes) - set(_CHANGEABLE)
    if unknown:
        raise InvalidInput(errors={name: [_("Unknown field.")] for name in sorted(unknown)})
    now = now or utcnow()
    ticket = _lock_ticket(task.ticket_id)
    _require_open_ticket(ticket)
    errors: dict[str, list[str]] = {}
    texts = {}
    for field, maximum, required in (("title", TITLE_MAX, True),
                                     ("description", TEXT_MAX, False),
                                     ("expected_outcome", TEXT_MAX, False),
                                     ("outcome", TEXT_MAX, False)):
        if field in changes:
            texts[field] = _text(errors, field, changes[field], maximum=maximum,
                                 required=required)
    note = None
    if changes.get("note") is not None:
        note = _text(errors, "note", changes["note"], maximum=NOTE_MAX, required=True)
    target = _check_status(errors, task, changes.get("status"))
    if "assignee_id" in changes:
        _check_assignee(errors, changes["assignee_id"], task.department_id)
    due = _check_due(errors, changes["due_at"], now) if "due_at" in changes else None
    if "due_at" in changes and changes["due_at"] is None:
        errors["due_at"] = [_("This field is required.")]
    if errors:
        raise InvalidInput(_("The change has invalid fields."), errors=errors)
    for field, value in texts.items():
        setattr(task, field, (value or None) if field == "outcome" else value)
    if "assignee_id" in changes and changes["assignee_id"] != task.assignee_id:
        timeline.record(ticket.id, "task_reassigned", actor=user, at=now, task_id=task.id,
                        title=task.title, **{"from": task.assignee_id,
                                             "to": changes["assignee_id"]})
        task.assignee_id = changes["assignee_id"]
    if due is not None and due != task.due_at:
        timeline.record(ticket.id, "task_due_changed", actor=user, at=now, task_id=task.id,
                        title=task.title, **{"from": task.due_at.isoformat(),
                                             "to": due.isoformat()})
        task.due_at = due
        task.escalated_at = None  # a new deadline earns its own escalation
    if target is not None:
        _move(user, task, ticket, target, now)
    if note is not None:
        _record_note(user, task, ticket, note, status=target, now=now)
    task.updated_at = now
    ticket.updated_at = now
    db.session.commit()
    return task


def _check_status(errors: dict[str, list[str]], task: Task, value: Any) -> TaskStatus | None:
    """The status to move to (None: no move), or an error; raises InvalidTransition."""
    if value is None:
        return None
    try:
        target = TaskStatus(value)
    except ValueError:
        errors["status"] = [_("Unknown status.")]
        return None
    if target == task.status:
        return None
    if target not in TRANSITIONS[task.status]:
        raise InvalidTransition(_("A task cannot go from %(from)s to %(to)s.",
                                  **{"from": task.status.value, "to": target.value}))
    return target


def _move(user: User, task: Task, ticket: Ticket, target: TaskStatus, now: datetime) -> None:
    """Change the task's status and let the ticket follow (the last task done → open)."""
    previous = task.status
    task.status = target
    timeline.record(ticket.id, "task_status_changed", actor=user, at=now, task_id=task.id,
                    title=task.title, **{"from": previous.value, "to": target.value})
    if target in _FINISHED:
        task.finished_at = now
        db.session.flush()
        if ticket.status == Status.PENDING_INTERNAL and not active_tasks(ticket.id):
            lifecycle.change_status(ticket, Status.OPEN, actor=user, now=now,
                                    reason="tasks done")
    elif previous in _FINISHED:
        task.finished_at = None
        task.escalated_at = None
        if ticket.status in (Status.OPEN, Status.REOPENED):
            lifecycle.change_status(ticket, Status.PENDING_INTERNAL, actor=user, now=now,
                                    reason="task reopened")


def _record_note(user: User, task: Task, ticket: Ticket, body: str, *,
                 status: TaskStatus | None, now: datetime, published: bool = False,
                 message_id: int | None = None) -> TaskNote:
    note = TaskNote(task_id=task.id, author_id=user.id, body=body, status=status,
                    published=published, message_id=message_id, created_at=now)
    db.session.add(note)
    db.session.flush()
    timeline.record(ticket.id, "task_note_added", actor=user, at=now, task_id=task.id,
                    note_id=note.id, published=published)
    return note


def add_note(user: User, task: Task, body: str, *, publish_to_customer: bool = False,
             uploads: Sequence[Any] = (), status: TaskStatus | str | None = None,
             now: datetime | None = None, channel: Channel = Channel.WEB) -> TaskNote:
    """A progress note with its files (internal), optionally published to the customer; commits.

    `uploads` are tickets.ticket_page.Upload-like (filename, data, content_type). Publishing
    posts the body as a public staff message (mailed, shown in the portal; it counts as
    an update) and makes the note's files public on that message. `status` moves the task
    in the same change. Raises Forbidden, Conflict (publishing on a closed ticket),
    InvalidTransition or InvalidInput (body, attachments, status).
    """
    from tickets.ticket_page import AttachmentTooLarge

    require_work(user, task)
    now = now or utcnow()
    ticket = _lock_ticket(task.ticket_id)
    if publish_to_customer and ticket.status == Status.CLOSED:
        raise Conflict(_("The ticket is closed; nothing more can be published to the "
                         "customer."))
    errors: dict[str, list[str]] = {}
    text = _text(errors, "body", body, maximum=NOTE_MAX, required=True)
    if len(uploads) > MAX_UPLOADS:
        errors["attachments"] = [_("Attach at most %(count)d files.", count=MAX_UPLOADS)]
    target = _check_status(errors, task, status)
    if target is not None:
        _require_open_ticket(ticket)
    if errors:
        raise InvalidInput(_("The note has invalid fields."), errors=errors)
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    too_large = [attachments.safe_filename(upload.filename) for upload in uploads
                 if len(upload.data) > limit]
    if too_large:
        raise AttachmentTooLarge(too_large, limit)
    if target is not None:
        _move(user, task, ticket, target, now)
    message = None
    if publish_to_customer:
        message = conversation.add_staff_message(ticket, user, text, Visibility.PUBLIC, now,
                                                 channel=channel)
    note = _record_note(user, task, ticket, text, status=target, now=now,
                        published=message is not None,
                        message_id=message.id if message is not None else None)
    for upload in uploads:
        stored = attachments.store(
            ticket.id, message.id if message is not None else None, upload.filename,
            upload.data, upload.content_type,
            visibility=Visibility.PUBLIC if message is not None else Visibility.INTERNAL)
        if isinstance(stored, attachments.Refused):  # the limit moved since the check
            raise AttachmentTooLarge([stored.filename], limit)
        stored.task_note_id = note.id
    task.updated_at = now
    ticket.updated_at = now
    db.session.commit()
    return note
