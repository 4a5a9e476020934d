"""Background entry point of webhooks: one job per delivery, on the `webhooks` queue."""
from __future__ import annotations

from service.jobs import job


@job(queue="webhooks")
def deliver_webhook(delivery_id: int) -> None:
    """Send one webhook delivery; raises on failure so the job is retried with backoff."""
    from service.notify.webhooks.services import deliver

    deliver(delivery_id)
