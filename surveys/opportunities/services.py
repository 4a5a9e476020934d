"""Opportunities for sales: recording evidenced reasons to call, and opening one by hand.

`record(signal)` is what the rules (surveys.signals, revisits) call: one open opportunity
per account and kind (per contact and kind without an account) gathers every piece of
evidence; a new one goes to the account's sales owner, else round robin among reps
(surveys.opportunities.assignment), with a first-contact deadline. Changing one:
surveys.opportunities.transitions; the pool: .pool; reading: .queries (re-exported here).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.auth.models import User
from service.auth.permissions import Permission, require
from service.db_types import utcnow
from service.directory.models import Account, Contact
from service.errors import Conflict, DomainError, InvalidInput
from service.extensions import db
from service.validation import MAX_ID, is_id, strip_controls
from surveys import settings as survey_settings
from surveys.models import (EvidenceKind, Opportunity, OpportunityEvidence, OpportunityKind,
                            OpportunitySource, OpportunityStatus, OPEN_OPPORTUNITY_STATUSES)
from surveys.opportunities import history
from surveys.opportunities.assignment import account_owner, next_rep
from surveys.opportunities.notices import notify_assigned
from surveys.opportunities.pool import return_untouched
from surveys.opportunities.queries import (get_opportunity, is_overdue, list_opportunities,
                                           tab_counts, visible_to)
from surveys.opportunities.signal import Evidence, Signal
from surveys.opportunities.transitions import TRANSITIONS, update

__all__ = [
    "REASON_MAX", "TRANSITIONS", "create_manual", "get_opportunity", "is_overdue",
    "list_opportunities", "record", "record_signal", "return_untouched", "tab_counts",
    "update", "visible_to",
]

REASON_MAX = 2000
PRODUCT_MAX = 80
PRODUCTS_MAX = 20
_RETRIES = 3


def clean_products(errors: dict[str, list[str]], value: Any) -> list[str]:
    """Suggested products as a clean list of names (unique, in order), or a field error."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        errors["suggested_products"] = [_("Give a list of product names.")]
        return []
    names: list[str] = []
    for item in value:
        name = strip_controls(item).strip() if isinstance(item, str) else None
        if not name or len(name) > PRODUCT_MAX:
            errors["suggested_products"] = [
                _("Each product is a name of 1 to %(count)d characters.", count=PRODUCT_MAX)]
            return []
        if name not in names:
            names.append(name)
    if len(names) > PRODUCTS_MAX:
        errors["suggested_products"] = [_("At most %(count)d products.", count=PRODUCTS_MAX)]
    return names


def check_value(errors: dict[str, list[str]], field: str, value: Any) -> int | None:
    """A money amount in whole units (≥ 0), None for none, or a field error."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
        errors[field] = [_("Give a whole amount from 0 to %(max)d.", max=MAX_ID)]
        return None
    return value


# ---- recording signals ----

def _customer(signal: Signal) -> tuple[int | None, int | None]:
    """(account id, contact id) of a signal; a contact's account when the signal has none."""
    errors: dict[str, list[str]] = {}
    account = contact = None
    if signal.account_id is not None:
        account = db.session.get(Account, signal.account_id) if is_id(signal.account_id) else None
        if account is None:
            errors["account_id"] = [_("No account has this id.")]
    if signal.contact_id is not None:
        contact = db.session.get(Contact, signal.contact_id) if is_id(signal.contact_id) else None
        if contact is None:
            errors["contact_id"] = [_("No contact has this id.")]
    if signal.account_id is None and signal.contact_id is None:
        errors["account_id"] = [_("Give an account or a contact.")]
    if not signal.evidence:
        errors["evidence"] = [_("An opportunity needs evidence.")]
    if not (signal.reason or "").strip():
        errors["reason"] = [_("This field is required.")]
    if errors:
        raise InvalidInput(_("The opportunity has invalid fields."), errors=errors)
    account_id = account.id if account is not None else (contact.account_id if contact else None)
    return account_id, contact.id if contact is not None else None


def _open_of(account_id: int | None, contact_id: int | None,
             kind: OpportunityKind) -> Opportunity | None:
    """The open opportunity of (account, kind), or (contact, kind) without account; locked."""
    query = select(Opportunity).where(Opportunity.kind == kind,
                                      Opportunity.status.in_(OPEN_OPPORTUNITY_STATUSES))
    if account_id is not None:
        query = query.where(Opportunity.account_id == account_id)
    else:
        query = query.where(Opportunity.account_id.is_(None),
                            Opportunity.contact_id == contact_id)
    return db.session.scalar(query.with_for_update(of=Opportunity)
                             .execution_options(populate_existing=True))


def _add_evidence(opportunity: Opportunity, items: Sequence[Evidence],
                  now: datetime) -> list[OpportunityEvidence]:
    """Attach the evidence not yet there (the unique index decides); the rows added."""
    added = []
    for item in items:
        row = OpportunityEvidence(
            opportunity_id=opportunity.id, kind=EvidenceKind(item.kind), ref_id=item.ref_id,
            rule=item.rule[:80], phrase=item.phrase[:300] if item.phrase else None,
            excerpt=item.excerpt[:500] if item.excerpt else None, created_at=now)
        same = select(OpportunityEvidence.id).where(
            OpportunityEvidence.opportunity_id == opportunity.id,
            OpportunityEvidence.kind == row.kind, OpportunityEvidence.rule == row.rule)
        if row.ref_id is None:  # NULLs never collide on the index: compare the words
            same = same.where(OpportunityEvidence.ref_id.is_(None),
                              OpportunityEvidence.excerpt.is_not_distinct_from(row.excerpt))
        else:
            same = same.where(OpportunityEvidence.ref_id == row.ref_id)
        if db.session.scalar(same.limit(1)) is not None:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # another worker attached the same evidence just now
            continue
        added.append(row)
    return added


def _evidence_data(rows: Sequence[OpportunityEvidence]) -> list[dict[str, Any]]:
    return [{"kind": row.kind.value, "ref_id": row.ref_id, "rule": row.rule,
             "phrase": row.phrase} for row in rows]


def _merge(opportunity: Opportunity, signal: Signal, contact_id: int | None,
           actor_id: int | None, now: datetime) -> None:
    """New evidence for an open opportunity: attach it, merge products; told only if new."""
    added = _add_evidence(opportunity, signal.evidence, now)
    products = list(opportunity.suggested_products or [])
    new_products = [name for name in signal.suggested_products if name not in products]
    fields = []
    if added:
        history.record_event(opportunity, "evidence_added", actor_id=actor_id, at=now,
                             source=signal.source.value, reason=signal.reason,
                             evidence=_evidence_data(added))
        fields.append("evidence")
    if new_products:
        history.record_event(opportunity, "products_changed", actor_id=actor_id, at=now,
                             before=products, after=products + new_products)
        opportunity.suggested_products = products + new_products  # a new list: JSON change
        fields.append("suggested_products")
    if opportunity.estimated_value is None and signal.estimated_value is not None:
        opportunity.estimated_value = signal.estimated_value
        fields.append("estimated_value")
    if opportunity.contact_id is None and contact_id is not None:
        opportunity.contact_id = contact_id
        fields.append("contact")
    if fields:  # a signal delivered twice changes nothing and tells nobody
        opportunity.updated_at = now
        history.changed(opportunity, fields)


def _insert(signal: Signal, account_id: int | None, contact_id: int | None,
            now: datetime) -> tuple[Opportunity, User | None, str] | None:
    """A new opportunity row, or None when another worker inserted the same one first."""
    owner = account_owner(account_id)
    how = "sales_owner"
    if owner is None:
        owner = next_rep()
        how = "round_robin" if owner is not None else "pool"
    hours = survey_settings.current().opportunity_contact_hours
    opportunity = Opportunity(
        account_id=account_id, contact_id=contact_id, kind=OpportunityKind(signal.kind),
        source=OpportunitySource(signal.source), status=OpportunityStatus.NEW,
        reason=signal.reason.strip(), suggested_products=list(dict.fromkeys(
            signal.suggested_products)), estimated_value=signal.estimated_value,
        owner_id=owner.id if owner is not None else None,
        first_contact_due_at=now + timedelta(hours=hours), created_at=now, updated_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(opportunity)
    except IntegrityError:  # the partial unique index: someone opened it meanwhile
        return None
    return opportunity, owner, how


def record_signal(signal: Signal, *, actor_id: int | None = None,
                  now: datetime | None = None) -> tuple[Opportunity, bool]:
    """record(), also saying whether the opportunity is new (True) or gained evidence."""
    now = now or utcnow()
    account_id, contact_id = _customer(signal)
    for _attempt in range(_RETRIES):
        existing = _open_of(account_id, contact_id, OpportunityKind(signal.kind))
        if existing is not None:
            _merge(existing, signal, contact_id, actor_id, now)
            return existing, False
        inserted = _insert(signal, account_id, contact_id, now)
        if inserted is None:
            continue  # lost the race: add the evidence to the winner's opportunity
        opportunity, owner, how = inserted
        added = _add_evidence(opportunity, signal.evidence, now)
        history.record_event(opportunity, "created", actor_id=actor_id, at=now,
                             opportunity_kind=opportunity.kind.value,
                             source=opportunity.source.value,
                             reason=opportunity.reason, evidence=_evidence_data(added))
        assigned = history.record_event(opportunity, "assigned", actor_id=actor_id, at=now,
                                        before=None, after=opportunity.owner_id, how=how)
        if owner is not None:
            db.session.flush()
            notify_assigned(opportunity, owner.id, now=now, event_id=assigned.id)
        history.created(opportunity)
        return opportunity, True
    raise Conflict(_("The opportunity is being changed by someone else; try again."))


def record(signal: Signal, *, actor_id: int | None = None,
           now: datetime | None = None) -> Opportunity:
    """Add the signal's evidence to the open opportunity of its account and kind, or open
    one (assigned, notified, announced). No commit: the caller's transaction.

    Raises InvalidInput when the signal names no existing account or contact, or has no
    evidence or reason.
    """
    return record_signal(signal, actor_id=actor_id, now=now)[0]


# ---- by hand ----

def create_manual(user: User, *, kind: Any, reason: Any, account_id: Any, contact_id: Any,
                  suggested_products: Any = (), estimated_value: Any = None,
                  ticket_id: Any = None, now: datetime | None = None
                  ) -> tuple[Opportunity, bool]:
    """Open an opportunity by hand (or add to the open one of that kind); commits.

    Returns the opportunity and whether it is new. Raises Forbidden or InvalidInput
    (kind, reason, account_id, contact_id, suggested_products, estimated_value, ticket_id).
    """
    require(user, Permission.OPPORTUNITY_CREATE)
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    try:
        kind = OpportunityKind(kind)
    except ValueError:
        errors["kind"] = [_("Unknown kind.")]
    text = strip_controls(reason).strip() if isinstance(reason, str) else ""
    if not text:
        errors["reason"] = [_("This field is required.")]
    elif len(text) > REASON_MAX:
        errors["reason"] = [_("At most %(count)d characters.", count=REASON_MAX)]
    account = _lookup(errors, Account, "account_id", account_id, _("No account has this id."))
    contact = _lookup(errors, Contact, "contact_id", contact_id, _("No contact has this id."))
    if account_id is None and contact_id is None:
        errors["account_id"] = [_("Choose an account or a contact.")]
    if (account is not None and contact is not None and contact.account_id is not None
            and contact.account_id != account.id):
        errors["contact_id"] = [_("This contact belongs to another account.")]
    products = clean_products(errors, suggested_products)
    value = check_value(errors, "estimated_value", estimated_value)
    if ticket_id is not None:
        _check_ticket(errors, user, ticket_id)
    if errors:
        raise InvalidInput(_("The opportunity has invalid fields."), errors=errors)
    evidence = [Evidence(EvidenceKind.NOTE, None, "manual", None, text[:500])]
    if ticket_id is not None:
        evidence.append(Evidence(EvidenceKind.TICKET, ticket_id, "manual"))
    signal = Signal(kind=kind, source=OpportunitySource.MANUAL, reason=text,
                    evidence=tuple(evidence), account_id=account.id if account else None,
                    contact_id=contact.id if contact else None,
                    suggested_products=tuple(products), estimated_value=value)
    opportunity, created = record_signal(signal, actor_id=user.id, now=now)
    db.session.commit()
    return opportunity, created


def _lookup(errors: dict[str, list[str]], model: Any, field: str, value: Any,
            message: str) -> Any:
    if value is None:
        return None
    row = db.session.get(model, value) if is_id(value) else None
    if row is None:
        errors[field] = [message]
    return row


def _check_ticket(errors: dict[str, list[str]], user: User, ticket_id: Any) -> None:
    from tickets.services import ensure_visible

    if not is_id(ticket_id):
        errors["ticket_id"] = [_("No ticket has this id.")]
        return
    try:
        ensure_visible(user, ticket_id)
    except DomainError:  # not found, or not the user's to see: the same answer
        errors["ticket_id"] = [_("No ticket has this id.")]
