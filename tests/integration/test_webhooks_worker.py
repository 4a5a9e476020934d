"""Webhooks end to end: PostgreSQL, Redis and a real `rq worker` POSTing to a local receiver."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.extensions import db
from service.notify.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.service.test_webhooks import running_receiver, verify_signature

pytestmark = pytest.mark.integration

ALLOWED = "127.0.0.1/32"


@pytest.fixture
def stack(make_stack, redis_url, monkeypatch):
    # The worker subprocess builds its app from the environment: allow the receiver there too.
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", ALLOWED)
    return make_stack(redis_url, WEBHOOK_ALLOWED_NETWORKS=[ALLOWED])


def test_a_real_worker_delivers_each_event_once_and_signed(stack, make_user, auth):
    client = stack.app.test_client()
    headers = auth(make_user("admin"))
    with running_receiver() as receiver:
        created = client.post("/api/v1/admin/webhooks", headers=headers, json={
            "url": receiver.url(), "events": ["ticket.created"]})
        assert created.status_code == 201, created.json
        ticket = client.post("/api/v1/tickets", headers=headers, json={
            "subject": "Webhook via worker", "description": "Details",
            "customer": {"email": "worker-hook@example.com"}})
        assert ticket.status_code == 201, ticket.json
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.status == DeliveryStatus.PENDING
        queue = stack.queue("webhooks")
        assert [tuple(job.args) for job in queue.get_jobs()] == [(delivery.id,)]
        assert receiver.received() == []  # the web process never sends
        # A duplicate copy of the job (e.g. a retry racing the first run) sends nothing more.
        queue.enqueue("service.notify.webhooks.jobs.deliver_webhook", delivery.id)

        stack.run_burst_worker(queues=("webhooks", "mail", "default"))

        [request] = receiver.received()
    body = verify_signature(request, created.json["secret"])
    assert body["event"] == "ticket.created" and body["data"]["id"] == ticket.json["id"]
    assert request["headers"]["X-Loopdesk-Delivery"] == delivery.event_id
    row = db.session.get(WebhookDelivery, delivery.id, populate_existing=True)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
