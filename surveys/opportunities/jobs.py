"""Background entry points of opportunities: take ids, load, call a service."""
from __future__ import annotations

from service.jobs import job


@job(queue="sweeps")
def sweep_opportunities() -> None:
    """Return untouched opportunities past their first-contact deadline to the pool."""
    from surveys.opportunities.pool import BATCH, return_untouched

    while return_untouched(limit=BATCH) == BATCH:  # a full batch: more may be waiting
        pass


@job(queue="mail")
def send_opportunity_notice(notification_id: int) -> None:
    """Mail a rep (a new opportunity) or a lead (one returned to the pool), once."""
    from surveys.opportunities.notices import mail_notice

    mail_notice(notification_id)
