"""Background entry points of the closed loop: take ids, load, call a service."""
from __future__ import annotations

from service.jobs import job


@job(queue="mail")
def send_confirmation_request(resolution_id: int) -> None:
    """Ask the customer to confirm the fix (once per resolution)."""
    from tickets.resolution.notices import mail_confirmation_request

    mail_confirmation_request(resolution_id)


@job(queue="mail")
def send_confirmation_reminder(resolution_id: int) -> None:
    """Remind the customer to confirm the fix (once per resolution)."""
    from tickets.resolution.notices import mail_confirmation_reminder

    mail_confirmation_reminder(resolution_id)


@job(queue="mail")
def send_reopened_notice(notification_id: int) -> None:
    """Mail a staff member that the customer said a fix does not work."""
    from tickets.resolution.notices import mail_reopened_notice

    mail_reopened_notice(notification_id)


@job(queue="sweeps")
def sweep_confirmations() -> None:
    """Remind at half-time and close unanswered resolutions as auto-confirmed."""
    from tickets.resolution.sweep import sweep_confirmations as sweep

    sweep()
