"""Opportunity panels on the account, contact and ticket pages: what is open for this
customer (or rests on this ticket) and a "New opportunity" button.

Shown to those who may work opportunities (the list, linked) or open them (the button).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.directory import panels as directory_panels
from service.directory.models import Account, Contact
from service.extensions import db
from surveys.models import EvidenceKind, Opportunity, OpportunityEvidence
from surveys.opportunities import queries
from tickets import facts
from tickets.models import Ticket
from tickets.ticket_page import register_panel

TEMPLATE = "surveys/opportunities/_panel.html"


def _panel(user: User, rows: list[Opportunity], new_args: dict[str, Any]
           ) -> dict[str, Any] | None:
    may_work = can(user, Permission.OPPORTUNITY_WORK)
    may_create = can(user, Permission.OPPORTUNITY_CREATE)
    if not (may_work or may_create):
        return None
    if may_work:  # a rep sees the ones they could open anyway: theirs and the pool
        visible = queries.visible_to(user)
        ids = set(db.session.scalars(select(Opportunity.id).where(
            Opportunity.id.in_([row.id for row in rows]), visible))) if rows else set()
        rows = [row for row in rows if row.id in ids]
    return {"opportunities": rows if may_work else [], "count": len(rows),
            "may_work": may_work, "may_create": may_create, "new_args": new_args}


def account_panel(user: User, account: Account) -> dict[str, Any] | None:
    """The account's open opportunities and the button."""
    return _panel(user, queries.open_for_account(account.id), {"account_id": account.id})


def contact_panel(user: User, contact: Contact) -> dict[str, Any] | None:
    """The contact's open opportunities and the button."""
    return _panel(user, queries.open_for_contact(contact.id),
                  {"contact_id": contact.id, "account_id": contact.account_id or ""})


def ticket_panel(user: User, ticket: Ticket) -> dict[str, Any] | None:
    """Opportunities resting on this ticket or its messages, and the button."""
    messages = facts.message_ids_of(ticket.id)
    evidence = select(OpportunityEvidence.opportunity_id).where(or_(
        and_(OpportunityEvidence.kind == EvidenceKind.TICKET,
             OpportunityEvidence.ref_id == ticket.id),
        and_(OpportunityEvidence.kind == EvidenceKind.MESSAGE,
             OpportunityEvidence.ref_id.in_(messages))))
    rows = list(db.session.scalars(select(Opportunity).where(Opportunity.id.in_(evidence))
                                   .order_by(Opportunity.id.desc())))
    return _panel(user, rows, {"ticket_id": ticket.id, "contact_id": ticket.contact_id,
                               "account_id": ticket.account_id or ""})


def register() -> None:
    """Add the panels to the account, contact and ticket pages."""
    directory_panels.register("account", "opportunities", TEMPLATE, account_panel, order=40)
    directory_panels.register("contact", "opportunities", TEMPLATE, contact_panel, order=40)
    register_panel("opportunities", TEMPLATE, ticket_panel, order=60)
