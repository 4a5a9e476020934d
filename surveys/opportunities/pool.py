"""The first-contact deadline: an owned opportunity still `new` past it returns to the pool.

The rep's lead (the lead of any team the rep belongs to, else the admins) is told once per
return. On PostgreSQL the sweep claims rows with FOR UPDATE SKIP LOCKED, so two tickers
never return (or announce) the same opportunity twice, and a rep working one right now
is not blocked by the sweep.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from service.db_types import utcnow
from service.extensions import db
from surveys.models import Opportunity, OpportunityStatus
from surveys.opportunities import history
from surveys.opportunities.notices import notify_returned


BATCH = 200


def return_untouched(now: datetime | None = None, limit: int = BATCH) -> int:
    """Return up to `limit` owned, uncontacted opportunities past their deadline; commits.

    Returns how many went back to the pool.
    """
    now = now or utcnow()
    query = (select(Opportunity)
             .where(Opportunity.status == OpportunityStatus.NEW,
                    Opportunity.owner_id.is_not(None),
                    Opportunity.first_contact_due_at <= now)
             .order_by(Opportunity.first_contact_due_at, Opportunity.id).limit(limit)
             .with_for_update(of=Opportunity, skip_locked=True)
             .execution_options(populate_existing=True))
    returned = 0
    for opportunity in db.session.scalars(query).all():
        rep_id = opportunity.owner_id
        opportunity.owner_id = None
        opportunity.returned_by_id = rep_id
        opportunity.returned_to_pool_at = now
        opportunity.updated_at = now
        history.record_event(opportunity, "returned_to_pool", actor_id=None, at=now,
                             before=rep_id, after=None,
                             due_at=opportunity.first_contact_due_at)
        notify_returned(opportunity, rep_id, now=now)
        history.changed(opportunity, ["owner"])
        returned += 1
    db.session.commit()
    return returned
