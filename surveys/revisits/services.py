"""VIP revisits: record the call, skip it, and open a ticket or an opportunity from it.

Plans and the sweep that keeps one revisit planned per VIP account live in
`surveys.revisits.planning` (re-exported here); who may work a revisit in `.access`.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from service.auth.models import User
from service.auth.permissions import Permission, require
from service.db_types import utcnow
from service.directory.models import Account, Contact
from service.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from service.extensions import db
from service.validation import is_id, strip_controls
from surveys.models import (EvidenceKind, OpportunityKind, OpportunitySource, Revisit,
                            RevisitStatus)
from surveys.revisits import access, checklist as checklists
from surveys.revisits.planning import (PlanInEffect, SweepResult, plan_due, plan_in_effect,
                                       plan_next, planned_revisit, set_plan)

__all__ = ["PlanInEffect", "SweepResult", "cancel", "complete", "open_opportunity",
           "open_ticket", "plan_due", "plan_in_effect", "plan_next", "planned_revisit",
           "set_plan"]

NOTES_MAX = 10000
REASON_MAX = 2000
SUBJECT_MAX = 200
DESCRIPTION_MAX = 20000
EXCERPT_MAX = 500
EVIDENCE_RULE = "vip_revisit"


def _text(value: str | None) -> str:
    return strip_controls(value or "").strip()


def _require_work(user: User, revisit: Revisit) -> Account:
    """The revisit's account, if the user may work the revisit (else 404)."""
    account = db.session.get(Account, revisit.account_id)
    if account is None or not access.can_work(user, revisit, account):
        raise NotFound(_("There is no such revisit, or it is not yours to work."))
    return account


def _contact_of(account: Account, contact_id: object, errors: dict[str, list[str]],
                field: str = "contact_id") -> Contact | None:
    """The account's contact with this id, or a field error (None: no contact chosen)."""
    if contact_id is None:
        return None
    contact = db.session.get(Contact, contact_id) if is_id(contact_id) else None
    if contact is None or contact.account_id != account.id:
        errors[field] = [_("Choose one of the account's contacts.")]
        return None
    return contact


def complete(user: User, revisit: Revisit, *, checklist: Iterable[str], notes: str | None,
             satisfaction: int | None = None, contact_id: int | None = None,
             now: datetime | None = None) -> Revisit | None:
    """Record the call: checklist, notes, satisfaction (1–5), who was spoken to; mark it done
    and plan the next one, one interval later (no commit). Returns the next revisit, if any.
    """
    account = _require_work(user, revisit)
    if revisit.status != RevisitStatus.PLANNED:
        raise InvalidTransition(_("This revisit is no longer planned: it was done or "
                                  "cancelled already."))
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    checked = [key for key in checklist]
    items = checklists.item_keys(revisit.checklist)
    if any(key not in items for key in checked):
        errors["checklist"] = [_("Tick only items of the checklist.")]
    text = _text(notes)
    if len(text) > NOTES_MAX:
        errors["notes"] = [_("Write at most %(max)d characters.", max=NOTES_MAX)]
    if satisfaction is not None and (not is_id(satisfaction) or not 1 <= satisfaction <= 5):
        errors["satisfaction"] = [_("Choose a satisfaction from 1 to 5, or none.")]
    contact = _contact_of(account, contact_id, errors)
    if errors:
        raise InvalidInput(_("The revisit has invalid fields."), errors=errors)
    revisit.checklist = checklists.ticked(revisit.checklist, checked)
    revisit.notes = text or None
    revisit.satisfaction = satisfaction
    revisit.contact_id = contact.id if contact is not None else None
    revisit.status = RevisitStatus.DONE
    revisit.done_at, revisit.done_by_id = now, user.id
    # The done revisit must leave the "one planned per account" index before the next joins.
    db.session.flush()
    return plan_next(account, now, after=now)


def cancel(user: User, revisit: Revisit, *, now: datetime | None = None) -> Revisit | None:
    """Skip a planned revisit; the next is planned one interval after its due time (no
    commit). Returns the next revisit, if any."""
    account = _require_work(user, revisit)
    if revisit.status != RevisitStatus.PLANNED:
        raise InvalidTransition(_("This revisit is no longer planned: it was done or "
                                  "cancelled already."))
    now = now or utcnow()
    revisit.status = RevisitStatus.CANCELLED
    db.session.flush()
    return plan_next(account, now, after=max(revisit.due_at, now))


def _require_open(revisit: Revisit) -> None:
    if revisit.status == RevisitStatus.CANCELLED:
        raise InvalidTransition(_("This revisit was cancelled."))


def open_ticket(user: User, revisit: Revisit, subject: str, description: str, *,
                contact_id: int | None = None, acknowledge: bool = True) -> int:
    """Open a ticket for the customer from what the call brought up, and link it; commits
    (intake does). `contact_id` defaults to the contact spoken to. Returns the ticket's id.
    """
    from tickets import on_behalf

    account = _require_work(user, revisit)
    require(user, Permission.TICKET_CREATE)
    _require_open(revisit)
    if revisit.ticket_id is not None:
        raise Conflict(_("A ticket was already opened from this revisit."))
    errors: dict[str, list[str]] = {}
    contact = _contact_of(account, contact_id if contact_id is not None else revisit.contact_id,
                          errors)
    if contact is None and "contact_id" not in errors:
        errors["contact_id"] = [_("Choose the contact the ticket is for.")]
    if errors:
        raise InvalidInput(_("The ticket has invalid fields."), errors=errors)
    language = contact.language if contact.language in on_behalf.LANGUAGES else None
    result = on_behalf.open_ticket(user, on_behalf.OnBehalfRequest(
        channel="phone", subject=subject, description=description, contact_id=contact.id,
        language=language, acknowledge=acknowledge,
        # A double click or a resent form makes one ticket.
        submission_id=f"revisit-{revisit.id}"))
    revisit.ticket_id = result.ticket.id
    db.session.commit()
    return result.ticket.id


def open_opportunity(user: User, revisit: Revisit, kind: str, reason: str) -> int:
    """Hand sales what the call revealed: an opportunity of this kind, with the revisit as its
    evidence, linked to the revisit (no commit). Returns the opportunity's id.

    An open opportunity of the same account and kind gets the revisit as new evidence.
    """
    from surveys.opportunities.services import record
    from surveys.opportunities.signal import Evidence, Signal

    account = _require_work(user, revisit)
    require(user, Permission.OPPORTUNITY_CREATE)
    _require_open(revisit)
    if revisit.opportunity_id is not None:
        raise Conflict(_("An opportunity was already opened from this revisit."))
    errors: dict[str, list[str]] = {}
    try:
        chosen = OpportunityKind(kind)
    except ValueError:
        chosen = None
        errors["kind"] = [_("Choose a kind of opportunity from the list.")]
    words = _text(reason)
    if not 1 <= len(words) <= REASON_MAX:
        errors["reason"] = [_("Say in a few words what the customer told you (at most "
                              "%(max)d characters).", max=REASON_MAX)]
    if errors or chosen is None:
        raise InvalidInput(_("The opportunity has invalid fields."), errors=errors)
    excerpt = (revisit.notes or "")[:EXCERPT_MAX] or None
    opportunity = record(Signal(
        kind=chosen, source=OpportunitySource.VIP_REVISIT, reason=words,
        evidence=(Evidence(EvidenceKind.REVISIT, revisit.id, EVIDENCE_RULE, excerpt=excerpt),),
        account_id=account.id, contact_id=revisit.contact_id), actor_id=user.id)
    db.session.flush()
    revisit.opportunity_id = opportunity.id
    return opportunity.id


def history(account_id: int, limit: int = 5) -> list[Revisit]:
    """The account's latest done revisits, newest first."""
    return list(db.session.scalars(
        select(Revisit).where(Revisit.account_id == account_id,
                              Revisit.status == RevisitStatus.DONE)
        .order_by(Revisit.done_at.desc(), Revisit.id.desc()).limit(limit)))
