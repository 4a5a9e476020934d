"""Reactions of the tickets domain to events from elsewhere."""
from __future__ import annotations

from service import events, jobs


@events.agent_became_available.connect
def _assign_waiting_tickets(_user_id: int, **_data) -> None:
    from tickets import jobs as ticket_jobs

    jobs.enqueue(ticket_jobs.assign_queued_tickets)
