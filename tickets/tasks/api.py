"""JSON API of cross-department tasks: parse → call a service → dump."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select

from service.api import current_user, doc, json_body, query_args
from service.auth.models import User
from service.auth.permissions import Permission, require
from service.db_types import utcnow
from service.extensions import db
from tickets.models import Channel, format_number
from tickets.services import get_ticket
from tickets.tasks import services
from tickets.tasks.models import Task, TaskNote
from tickets.tasks.schemas import (TaskIn, TaskListOut, TaskNoteIn, TaskNoteListOut,
                                   TaskNoteOut, TaskOut, TaskPageOut, TaskPatch, TaskQuery)

blueprint = Blueprint("tasks_api", __name__)

_task_in, _task_patch, _task_query = TaskIn(), TaskPatch(), TaskQuery()
_task_out, _task_page, _task_list = TaskOut(), TaskPageOut(), TaskListOut()
_note_in, _note_out, _note_list = TaskNoteIn(), TaskNoteOut(), TaskNoteListOut()


def _ref(user: User | None) -> dict[str, Any] | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def present_note(note: TaskNote, attachments: list | None = None) -> dict[str, Any]:
    """The API view of a task note."""
    return {"id": note.id, "task_id": note.task_id, "author": _ref(note.author),
            "body": note.body, "status": note.status.value if note.status else None,
            "published": note.published, "message_id": note.message_id,
            "attachments": attachments or [], "created_at": note.created_at}


def _notes(task: Task) -> list[dict[str, Any]]:
    files = services.note_attachments([note.id for note in task.notes])
    return [present_note(note, files.get(note.id)) for note in task.notes]


def present(task: Task, *, with_notes: bool = False) -> dict[str, Any]:
    """The API view of a task, with whether it is overdue now."""
    view = {
        "id": task.id, "ticket": {"id": task.ticket_id, "number": format_number(task.ticket_id)},
        "department": {"id": task.department.id, "name": task.department.name},
        "assignee": _ref(task.assignee), "title": task.title,
        "description": task.description, "expected_outcome": task.expected_outcome,
        "outcome": task.outcome, "status": task.status.value, "due_at": task.due_at,
        "overdue": services.is_overdue(task, utcnow()), "escalated_at": task.escalated_at,
        "created_by": _ref(task.created_by), "created_at": task.created_at,
        "updated_at": task.updated_at, "finished_at": task.finished_at,
    }
    if with_notes:
        view["notes"] = _notes(task)
    return view


@blueprint.post("/tickets/<id:ticket_id>/tasks")
@doc("Hand work on a ticket to a department (the ticket waits on it)", tags=["tasks"],
     body=TaskIn, responses={201: TaskOut})
def create(ticket_id: int):
    user = current_user()
    require(user, Permission.TASK_CREATE)
    data = json_body(_task_in)
    ticket = get_ticket(user, ticket_id, for_update=True)
    task = services.create_task(user, ticket, **data)
    return _task_out.dump(present(task)), 201


@blueprint.get("/tickets/<id:ticket_id>/tasks")
@doc("A ticket's tasks", tags=["tasks"], responses={200: TaskListOut})
def list_for_ticket(ticket_id: int):
    tasks = services.ticket_tasks(current_user(), ticket_id)
    return _task_list.dump({"items": [present(task) for task in tasks]})


@blueprint.get("/tasks")
@doc("Tasks the caller may see, soonest due first (keyset pages)", tags=["tasks"],
     query=TaskQuery, responses={200: TaskPageOut})
def list_all():
    user = current_user()
    filters = query_args(_task_query)
    assignee = filters.get("assignee")
    tasks, next_cursor = services.list_tasks(
        user, department_id=filters.get("department"), status=filters.get("status"),
        assignee_id=user.id if assignee == "me" else (int(assignee) if assignee else None),
        overdue=filters.get("overdue"), limit=filters["limit"], cursor=filters.get("cursor"))
    return _task_page.dump({"items": [present(task) for task in tasks],
                            "next_cursor": next_cursor})


@blueprint.get("/tasks/<id:task_id>")
@doc("One task with its progress notes", tags=["tasks"], responses={200: TaskOut})
def get_one(task_id: int):
    return _task_out.dump(present(services.get_task(current_user(), task_id), with_notes=True))


@blueprint.patch("/tasks/<id:task_id>")
@doc("Change a task's status, assignee, due time or texts (with an optional note)",
     tags=["tasks"], body=TaskPatch, responses={200: TaskOut})
def patch_one(task_id: int):
    user = current_user()
    changes = json_body(_task_patch)
    task = services.get_task(user, task_id, for_update=True)
    services.update_task(user, task, changes)
    return _task_out.dump(present(services.get_task(user, task_id), with_notes=True))


@blueprint.post("/tasks/<id:task_id>/notes")
@doc("Add a progress note; publish_to_customer also sends it to the customer",
     tags=["tasks"], body=TaskNoteIn, responses={201: TaskNoteOut})
def add_note(task_id: int):
    user = current_user()
    data = json_body(_note_in)
    task = services.get_task(user, task_id, for_update=True)
    note = services.add_note(user, task, data["body"],
                             publish_to_customer=data["publish_to_customer"],
                             status=data.get("status"), channel=Channel.API)
    files = services.note_attachments([note.id])
    return _note_out.dump(present_note(note, files.get(note.id))), 201


@blueprint.get("/tasks/<id:task_id>/notes")
@doc("A task's progress notes, oldest first", tags=["tasks"],
     responses={200: TaskNoteListOut})
def list_notes(task_id: int):
    task = services.get_task(current_user(), task_id)
    notes = list(db.session.scalars(select(TaskNote).where(TaskNote.task_id == task.id)
                                    .order_by(TaskNote.id)))
    files = services.note_attachments([note.id for note in notes])
    return _note_list.dump({"items": [present_note(note, files.get(note.id))
                                      for note in notes]})
