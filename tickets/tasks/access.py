"""Who may see and work cross-department tasks, and when a department's task is due.

- see a task: admins; members and the lead of its department; its assignee; anyone who
  may see its ticket (tickets.services.visible_to). Integrations never see tasks. Others
  get 404.
- work a task (change it, add notes, publish a note to the customer): task.work and being
  a member of its department, its assignee, the ticket's assignee, the lead of its
  department or of the ticket's team, or an admin.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import false, select, true

from service.auth.models import Role, User
from service.auth.permissions import Permission, can
from service.directory.models import Team, team_members
from service.errors import Forbidden
from service.extensions import db
from tickets import sla
from tickets.calendar import add_business_time
from tickets.models import BusinessCalendar, Ticket
from tickets.services import visible_to
from tickets.tasks.models import Task


def _user_teams(user: User):
    return select(team_members.c.team_id).where(team_members.c.user_id == user.id)


def tasks_visible_to(user: User):
    """SQL condition: tasks this staff user may see (others answer 404)."""
    if can(user, Permission.TICKET_VIEW_ALL):
        return true()
    if not can(user, Permission.TICKET_VIEW_INTERNAL):
        return false()  # integrations: tasks are internal work
    led = select(Team.id).where(Team.lead_id == user.id)
    return (Task.department_id.in_(_user_teams(user)) | Task.department_id.in_(led)
            | (Task.assignee_id == user.id)
            | Task.ticket_id.in_(select(Ticket.id).where(visible_to(user))))


def is_member(user_id: int, team_id: int | None) -> bool:
    """Whether the user belongs to the team (department)."""
    if team_id is None:
        return False
    return db.session.scalar(select(team_members.c.user_id).where(
        team_members.c.team_id == team_id, team_members.c.user_id == user_id)) is not None


def can_work(user: User, task: Task) -> bool:
    """Whether the user may change this task, add notes and publish them."""
    if not can(user, Permission.TASK_WORK):
        return False
    if user.role == Role.ADMIN or task.assignee_id == user.id:
        return True
    department = db.session.get(Team, task.department_id)
    if department is not None and department.lead_id == user.id:
        return True
    ticket = db.session.get(Ticket, task.ticket_id)
    if ticket is not None:
        if ticket.assignee_id == user.id:
            return True
        team = db.session.get(Team, ticket.team_id) if ticket.team_id else None
        if team is not None and team.lead_id == user.id:
            return True
    return is_member(user.id, task.department_id)


def require_work(user: User, task: Task) -> None:
    """Raise Forbidden unless the user may work the task."""
    if not can_work(user, task):
        raise Forbidden(_("Only the task's department, its assignee and the ticket's owners "
                          "may work this task."))


# ---- due times ----

def department_calendar(team: Team) -> BusinessCalendar:
    """The business calendar a department's tasks run on: its own, else the default one."""
    calendar = db.session.get(BusinessCalendar, team.calendar_id) if team.calendar_id else None
    if calendar is None:
        calendar = db.session.scalar(select(BusinessCalendar).order_by(BusinessCalendar.id)
                                     .limit(1))
    if calendar is None:
        raise RuntimeError("no business calendar: run ensure_defaults")
    return calendar


def department_due(team: Team, start: datetime) -> datetime:
    """When a task handed to `team` at `start` is due: its turnaround in business time."""
    minutes = team.task_target_minutes or current_app.config["TASK_DEFAULT_MINUTES"]
    calendar = sla.working_calendar(department_calendar(team))
    return add_business_time(calendar, start, timedelta(minutes=minutes))
