"""What happens to an opportunity: history rows, the webhook payload, the domain event.

Every change goes through `changed()` so the history, the `opportunity.updated` webhook and
the `opportunity_changed` signal never disagree.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from service import events
from service.auth.models import User
from service.directory.models import Account, Contact
from service.extensions import db
from service.notify.webhooks.models import WebhookEvent
from service.notify.webhooks.services import publish
from surveys.models import Opportunity, OpportunityEvent, OpportunityEvidence


def record_event(opportunity: Opportunity, kind: str, *, actor_id: int | None, at: datetime,
                 **data: Any) -> OpportunityEvent:
    """Add one history row (no commit)."""
    event = OpportunityEvent(opportunity_id=opportunity.id, kind=kind, actor_id=actor_id,
                             data=_plain(data), at=at)
    db.session.add(event)
    return event


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready copy of event data (datetimes as ISO strings, enums as values)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif hasattr(value, "value") and not isinstance(value, (int, str)):
            value = value.value
        out[key] = value
    return out


def history(opportunity_id: int) -> list[OpportunityEvent]:
    """The opportunity's history, oldest first."""
    return list(db.session.scalars(select(OpportunityEvent).where(
        OpportunityEvent.opportunity_id == opportunity_id).order_by(OpportunityEvent.id)))


def evidence_of(opportunity_id: int) -> list[OpportunityEvidence]:
    """The opportunity's evidence, oldest first."""
    return list(db.session.scalars(select(OpportunityEvidence).where(
        OpportunityEvidence.opportunity_id == opportunity_id).order_by(OpportunityEvidence.id)))


def console_url(opportunity_id: int) -> str:
    """The opportunity's page in the console, as an absolute URL (for mails, CSV, webhooks)."""
    return current_app.config["BASE_URL"].rstrip("/") + f"/console/opportunities/{opportunity_id}"


def payload(opportunity: Opportunity) -> dict[str, Any]:
    """The webhook body of an opportunity: what a CRM needs to create or update its record."""
    from surveys.opportunities.links import absolute, evidence_paths

    account = db.session.get(Account, opportunity.account_id) if opportunity.account_id else None
    contact = db.session.get(Contact, opportunity.contact_id) if opportunity.contact_id else None
    owner = db.session.get(User, opportunity.owner_id) if opportunity.owner_id else None
    evidence = evidence_of(opportunity.id)
    paths = evidence_paths(evidence)

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": opportunity.id, "kind": opportunity.kind.value,
        "source": opportunity.source.value, "status": opportunity.status.value,
        "account": {"id": account.id, "name": account.name} if account else None,
        "contact": ({"id": contact.id, "name": contact.name, "email": contact.email}
                    if contact else None),
        "owner": ({"id": owner.id, "name": owner.name, "email": owner.email}
                  if owner else None),
        "reason": opportunity.reason,
        "suggested_products": list(opportunity.suggested_products or []),
        "estimated_value": opportunity.estimated_value, "won_value": opportunity.won_value,
        "lost_reason": opportunity.lost_reason,
        "first_contact_due_at": when(opportunity.first_contact_due_at),
        "contacted_at": when(opportunity.contacted_at),
        "closed_at": when(opportunity.closed_at),
        "created_at": when(opportunity.created_at), "updated_at": when(opportunity.updated_at),
        "url": console_url(opportunity.id),
        "evidence": [{"kind": item.kind.value, "ref_id": item.ref_id, "rule": item.rule,
                      "phrase": item.phrase,
                      "url": absolute(paths.get((item.kind.value, item.ref_id)))}
                     for item in evidence],
    }


def created(opportunity: Opportunity) -> None:
    """Announce a new opportunity: webhook `opportunity.created` and the domain event."""
    db.session.flush()
    publish(WebhookEvent.OPPORTUNITY_CREATED, payload(opportunity))
    events.opportunity_changed.send(opportunity.id, created=True, fields=[])


def changed(opportunity: Opportunity, fields: list[str]) -> None:
    """Announce a change: webhook `opportunity.updated` (with the changed fields) and event."""
    db.session.flush()
    publish(WebhookEvent.OPPORTUNITY_UPDATED, {**payload(opportunity), "changed": fields})
    events.opportunity_changed.send(opportunity.id, created=False, fields=fields)
