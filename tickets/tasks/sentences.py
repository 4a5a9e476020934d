"""How the ticket timeline tells the task events, each naming its task as a link to the task.

Sentences are Markup: the translated text is ours, every value put into it is escaped, and
the task's title becomes a link to the task page.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from service.auth.models import User
from service.directory.models import Team
from service.extensions import db
from service.templating import localtime
from tickets.models import TicketEvent
from tickets.tasks.labels import TASK_STATUS_LABELS
from tickets.tasks.models import Task
from tickets.ticket_page import EventNames, register_event_sentence, team_name

TASK_EVENT_KINDS = ("task_opened", "task_status_changed", "task_reassigned", "task_due_changed",
                    "task_note_added", "task_overdue")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _TicketNames:
    """Task titles, people and departments a ticket's task events name: three queries per
    ticket and request, whatever the number of events (the timeline's own EventNames does
    not collect departments or a reassignment's people)."""

    def __init__(self, ticket_id: int):
        self.tasks: dict[int, str] = dict(db.session.execute(
            select(Task.id, Task.title).where(Task.ticket_id == ticket_id)).all())
        user_ids: set[int] = set()
        for data in db.session.scalars(select(TicketEvent.data).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.kind.in_(TASK_EVENT_KINDS))):
            for key in ("from", "to", "assignee_id"):
                if _int((data or {}).get(key)):
                    user_ids.add(data[key])
        self.users: dict[int, str] = dict(db.session.execute(
            select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
        self.teams: dict[int, str] = {row.id: team_name(row.name, row.name_zh) or "" for row in
                                      db.session.execute(select(Team.id, Team.name,
                                                                Team.name_zh))}


def _names(event: TicketEvent) -> _TicketNames:
    cache: dict[int, _TicketNames] = g.setdefault("_task_event_names", {})
    if event.ticket_id not in cache:
        cache[event.ticket_id] = _TicketNames(event.ticket_id)
    return cache[event.ticket_id]


def _task(event: TicketEvent) -> Markup:
    """The task's title, linked to its page."""
    data = event.data or {}
    task_id = _int(data.get("task_id"))
    title = data.get("title") if isinstance(data.get("title"), str) else None
    if task_id is None:
        return Markup("{}").format(title or _("a task"))
    title = title or _names(event).tasks.get(task_id) or _("task %(id)s", id=task_id)
    return Markup('<a href="{}">{}</a>').format(
        url_for("tasks_console.show", task_id=task_id), title)


def _department(event: TicketEvent, names: EventNames) -> str:
    team_id = _int((event.data or {}).get("department_id"))
    if team_id is None:
        return _("(unknown)")
    return names.teams.get(team_id) or _names(event).teams.get(team_id) or _("(unknown)")


def _person(event: TicketEvent, names: EventNames, value: Any) -> str:
    user_id = _int(value)
    if user_id is None:
        return _("nobody")
    return (names.users.get(user_id) or _names(event).users.get(user_id)
            or _("a former staff member"))


def _when(value: Any) -> str:
    try:
        return localtime(datetime.fromisoformat(str(value)))
    except ValueError:
        return _("(none)")


def _status(value: Any) -> str:
    return str(TASK_STATUS_LABELS.get(str(value), value or _("(none)")))


def _say(text: str, **values: Any) -> Markup:
    # The translation is trusted; Markup's % escapes every value that is not Markup itself.
    return Markup(text) % values


def task_opened(event: TicketEvent, actor: str, names: EventNames) -> Markup:
    """"Alice opened the task X for R&D, due …" (and who has it, if anyone)."""
    data = event.data or {}
    values = {"actor": actor, "task": _task(event), "department": _department(event, names),
              "due": _when(data.get("due_at"))}
    if _int(data.get("assignee_id")):
        return _say(_("%(actor)s opened the task %(task)s for %(department)s, assigned to "
                      "%(assignee)s, due %(due)s."),
                    assignee=_person(event, names, data["assignee_id"]), **values)
    return _say(_("%(actor)s opened the task %(task)s for %(department)s, due %(due)s."),
                **values)


def task_status_changed(event: TicketEvent, actor: str, names: EventNames) -> Markup:
    """"Bob moved the task X from Open to In progress.\""""
    data = event.data or {}
    return _say(_("%(actor)s moved the task %(task)s from %(old)s to %(new)s."), actor=actor,
                task=_task(event), old=_status(data.get("from")), new=_status(data.get("to")))


def task_reassigned(event: TicketEvent, actor: str, names: EventNames) -> Markup:
    """"Bob gave the task X to Carol (before: nobody).\""""
    data = event.data or {}
    return _say(_("%(actor)s gave the task %(task)s to %(new)s (before: %(old)s)."),
                actor=actor, task=_task(event), old=_person(event, names, data.get("from")),
                new=_person(event, names, data.get("to")))


def task_due_changed(event: TicketEvent, actor: str, names: EventNames) -> Markup:
    """"Bob moved the due time of the task X from … to ….\""""
    data = event.data or {}
    return _say(_("%(actor)s moved the due time of the task %(task)s from %(old)s to %(new)s."),
                actor=actor, task=_task(event), old=_when(data.get("from")),
                new=_when(data.get("to")))


def task_note_added(event: TicketEvent, actor: str, names: EventNames) -> Markup:
    """A progress note on a task, saying when it also went to the customer."""
    if (event.data or {}).get("published"):
        return _say(_("%(actor)s added a progress note to the task %(task)s and published it "
                      "to the customer."), actor=actor, task=_task(event))
    return _say(_("%(actor)s added a progress note to the task %(task)s."), actor=actor,
                task=_task(event))


def task_overdue(event: TicketEvent, actor: str, names: EventNames) -> Markup:
    """"The task X for R&D is overdue (due …).\""""
    data = event.data or {}
    return _say(_("The task %(task)s for %(department)s is overdue (due %(due)s)."),
                task=_task(event), department=_department(event, names),
                due=_when(data.get("due_at")))


def register() -> None:
    """Teach the ticket timeline the six task event kinds."""
    for fn in (task_opened, task_status_changed, task_reassigned, task_due_changed,
               task_note_added, task_overdue):
        register_event_sentence(fn.__name__, fn)
