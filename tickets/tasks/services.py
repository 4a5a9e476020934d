"""Cross-department tasks: opening, working and finishing them, and what they do to the ticket."""
from __future__ import annotations

from sqlalchemy import select

from service.extensions import db
from tickets.tasks.models import ACTIVE_TASK_STATUSES, Task


def active_tasks(ticket_id: int) -> list[Task]:
    """The ticket's tasks still open, in progress or blocked (they block resolving)."""
    return list(db.session.scalars(
        select(Task).where(Task.ticket_id == ticket_id, Task.status.in_(ACTIVE_TASK_STATUSES))
        .order_by(Task.id)))
