"""Console pages of tasks: the department queue, a task's page, a new task from the ticket page.

Importing this module also adds the task panels and event sentences to the ticket page.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from service.auth.models import User
from service.auth.permissions import Permission
from service.console.form_errors import show_domain_error
from service.console.access import console_user, staff_required
from service.db_types import utcnow
from service.errors import DomainError, Forbidden
from service.extensions import csrf, db
from tickets import ticket_page as page
from tickets.console import ticket_page as ticket_views
from tickets.upload_forms import explain_expired_csrf, read_upload_form
from tickets.models import Attachment
from tickets.services import get_ticket
from tickets.tasks import choices, panels, presenters, sentences, services
from tickets.tasks.forms import (ALL_DEPARTMENTS, MY_DEPARTMENTS, DueForm,
                                 NoteForm, ReassignForm, StatusForm, TaskFilterForm, as_id)
from tickets.tasks.labels import TASK_STATUS_LABELS
from tickets.tasks.models import Task, TaskNote, TaskStatus
from tickets.tasks.queue_view import preload, queue_context

blueprint = Blueprint("tasks_console", __name__, template_folder="../templates")

sentences.register()
panels.register()

NOTE_MAX_UPLOADS = page.MAX_UPLOADS
# Room in a note's request for its text and fields beside the files (as for replies).


@blueprint.app_context_processor
def _helpers() -> dict[str, Any]:
    # App-wide: the task panels render inside the ticket page, another blueprint's page.
    return presenters.TEMPLATE_HELPERS


# ---- the queue ----

@blueprint.get("/console/tasks")
@staff_required(Permission.TASK_WORK)
def queue():
    """The tasks of the user's departments (or others), filtered, a keyset page at a time."""
    user = console_user()
    form = TaskFilterForm(formdata=request.args or MultiDict())
    departments = choices.departments()
    form.department.choices = [SelectChoice(MY_DEPARTMENTS, _("My departments")),
                               SelectChoice(ALL_DEPARTMENTS, _("All departments I can see")),
                               *(SelectChoice(str(id_), name) for id_, name in departments)]
    return render_template("tickets/tasks/queue.html", **queue_context(user, form)), \
        (200 if not form.errors else 400), {"Cache-Control": "no-store"}


# ---- a task's page ----

def _notes(task: Task) -> list[tuple[TaskNote, list[Attachment]]]:
    """The task's notes, oldest first, each with its files (three queries)."""
    notes = list(db.session.scalars(select(TaskNote).where(TaskNote.task_id == task.id)
                                    .order_by(TaskNote.id)))
    files = services.note_attachments([note.id for note in notes])
    preload([], users={note.author_id for note in notes})
    return [(note, files.get(note.id, [])) for note in notes]


def _status_form(task: Task, **kwargs) -> StatusForm:
    form = StatusForm(**kwargs)
    form.set_choices(task.status, services.TRANSITIONS[task.status])
    return form


def _reassign_form(task: Task, **kwargs) -> ReassignForm:
    form = ReassignForm(**kwargs)
    form.set_choices(choices.members(task.department_id))
    return form


def _render(user: User, task: Task, *, status: int = 200, **forms: FlaskForm):
    """The task page; the forms only for those who may work the task."""
    ticket = get_ticket(user, task.ticket_id)
    may_work = services.can_work(user, task)
    context: dict[str, Any] = {"task": task, "ticket": ticket, "now": utcnow(),
                               "notes": _notes(task), "may_work": may_work,
                               "max_uploads": NOTE_MAX_UPLOADS, "file_size": page.file_size,
                               "max_upload_size": page.file_size(
                                   current_app.config["ATTACHMENT_MAX_BYTES"])}
    if may_work:
        empty = {"formdata": None}
        context.update({
            "status_form": forms.get("status_form") or _status_form(
                task, **empty, data={"status": _next_status(task).value}),
            "assign_form": forms.get("assign_form") or _reassign_form(
                task, **empty, data={"assignee_id": str(task.assignee_id or "")}),
            "due_form": forms.get("due_form") or DueForm(**empty, data={"due_at": task.due_at}),
            "note_form": forms.get("note_form") or NoteForm(**empty),
        })
    return render_template("tickets/tasks/task.html", **context), status


def _next_status(task: Task) -> TaskStatus:
    """The status most often chosen next, preselected in the form."""
    return {TaskStatus.OPEN: TaskStatus.IN_PROGRESS, TaskStatus.IN_PROGRESS: TaskStatus.DONE,
            TaskStatus.BLOCKED: TaskStatus.IN_PROGRESS}.get(task.status, task.status)


def _task_to_work(user: User, task_id: int) -> Task:
    """The task, locked, if the user may work it: 404 if they may not see it, else 403."""
    task = services.get_task(user, task_id, for_update=True)
    if not services.can_work(user, task):
        db.session.rollback()
        raise Forbidden("Your role or department may not work this task.")
    return task


def _back(task_id: int, anchor: str | None = None):
    return redirect(url_for("tasks_console.show", task_id=task_id, _anchor=anchor), 303)


def _refused(user: User, task_id: int, form_name: str, form: FlaskForm, error: DomainError):
    db.session.rollback()
    if isinstance(error, Forbidden):
        raise error
    status = show_domain_error(form, error)
    return _render(user, services.get_task(user, task_id), status=status, **{form_name: form})


@blueprint.get("/console/tasks/<id:task_id>")
@staff_required()
def show(task_id: int):
    """A task: what is asked, by when, its notes, and the forms to work it."""
    user = console_user()
    return _render(user, services.get_task(user, task_id))


@blueprint.post("/console/tasks/<id:task_id>/status")
@staff_required(Permission.TASK_WORK)
def change_status(task_id: int):
    """Move the task to another status, with a note and, when done, the outcome."""
    return _change(task_id, "status_form", _status_form, lambda form: form.changes(),
                   lambda form: _("Task status changed to %(status)s.",
                                  status=TASK_STATUS_LABELS[form.status.data]))


@blueprint.post("/console/tasks/<id:task_id>/assign")
@staff_required(Permission.TASK_WORK)
def reassign(task_id: int):
    """Give the task to another member of its department, or to nobody."""
    return _change(task_id, "assign_form", _reassign_form,
                   lambda form: {"assignee_id": as_id(form.assignee_id.data)},
                   lambda _form: _("Task reassigned."))


@blueprint.post("/console/tasks/<id:task_id>/due")
@staff_required(Permission.TASK_WORK)
def change_due(task_id: int):
    """Move the task's due time."""
    return _change(task_id, "due_form", lambda _task: DueForm(),
                   lambda form: {"due_at": form.due_at.data},
                   lambda _form: _("Due time changed."))


_NOT_A_COLUMN = object()


def _change(task_id: int, form_name: str, make_form: Callable[[Task], FlaskForm],
            changes_of: Callable[[Any], dict[str, Any]], done: Callable[[Any], str]):
    """One of the task page's change forms: validate, skip a no-op, apply, say so."""
    user = console_user()
    task = _task_to_work(user, task_id)
    form = make_form(task)
    if not form.validate():
        db.session.rollback()
        explain_expired_csrf(form)
        return _render(user, task, status=400, **{form_name: form})
    changes = changes_of(form)
    if all(getattr(task, key, _NOT_A_COLUMN) == value for key, value in changes.items()):
        db.session.rollback()
        flash(_("Nothing changed."), "warning")
        return _back(task_id)
    try:
        services.update_task(user, task, changes)
    except DomainError as error:
        return _refused(user, task_id, form_name, form, error)
    flash(done(form), "success")
    return _back(task_id)


@blueprint.post("/console/tasks/<id:task_id>/notes")
@staff_required(Permission.TASK_WORK)
def add_note(task_id: int):
    """Add a progress note with files; published notes also reach the customer."""
    user = console_user()
    form, valid = read_upload_form(NoteForm, NOTE_MAX_UPLOADS)
    if valid is None:
        return _render(user, services.get_task(user, task_id), status=413, note_form=form)
    task = _task_to_work(user, task_id)
    if not valid:
        db.session.rollback()
        return _render(user, task, status=400, note_form=form)
    uploads = [page.Upload(storage.filename or "", storage.read(), storage.mimetype)
               for storage in form.attachments.data or [] if storage.filename]
    try:
        note = services.add_note(user, task, form.body.data,
                                 publish_to_customer=bool(form.publish_to_customer.data),
                                 uploads=uploads)
    except page.AttachmentTooLarge as error:
        db.session.rollback()
        form.attachments.errors = [*form.attachments.errors, _(
            "Larger than the %(size)s limit: %(files)s", size=page.file_size(error.limit),
            files=", ".join(error.filenames))]
        return _render(user, services.get_task(user, task_id), status=400, note_form=form)
    except DomainError as error:
        return _refused(user, task_id, "note_form", form, error)
    flash(_("Note published to the customer.") if note.published else _("Note added."),
          "success")
    return _back(task_id, f"note-{note.id}")


csrf.exempt(add_note)


# ---- a new task, from the ticket page ----

@blueprint.post("/console/tickets/<id:ticket_id>/tasks")
@staff_required(Permission.TASK_CREATE)
def create(ticket_id: int):
    """Open a task for a department from the ticket; errors show on the ticket page."""
    user = console_user()
    ticket = get_ticket(user, ticket_id, for_update=True)
    form = panels.new_task_form(posted=True)
    if not form.validate():
        explain_expired_csrf(form)
        return _ticket_page_with(form, ticket_id, 400)
    try:
        task = services.create_task(user, ticket, **form.values())
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, Forbidden):
            raise
        return _ticket_page_with(form, ticket_id, show_domain_error(form, error))
    flash(_("Task “%(title)s” opened for %(department)s.", title=task.title,
            department=page.team_name(task.department.name, task.department.name_zh)),
          "success")
    return redirect(url_for("ticket_page.show", ticket_id=ticket_id, _anchor="tasks"), 303)


def _ticket_page_with(form: FlaskForm, ticket_id: int, status: int):
    """The ticket page again, its "New task" panel holding the refused form."""
    db.session.rollback()
    g.setdefault(panels.FAILED_FORM_KEY, form)
    if not panels.may_open_tasks(console_user(), get_ticket(console_user(), ticket_id)):
        # No form on the page to hold the refusal (the ticket was resolved meanwhile).
        for message in form.form_errors:
            flash(message, "error")
    body, _status = ticket_views.show(ticket_id=ticket_id)
    return body, status

