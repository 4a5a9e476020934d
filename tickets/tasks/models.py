"""Tasks handed to a department from a ticket, and their progress notes."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.auth.models import User
from service.db_types import UTCDateTime, str_enum, utcnow
from service.directory.models import Team
from service.extensions import db


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"


# A task in one of these still holds the ticket: it blocks resolving and runs its clock.
ACTIVE_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED)
_TO_ESCALATE = ("escalated_at IS NULL AND status IN ("
                + ", ".join(f"'{status.value}'" for status in ACTIVE_TASK_STATUSES) + ")")


class Task(db.Model):
    """Work a department owes a ticket: what is asked, what is expected back, by when."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_department_status_due", "department_id", "status", "due_at", "id"),
        Index("ix_tasks_ticket", "ticket_id", "id"),
        Index("ix_tasks_status_due", "status", "due_at"),
        Index("ix_tasks_assignee_status", "assignee_id", "status"),
        # Reports: turnaround and time per department place tasks by when they finished.
        Index("ix_tasks_finished", "finished_at"),
        # The overdue sweep's work list: active tasks not yet escalated, soonest due first.
        Index("ix_tasks_to_escalate", "due_at", "id",
              postgresql_where=text(_TO_ESCALATE), sqlite_where=text(_TO_ESCALATE)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    expected_outcome: Mapped[str] = mapped_column(Text, default="")  # what is expected back
    outcome: Mapped[str | None] = mapped_column(Text)  # what the department gave back
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus, "task_status"),
                                               default=TaskStatus.OPEN)
    # The department's internal target (an operational-level agreement), in business time
    # on the department's calendar; the ticket's own SLA keeps running meanwhile.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # overdue → lead told
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # done or cancelled

    department: Mapped[Team] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    notes: Mapped[list[TaskNote]] = relationship(order_by="TaskNote.id",
                                                 cascade="all, delete-orphan")


class TaskNote(db.Model):
    """A progress note on a task; published ones also reached the customer as a message."""

    __tablename__ = "task_notes"
    __table_args__ = (Index("ix_task_notes_task", "task_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    # The status the task moved to with this note, if it moved.
    status: Mapped[TaskStatus | None] = mapped_column(str_enum(TaskStatus, "task_status"))
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    # The public ticket message that carried a published note to the customer.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()
