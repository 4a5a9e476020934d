"""Background entry points of cross-department tasks: take ids, load, call a service."""
from __future__ import annotations

from service.jobs import job


@job(queue="sweeps")
def sweep_overdue_tasks() -> None:
    """Escalate every task past its due time to its department's lead."""
    from tickets.tasks.overdue import sweep_overdue_tasks as sweep

    sweep()


@job(queue="mail")
def send_task_overdue_mail(task_id: int, user_id: int) -> None:
    """Mail a department's lead that one of its tasks is overdue."""
    from tickets.tasks.overdue import mail_task_overdue

    mail_task_overdue(task_id, user_id)
