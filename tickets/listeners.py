"""Reactions of the tickets domain to events from elsewhere."""
from __future__ import annotations

from service import events, jobs


@events.agent_became_available.connect
def _assign_waiting_tickets(_user_id: int, **_data) -> None:
    from tickets import jobs as ticket_jobs

    jobs.enqueue(ticket_jobs.assign_queued_tickets)


@events.message_added.connect
def _mail_the_other_side(ticket_id: int, *, message_id: int, visibility: str,
                         author_kind: str, **_data) -> None:
    from tickets import jobs as ticket_jobs

    if author_kind == "staff" and visibility == "public":
        jobs.enqueue(ticket_jobs.send_staff_reply, message_id)
    elif author_kind == "customer":
        jobs.enqueue(ticket_jobs.send_assignee_notice, message_id)


@events.ticket_assigned.connect
def _tell_the_new_assignee(ticket_id: int, *, assignee_id: int, actor_id: int | None = None,
                           **_data) -> None:
    from tickets import jobs as ticket_jobs

    # Only a colleague's hand-over is mailed: automatic assignments show up in the agent's
    # live queue (a mail per new ticket is noise), and who took a ticket knows it already.
    if actor_id is not None and assignee_id != actor_id:
        jobs.enqueue(ticket_jobs.send_assignment_notice, ticket_id, assignee_id)
