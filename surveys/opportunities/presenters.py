"""Opportunities as the API and pages show them: names, evidence with links, overdue."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from service.auth.models import User
from service.db_types import utcnow
from service.directory.models import Account, Contact
from service.extensions import db
from surveys.models import Opportunity, OpportunityEvent, OpportunityEvidence
from surveys.opportunities.links import absolute, evidence_paths
from surveys.opportunities.queries import is_overdue


def _refs(model: Any, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    return {row.id: {"id": row.id, "name": row.name} for row in db.session.execute(
        select(model.id, model.name).where(model.id.in_(ids)))}


def present_many(opportunities: Sequence[Opportunity], *, now: datetime | None = None,
                 absolute_urls: bool = True) -> list[dict[str, Any]]:
    """The views of many opportunities, in a fixed number of queries."""
    now = now or utcnow()
    if not opportunities:
        return []
    accounts = _refs(Account, {o.account_id for o in opportunities if o.account_id})
    contacts = _refs(Contact, {o.contact_id for o in opportunities if o.contact_id})
    owners = _refs(User, {o.owner_id for o in opportunities if o.owner_id})
    evidence: dict[int, list[OpportunityEvidence]] = {}
    for item in db.session.scalars(select(OpportunityEvidence).where(
            OpportunityEvidence.opportunity_id.in_([o.id for o in opportunities]))
            .order_by(OpportunityEvidence.id)):
        evidence.setdefault(item.opportunity_id, []).append(item)
    paths = evidence_paths([item for items in evidence.values() for item in items])
    link = absolute if absolute_urls else (lambda path: path)
    return [{
        "id": o.id, "kind": o.kind.value, "source": o.source.value, "status": o.status.value,
        "account": accounts.get(o.account_id), "contact": contacts.get(o.contact_id),
        "owner": owners.get(o.owner_id), "reason": o.reason,
        "suggested_products": list(o.suggested_products or []),
        "estimated_value": o.estimated_value, "won_value": o.won_value,
        "lost_reason": o.lost_reason, "first_contact_due_at": o.first_contact_due_at,
        "contacted_at": o.contacted_at, "returned_to_pool_at": o.returned_to_pool_at,
        "closed_at": o.closed_at, "overdue": is_overdue(o, now),
        "evidence": [{"kind": item.kind.value, "ref_id": item.ref_id, "rule": item.rule,
                      "phrase": item.phrase, "excerpt": item.excerpt,
                      "url": link(paths.get((item.kind.value, item.ref_id))),
                      "created_at": item.created_at}
                     for item in evidence.get(o.id, [])],
        "created_at": o.created_at, "updated_at": o.updated_at,
    } for o in opportunities]


def present(opportunity: Opportunity, *, with_history: bool = False,
            absolute_urls: bool = True) -> dict[str, Any]:
    """The view of one opportunity, with its history when asked."""
    view = present_many([opportunity], absolute_urls=absolute_urls)[0]
    if with_history:
        view["history"] = present_history(opportunity.id)
    return view


def present_history(opportunity_id: int) -> list[dict[str, Any]]:
    """The opportunity's history, oldest first, with who did each step."""
    rows = list(db.session.scalars(select(OpportunityEvent).where(
        OpportunityEvent.opportunity_id == opportunity_id).order_by(OpportunityEvent.id)))
    actors = _refs(User, {row.actor_id for row in rows if row.actor_id})
    return [{"id": row.id, "kind": row.kind, "actor": actors.get(row.actor_id),
             "data": row.data or {}, "at": row.at} for row in rows]
