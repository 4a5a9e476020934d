"""Background entry points of service recovery: take ids, load, call a service."""
from __future__ import annotations

from service.jobs import job


@job(queue="sweeps")
def sweep_recoveries() -> None:
    """Tell owners and their leads about follow-ups past their deadline (once each)."""
    from surveys.recovery.sweep import sweep_overdue

    sweep_overdue()


@job(queue="mail")
def send_recovery_notice(notification_id: int) -> None:
    """Mail a staff member a recovery notification (opened or overdue)."""
    from surveys.recovery.notices import mail_notice

    mail_notice(notification_id)
