"""Reading opportunities: who sees which, one opportunity, keyset pages, the inbox's tabs.

Sales reps see their own and the shared pool; leads and admins see every opportunity;
anyone else sees none (404, never revealing that one exists).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, false, func, or_, select, true

from service.auth.models import Role, User
from service.auth.permissions import Permission, can
from service.errors import NotFound
from service.extensions import db
from service.pagination import decode_cursor, decode_time_cursor, encode_cursor
from service.validation import is_id
from surveys.models import (OPEN_OPPORTUNITY_STATUSES, Opportunity, OpportunityKind,
                            OpportunitySource, OpportunityStatus)

POOL, ME = "pool", "me"
TABS = ("mine", "pool", "due", "all")


def visible_to(user: User):
    """SQL condition: the opportunities this user may see."""
    if not can(user, Permission.OPPORTUNITY_WORK):
        return false()
    if user.role in (Role.LEAD, Role.ADMIN):
        return true()
    return or_(Opportunity.owner_id == user.id, Opportunity.owner_id.is_(None))


def get_opportunity(user: User, opportunity_id: int, *, for_update: bool = False
                    ) -> Opportunity:
    """An opportunity the user may see, or NotFound."""
    if not is_id(opportunity_id):
        raise NotFound(_("No such opportunity."))
    query = select(Opportunity).where(Opportunity.id == opportunity_id, visible_to(user))
    if for_update:
        query = query.with_for_update(of=Opportunity).execution_options(populate_existing=True)
    opportunity = db.session.scalar(query)
    if opportunity is None:
        raise NotFound(_("No such opportunity."))
    return opportunity


def is_overdue(opportunity: Opportunity, now: datetime) -> bool:
    """Whether it still waits for its first contact past the deadline."""
    return (opportunity.status == OpportunityStatus.NEW
            and opportunity.first_contact_due_at <= now)


@dataclass(frozen=True)
class Filters:
    """What a list asks for; every field optional."""
    status: Sequence[OpportunityStatus] = ()
    kind: OpportunityKind | None = None
    source: OpportunitySource | None = None
    owner: str | int | None = None  # "me", "pool" or a user id
    account_id: int | None = None
    contact_id: int | None = None
    due_before: datetime | None = None  # still new, first contact due before this
    tab: str | None = None  # the inbox's tabs (see TABS)


def _filtered(user: User, filters: Filters):
    query = select(Opportunity).where(visible_to(user))
    if filters.tab == "mine":
        query = query.where(Opportunity.owner_id == user.id,
                            Opportunity.status.in_(OPEN_OPPORTUNITY_STATUSES))
    elif filters.tab == "pool":
        query = query.where(Opportunity.owner_id.is_(None),
                            Opportunity.status.in_(OPEN_OPPORTUNITY_STATUSES))
    if filters.status:
        query = query.where(Opportunity.status.in_(list(filters.status)))
    if filters.kind is not None:
        query = query.where(Opportunity.kind == filters.kind)
    if filters.source is not None:
        query = query.where(Opportunity.source == filters.source)
    if filters.owner == ME:
        query = query.where(Opportunity.owner_id == user.id)
    elif filters.owner == POOL:
        query = query.where(Opportunity.owner_id.is_(None))
    elif filters.owner is not None:
        query = query.where(Opportunity.owner_id == int(filters.owner))
    if filters.account_id is not None:
        query = query.where(Opportunity.account_id == filters.account_id)
    if filters.contact_id is not None:
        query = query.where(Opportunity.contact_id == filters.contact_id)
    if filters.due_before is not None:
        query = query.where(Opportunity.status == OpportunityStatus.NEW,
                            Opportunity.first_contact_due_at < filters.due_before)
    return query


def list_opportunities(user: User, filters: Filters = Filters(), *, limit: int = 50,
                       cursor: str | None = None, by_due: bool = False
                       ) -> tuple[list[Opportunity], str | None]:
    """One keyset page the user may see and the next cursor: newest first, or soonest due."""
    query = _filtered(user, filters)
    if by_due:
        if cursor:
            due, last_id = decode_time_cursor(cursor, "due")
            query = query.where(or_(Opportunity.first_contact_due_at > due,
                                    and_(Opportunity.first_contact_due_at == due,
                                         Opportunity.id > last_id)))
        query = query.order_by(Opportunity.first_contact_due_at, Opportunity.id)
    else:
        if cursor:
            _value, last_id = decode_cursor(cursor, "newest")
            query = query.where(Opportunity.id < last_id)
        query = query.order_by(Opportunity.id.desc())
    rows = list(db.session.scalars(query.limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    if by_due:
        return rows, encode_cursor("due", last.first_contact_due_at, last.id)
    return rows, encode_cursor("newest", None, last.id)


def all_matching(user: User, filters: Filters, *, batch: int = 500):
    """Every opportunity matching, oldest first, read in batches (the CSV export)."""
    last_id = 0
    while True:
        rows = list(db.session.scalars(_filtered(user, filters)
                                       .where(Opportunity.id > last_id)
                                       .order_by(Opportunity.id).limit(batch)))
        yield from rows
        if len(rows) < batch:
            return
        last_id = rows[-1].id


def tabs_for(user: User) -> tuple[str, ...]:
    """The inbox tabs this user has (everything: leads and admins only)."""
    return TABS if user.role in (Role.LEAD, Role.ADMIN) else TABS[:3]


def tab_counts(user: User, *, due_before: datetime, kind: OpportunityKind | None = None
               ) -> dict[str, int]:
    """How many opportunities each of the user's inbox tabs holds (with the kind filter)."""
    counts = {}
    for tab in tabs_for(user):
        filters = Filters(kind=kind, tab=tab if tab in ("mine", "pool") else None,
                          due_before=due_before if tab == "due" else None)
        counts[tab] = db.session.scalar(
            select(func.count()).select_from(_filtered(user, filters).subquery())) or 0
    return counts


def open_for_account(account_id: int) -> list[Opportunity]:
    """An account's open opportunities, newest first (its page's panel)."""
    return list(db.session.scalars(select(Opportunity).where(
        Opportunity.account_id == account_id,
        Opportunity.status.in_(OPEN_OPPORTUNITY_STATUSES)).order_by(Opportunity.id.desc())))


def open_for_contact(contact_id: int) -> list[Opportunity]:
    """A contact's open opportunities, newest first (their page's panel)."""
    return list(db.session.scalars(select(Opportunity).where(
        Opportunity.contact_id == contact_id,
        Opportunity.status.in_(OPEN_OPPORTUNITY_STATUSES)).order_by(Opportunity.id.desc())))

