"""Webhooks: admins' CRUD, events published as deliveries, and delivering them once.

How a delivery goes over the wire (signature, headers, pinned address) is `sending`.
Success is any 2xx within WEBHOOK_TIMEOUT_SECONDS. A failed attempt raises so the job
framework retries it with its backoff; WEBHOOK_DISABLE_AFTER_FAILURES failed attempts in
a row disable the webhook and notify every admin. The delivery log keeps our own short
account of a failure, never what the receiver answered.
"""
from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from service import jobs
from service.auth.models import Role, User
from service.cache import snapshot
from service.crypto import decrypt, encrypt
from service.db_types import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.notify.models import Notification
from service.notify.webhooks import safety, sending
from service.notify.webhooks.jobs import deliver_webhook
from service.notify.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent
from service.pagination import decode_cursor, encode_cursor, id_page

log = logging.getLogger(__name__)

# Attempts per delivery, the first included: as many as the job framework retries.
MAX_ATTEMPTS = len(jobs.RETRY_INTERVALS)
# Only for deterministic event ids (uuid5): the same event always gets the same id.
_EVENT_NAMESPACE = uuid.UUID("5b0c6d0e-8f59-4c55-9b8e-6c2f4f1f5d21")


class WebhookUrlRefused(InvalidInput):
    status, title, slug = 422, "Webhook URL refused", "webhook-url-refused"


class DeliveryFailed(RuntimeError):
    """An attempt failed; raised so the job framework retries with its backoff."""


def event_id_for(key: str) -> str:
    """A stable event id for an event that can happen only once (e.g. "ticket.closed:42")."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, key))


# ---- admin CRUD ----

def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _allowed() -> list[str]:
    return current_app.config.get("WEBHOOK_ALLOWED_NETWORKS") or []


def check_url(url: str) -> str:
    """The URL when it may receive webhooks now, else WebhookUrlRefused (field `url`)."""
    try:
        safety.check(url, _allowed())
    except safety.UnsafeUrl as refusal:
        raise WebhookUrlRefused("The webhook URL was refused.",
                                errors={"url": [str(refusal)]}) from None
    return url


def create_webhook(url: str, events: list[str], description: str,
                   created_by: User | None) -> tuple[Webhook, str]:
    """A new active webhook and its raw signing secret (shown to the admin this once)."""
    secret = _new_secret()
    webhook = Webhook(url=check_url(url), events=sorted(set(events)),
                      description=description or "", secret_encrypted=encrypt(secret),
                      is_active=True, consecutive_failures=0,
                      created_by_id=created_by.id if created_by else None, created_at=utcnow())
    db.session.add(webhook)
    db.session.flush()
    return webhook, secret


def get_webhook(webhook_id: int) -> Webhook:
    """A webhook by id, or NotFound."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None:
        raise NotFound("No such webhook.")
    return webhook


def list_webhooks(limit: int, cursor: str | None) -> tuple[list[Webhook], str | None]:
    """One oldest-first page of webhooks."""
    return id_page(select(Webhook), Webhook, limit, cursor)


def update_webhook(webhook: Webhook, changes: dict[str, Any]) -> Webhook:
    """Apply an admin's PATCH: url (checked again), events, description, is_active."""
    if "url" in changes and changes["url"] != webhook.url:
        webhook.url = check_url(changes["url"])
    if "events" in changes:
        webhook.events = sorted(set(changes["events"]))
    if "description" in changes:
        webhook.description = changes["description"]
    if changes.get("is_active") is True and not webhook.is_active:
        webhook.is_active = True
        webhook.consecutive_failures = 0
        webhook.disabled_at = webhook.disabled_reason = None
    elif changes.get("is_active") is False and webhook.is_active:
        webhook.is_active = False
        webhook.disabled_at = utcnow()
        webhook.disabled_reason = "disabled by an admin"
    return webhook


def delete_webhook(webhook: Webhook) -> None:
    """Delete a webhook and its delivery log; its queued jobs then find nothing to send."""
    db.session.delete(webhook)


def rotate_secret(webhook: Webhook) -> str:
    """Give the webhook a new signing secret and return it (shown this once)."""
    secret = _new_secret()
    webhook.secret_encrypted = encrypt(secret)
    return secret


def list_deliveries(webhook: Webhook, limit: int, cursor: str | None,
                    status: DeliveryStatus | None = None
                    ) -> tuple[list[WebhookDelivery], str | None]:
    """One newest-first page of a webhook's delivery log."""
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if cursor:
        _, last_id = decode_cursor(cursor, "-id")
        query = query.where(WebhookDelivery.id < last_id)
    rows = list(db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("-id", None, rows[-1].id)


def redeliver(webhook: Webhook, delivery_id: int) -> WebhookDelivery:
    """Queue a delivery again (even a delivered one), with a fresh retry budget."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.webhook_id != webhook.id:
        raise NotFound("No such delivery of this webhook.")
    if not webhook.is_active:
        raise Conflict("The webhook is disabled; enable it before redelivering.")
    if delivery.status == DeliveryStatus.PENDING and delivery.claimed_at is not None \
            and delivery.claimed_at > utcnow() - _claim_timeout():
        raise Conflict("This delivery is being sent right now.")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.claimed_at = None
    delivery.next_attempt_at = utcnow()
    jobs.enqueue(deliver_webhook, delivery.id)
    return delivery


# ---- publishing ----

def _load_subscriptions() -> dict[str, tuple[int, ...]]:
    subscribed: dict[str, list[int]] = defaultdict(list)
    for webhook_id, events in db.session.execute(
            select(Webhook.id, Webhook.events).where(Webhook.is_active.is_(True))):
        for event in events or ():
            subscribed[event].append(webhook_id)
    return {event: tuple(ids) for event, ids in subscribed.items()}


# Publishing sits on hot paths (intake, the SLA sweep over thousands of tickets): with
# nobody subscribed it costs this cached lookup, reloaded after a webhook changes here
# and at most `ttl` seconds late for changes made by other processes.
_subscriptions = snapshot("webhook_subscriptions", _load_subscriptions, ttl=10,
                          watch=(Webhook,))


def subscribers(event: WebhookEvent | str) -> tuple[int, ...]:
    """Ids of the active webhooks subscribed to an event (cached; may lag a few seconds)."""
    return _subscriptions().get(str(event), ())


def publish(event: WebhookEvent | str, payload: dict[str, Any], *,
            event_id: str | None = None) -> list[int]:
    """Record the event for every active subscriber and queue the deliveries.

    Runs in the caller's transaction: the rows commit or roll back with it, and the jobs
    start after commit. An `event_id` already delivered to a webhook is not recorded
    again. `payload` must be JSON-ready (strings, numbers, lists, dicts).
    """
    webhook_ids = subscribers(event)
    if not webhook_ids:
        return []
    event_id = event_id or str(uuid.uuid4())
    now = utcnow()
    hooks = Webhook.__table__
    # The cache may lag: record only for webhooks that are still there and active.
    targets = list(db.session.scalars(select(hooks.c.id).where(hooks.c.id.in_(webhook_ids),
                                                               hooks.c.is_active)))
    delivery_ids: list[int] = []
    for webhook_id in targets:
        delivery_id = db.session.execute(_insert_once().values(
            webhook_id=webhook_id, event=str(event), event_id=event_id, payload=payload,
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now,
            created_at=now)).scalar()
        if delivery_id is None:  # this webhook has had this event already
            continue
        delivery_ids.append(delivery_id)
        jobs.enqueue(deliver_webhook, delivery_id)
    return delivery_ids


def _insert_once():
    """INSERT of a delivery that does nothing (returns no id) when the event is recorded."""
    table = WebhookDelivery.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return (dialect_insert(table)
            .on_conflict_do_nothing(index_elements=[table.c.webhook_id, table.c.event_id])
            .returning(table.c.id))


# ---- delivering ----

def _claim_timeout() -> timedelta:
    # A claim outlives any attempt, so only a worker that died mid-send loses it.
    return timedelta(seconds=max(300, 3 * current_app.config["WEBHOOK_TIMEOUT_SECONDS"]))


def _claim(delivery_id: int) -> bool:
    """Take a pending delivery for sending unless another live job holds it (atomic)."""
    now = utcnow()
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id,
               WebhookDelivery.status == DeliveryStatus.PENDING,
               WebhookDelivery.claimed_at.is_(None)
               | (WebhookDelivery.claimed_at < now - _claim_timeout()))
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return claimed == 1


def deliver(delivery_id: int) -> None:
    """Send one delivery at most once; raises DeliveryFailed so a failed attempt is retried.

    Returns quietly when there is nothing (more) to do: delivered already, given up,
    claimed by another job, or its webhook was deleted or disabled.
    """
    delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return
    webhook = db.session.get(Webhook, delivery.webhook_id, populate_existing=True)
    if not webhook.is_active:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = "webhook disabled"
        delivery.next_attempt_at = None
        db.session.commit()
        return
    url, webhook_id, secret = webhook.url, webhook.id, decrypt(webhook.secret_encrypted)
    event, event_id = delivery.event, delivery.event_id
    body = sending.envelope(event_id, event, delivery.created_at, delivery.payload)
    if not _claim(delivery_id):  # commits: no transaction stays open while we send
        return
    started = time.monotonic()
    if secret is None:
        status_code, error = None, "signing secret unreadable (was ENCRYPTION_KEY changed?)"
    else:
        status_code, error = sending.send(url, secret, body, event, event_id,
                                          allowed=_allowed(),
                                          timeout=current_app.config["WEBHOOK_TIMEOUT_SECONDS"])
    duration_ms = int((time.monotonic() - started) * 1000)
    _record(delivery_id, webhook_id, status_code, error, duration_ms)


def _record(delivery_id: int, webhook_id: int, status_code: int | None, error: str | None,
            duration_ms: int) -> None:
    """Store how the attempt went; on failure count it, maybe disable, then raise."""
    now = utcnow()
    delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None:  # the webhook was deleted while we sent
        db.session.commit()
        return
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    delivery.duration_ms = duration_ms
    delivery.claimed_at = None
    hooks = Webhook.__table__
    if error is None:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        db.session.execute(update(hooks).where(hooks.c.id == webhook_id)
                           .values(consecutive_failures=0))
        db.session.commit()
        return
    final = delivery.attempts >= MAX_ATTEMPTS
    delivery.status = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
    retry_in = jobs.RETRY_INTERVALS[min(delivery.attempts, MAX_ATTEMPTS) - 1]
    delivery.next_attempt_at = None if final else now + timedelta(seconds=retry_in)
    failures = db.session.execute(
        update(hooks).where(hooks.c.id == webhook_id)
        .values(consecutive_failures=hooks.c.consecutive_failures + 1)
        .returning(hooks.c.consecutive_failures)).scalar_one()
    limit = current_app.config["WEBHOOK_DISABLE_AFTER_FAILURES"]
    disabled = failures >= limit and _disable(webhook_id, failures, error, now)
    if disabled:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    db.session.commit()
    if disabled:
        return  # nothing more will be sent to it: the job ends without a retry
    raise DeliveryFailed(f"webhook {webhook_id}, delivery {delivery_id}: {error}")


def _host_of(url: str) -> str:
    try:
        return safety.parse(url)[1]
    except safety.UnsafeUrl:
        return "?"


def _disable(webhook_id: int, failures: int, error: str, now: datetime) -> bool:
    """Disable an active webhook and notify every admin; False if already disabled."""
    webhook = db.session.scalar(select(Webhook).where(Webhook.id == webhook_id)
                                .with_for_update()
                                .execution_options(populate_existing=True))
    if webhook is None or not webhook.is_active:
        return False
    webhook.is_active = False
    webhook.disabled_at = now
    webhook.disabled_reason = f"{failures} failed attempts in a row (last: {error})"[:300]
    host = _host_of(webhook.url)
    admin_ids = db.session.scalars(select(User.id).where(User.role == Role.ADMIN,
                                                         User.is_active.is_(True)))
    for admin_id in admin_ids:
        db.session.add(Notification(
            user_id=admin_id, kind="webhook_disabled", subject_ref=f"webhook:{webhook_id}",
            title=f"Webhook {webhook_id} ({host}) disabled after {failures} failed attempts",
            data={"webhook_id": webhook_id, "host": host, "failures": failures,
                  "last_error": error},
            dedupe_key=f"webhook_disabled:{webhook_id}:{now.isoformat()}:{admin_id}",
            created_at=now))
    log.warning("webhook %s disabled after %s failed attempts (last: %s)", webhook_id,
                failures, error)
    return True
