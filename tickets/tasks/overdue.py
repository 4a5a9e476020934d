"""Overdue tasks: the periodic sweep that escalates them to their department's lead."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from service import jobs
from service.auth import prefs
from service.auth.models import User
from service.db_types import utcnow
from service.directory.models import Team
from service.extensions import db
from service.i18n import locale_for
from service.notify import mail
from service.notify.models import Notification
from tickets import timeline
from tickets.models import Ticket, format_number
from tickets.tasks.models import ACTIVE_TASK_STATUSES, Task

NOTICE_KIND = "task_overdue"


def notice_key(task_id: int, due_at: datetime) -> str:
    """The dedupe key of a task's overdue notice: one per task and due time."""
    return f"{NOTICE_KIND}:{task_id}:{due_at.isoformat()}"


def sweep_overdue_tasks(now: datetime | None = None, batch_size: int = 200) -> int:
    """Escalate every active task past its due time, once per due time; returns how many.

    Batches are taken with FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers can
    sweep at once; `escalated_at` lives in the database, so a sweep after downtime finds
    every task that fell due meanwhile. A task reopened or given a new due time has its
    `escalated_at` cleared and may be escalated again.
    """
    now = now or utcnow()
    escalated = 0
    while True:
        tasks = list(db.session.scalars(
            select(Task).where(Task.status.in_(ACTIVE_TASK_STATUSES), Task.due_at <= now,
                               Task.escalated_at.is_(None))
            .order_by(Task.due_at, Task.id).limit(batch_size)
            .with_for_update(skip_locked=True, of=Task)))
        if not tasks:
            break
        _escalate_batch(tasks, now)
        escalated += len(tasks)
        db.session.commit()
        if len(tasks) < batch_size:
            break
    return escalated


def _escalate_batch(tasks: list[Task], now: datetime) -> None:
    from tickets.tasks import jobs as task_jobs

    leads = {row.id: row.lead_id for row in db.session.execute(select(Team.id, Team.lead_id)
                                                               .where(Team.id.in_(
                                                                   {task.department_id
                                                                    for task in tasks})))}
    keys = {task.id: notice_key(task.id, task.due_at) for task in tasks}
    # A task reopened with its old due time was told once already: no second notice.
    known = set(db.session.scalars(select(Notification.dedupe_key).where(
        Notification.dedupe_key.in_(list(keys.values())))))
    for task in tasks:
        task.escalated_at = now
        lead_id = leads.get(task.department_id)
        timeline.record(task.ticket_id, "task_overdue", at=now, task_id=task.id,
                        title=task.title, department_id=task.department_id,
                        due_at=task.due_at.isoformat(), escalated_to=lead_id)
        if lead_id is None or keys[task.id] in known:
            continue
        number = format_number(task.ticket_id)
        db.session.add(Notification(
            user_id=lead_id, kind=NOTICE_KIND, subject_ref=f"task:{task.id}",
            title=f"{number} task overdue: {task.title} (due {task.due_at:%Y-%m-%d %H:%M} UTC)"
            [:300],
            data={"number": number, "task_id": task.id, "ticket_id": task.ticket_id,
                  "title": task.title, "department_id": task.department_id,
                  "due_at": task.due_at.isoformat()},
            dedupe_key=keys[task.id], created_at=now))
        jobs.enqueue(task_jobs.send_task_overdue_mail, task.id, lead_id)


def mail_task_overdue(task_id: int, user_id: int) -> None:
    """Mail a department's lead that a task is overdue, in their language, once per due time."""
    task = db.session.get(Task, task_id)
    user = db.session.get(User, user_id)
    if (task is None or user is None or not user.is_active or task.escalated_at is None
            or task.status not in ACTIVE_TASK_STATUSES):
        return  # finished or given a new due time since the sweep
    notice = db.session.scalar(select(Notification).where(
        Notification.dedupe_key == notice_key(task.id, task.due_at)))
    # Overdue tasks are escalations: the same preference as SLA escalations.
    if prefs.wants(user, "sla_alerts"):
        ticket = db.session.get(Ticket, task.ticket_id)
        department = db.session.get(Team, task.department_id)
        zone = _zone(user)
        link = current_app.config["BASE_URL"] + f"/console/tasks/{task.id}"
        with force_locale(locale_for(user.locale)):
            subject = render_template("tickets/mail/task_overdue_subject.txt", task=task,
                                      ticket=ticket)
            body = render_template("tickets/mail/task_overdue.txt", user=user, task=task,
                                   ticket=ticket, department=department, link=link,
                                   due=task.due_at.astimezone(zone), zone=zone.key,
                                   current_locale=locale_for(user.locale))
        mail.send_mail(f"{notice_key(task.id, task.due_at)}:user:{user.id}", user.email,
                       subject.strip(), body)
    if notice is not None and notice.emailed_at is None:
        notice.emailed_at = utcnow()
    db.session.commit()


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone or current_app.config["TIMEZONE"])
    except (ValueError, KeyError):  # a zone removed from tzdata since it was chosen
        return ZoneInfo(current_app.config["TIMEZONE"])
