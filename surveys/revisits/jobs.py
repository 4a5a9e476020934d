"""Background entry points of VIP revisits: take ids, load, call a service."""
from __future__ import annotations

from service.jobs import job


@job(queue="sweeps")
def sweep_revisits() -> None:
    """Plan the next revisit of every VIP account, cancel those no longer wanted, and remind
    owners of revisits that fell due (the ticker runs this hourly)."""
    from surveys.revisits.planning import plan_due
    from surveys.revisits.reminders import remind_due

    plan_due()
    remind_due()
