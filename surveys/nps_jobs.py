"""Background entry points of the NPS schedule and campaigns: take ids, call a service."""
from __future__ import annotations

from service.jobs import job


@job(queue="sweeps")
def schedule_nps() -> None:
    """Invite every contact due their periodic NPS survey (the ticker runs it hourly)."""
    from surveys.nps import schedule_due

    schedule_due()


@job(queue="default")
def run_campaign_batch(campaign_id: int) -> None:
    """Invite the next batch of a running campaign's segment (queues the one after)."""
    from surveys.campaigns import run_batch

    run_batch(campaign_id)
