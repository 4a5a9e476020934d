"""Background entry points of the tickets domain: take ids, load, call a service."""
from __future__ import annotations

from service.extensions import db
from service.jobs import job


@job(queue="mail")
def send_acknowledgement(ticket_id: int) -> None:
    """Tell the customer their ticket number and portal link (once per ticket)."""
    from tickets.notices import acknowledge

    acknowledge(ticket_id)


@job(queue="mail")
def send_staff_reply(message_id: int) -> None:
    """Email an agent's public reply to the customer."""
    from tickets.notices import mail_staff_reply

    mail_staff_reply(message_id)


@job(queue="mail")
def send_assignee_notice(message_id: int) -> None:
    """Tell the assignee by mail that the customer wrote."""
    from tickets.notices import notify_assignee

    notify_assignee(message_id)


@job(queue="mail")
def send_assignment_notice(ticket_id: int, user_id: int) -> None:
    """Tell an agent by mail that a ticket was assigned to them."""
    from tickets.notices import notify_assigned

    notify_assigned(ticket_id, user_id)


@job(queue="mail")
def send_sla_digest(user_id: int) -> None:
    """Mail a staff member their pending SLA warnings and escalations in one message."""
    from tickets.notices import mail_sla_digest

    mail_sla_digest(user_id)


@job(queue="sweeps")
def sweep_sla() -> None:
    """Run the SLA sweep over every ticket whose check time has come."""
    from flask import current_app

    from tickets.sla_sweep import sweep

    sweep(batch_size=current_app.config["SLA_SWEEP_BATCH"])


@job(queue="default")
def assign_queued_tickets() -> None:
    """Assign waiting tickets to agents who can take them now."""
    from tickets.routing import assign_queued

    assign_queued()
    db.session.commit()


@job(queue="sweeps")
def reconcile_agent_loads() -> None:
    """Recount agents' open tickets (a safety net; the counters are kept in step)."""
    from tickets.load import reconcile

    reconcile()
