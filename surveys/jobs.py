"""Background entry points of survey sending: take ids, load, call a service."""
from __future__ import annotations

from service.jobs import job


@job(queue="mail")
def send_invitation_job(invitation_id: int) -> None:
    """Send one survey invitation (or skip it with its reason), once."""
    from surveys.sending import send_invitation

    send_invitation(invitation_id)


@job(queue="sweeps")
def sweep_invitations() -> None:
    """Queue the sending of every scheduled invitation that is due."""
    from surveys.sending import sweep_due

    sweep_due()
