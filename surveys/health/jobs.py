"""Background entry points of account health: take ids, load, call a service."""
from __future__ import annotations

from service.directory.models import Account
from service.extensions import db
from service.jobs import job


@job(queue="default")
def recompute_health(account_id: int) -> None:
    """Recompute one account's health score after its inputs changed."""
    from surveys.health.services import recompute

    if db.session.get(Account, account_id) is None:
        return  # deleted since the event
    recompute(account_id)
    db.session.commit()


@job(queue="sweeps")
def refresh_health() -> None:
    """Recompute accounts whose score is over a day old (the hourly sweep)."""
    from surveys.health.services import refresh_stale

    refresh_stale()
