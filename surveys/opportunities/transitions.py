"""Working an opportunity: status moves, owner changes and values, each kept in its history.

Status flow (one table, checked in one place):

    new → contacted → qualified → won | lost
    new → lost (no interest at first contact), contacted → won (sold on the first call)

won and lost are final: reopening is a conflict (409); record a new opportunity instead.
`lost` needs a lost_reason; `won` may carry won_value. The first move past `new` sets
contacted_at (so the opportunity no longer returns to the pool).

Owners: a sales rep may take an opportunity from the pool (also one that returned from
them: allowed, and recorded as retaken); leads and admins give one to anyone who may work
opportunities, or back to the pool. A rep changes only what they own.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from service.auth.models import Role, User
from service.auth.permissions import Permission, require
from service.db_types import utcnow
from service.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from service.extensions import db
from service.validation import is_id, strip_controls
from surveys.models import Opportunity, OpportunityStatus
from surveys.opportunities import history
from surveys.opportunities.assignment import may_own
from surveys.opportunities.notices import notify_assigned

S = OpportunityStatus
TRANSITIONS: dict[OpportunityStatus, frozenset[OpportunityStatus]] = {
    S.NEW: frozenset({S.CONTACTED, S.LOST}),
    S.CONTACTED: frozenset({S.QUALIFIED, S.WON, S.LOST}),
    S.QUALIFIED: frozenset({S.WON, S.LOST}),
    S.WON: frozenset(),
    S.LOST: frozenset(),
}
CLOSED = (S.WON, S.LOST)
LOST_REASON_MAX = 300
CHANGEABLE = ("status", "lost_reason", "won_value", "estimated_value", "owner_id",
              "suggested_products")


def is_manager(user: User) -> bool:
    """Leads and admins: they see every opportunity and reassign any."""
    return user.role in (Role.LEAD, Role.ADMIN)


def _check_status(errors: dict[str, list[str]], opportunity: Opportunity,
                  value: Any) -> OpportunityStatus | None:
    """The status to move to (None: no move), a field error, or InvalidTransition."""
    if value is None:
        return None
    try:
        target = OpportunityStatus(value)
    except ValueError:
        errors["status"] = [_("Unknown status.")]
        return None
    if target == opportunity.status:
        return None
    if target not in TRANSITIONS[opportunity.status]:
        raise InvalidTransition(_("An opportunity cannot go from %(from)s to %(to)s.",
                                  **{"from": opportunity.status.value, "to": target.value}))
    return target


def _check_owner(user: User, opportunity: Opportunity, value: Any,
                 errors: dict[str, list[str]]) -> User | None:
    """The new owner (None: the pool); Forbidden/Conflict for changes the user may not make."""
    if value is not None and not is_id(value):
        errors["owner_id"] = [_("No one who may work opportunities has this id.")]
        return None
    if is_manager(user):
        if value is None:
            return None
        owner = db.session.get(User, value)
        if not may_own(owner):
            errors["owner_id"] = [_("No one who may work opportunities has this id.")]
        return owner
    if value != user.id:
        raise Forbidden(_("Only leads and admins may give an opportunity to someone else."))
    if opportunity.owner_id is not None:
        raise Conflict(_("Someone else has taken this opportunity already."))
    return user


def _check_changes(user: User, opportunity: Opportunity,
                   changes: dict[str, Any]) -> tuple[dict[str, Any], User | None]:
    """Every change checked at once: (clean values, new owner); raises on any error."""
    from surveys.opportunities.services import check_value, clean_products

    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise InvalidInput(errors={name: [_("Unknown field.")] for name in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    owner = None
    if "owner_id" in changes and changes["owner_id"] != opportunity.owner_id:
        owner = _check_owner(user, opportunity, changes["owner_id"], errors)
        clean["owner_id"] = changes["owner_id"]
    elif not is_manager(user) and opportunity.owner_id != user.id:
        # A rep works only their own; from the pool they take it first (owner_id: theirs).
        raise Forbidden(_("Take this opportunity from the pool before working it."))
    if opportunity.status in CLOSED and set(changes) - {"owner_id"}:
        target = changes.get("status")
        if target is not None and target != opportunity.status.value:
            raise InvalidTransition(_("The opportunity is %(status)s; it cannot be reopened.",
                                      status=opportunity.status.value))
    target = _check_status(errors, opportunity, changes.get("status"))
    if target is not None:
        clean["status"] = target
    final = target or opportunity.status
    if "lost_reason" in changes:
        text = changes["lost_reason"]
        text = strip_controls(text).strip() if isinstance(text, str) else None
        if changes["lost_reason"] is not None and text is None:
            errors["lost_reason"] = [_("Must be text.")]
        elif text and len(text) > LOST_REASON_MAX:
            errors["lost_reason"] = [_("At most %(count)d characters.", count=LOST_REASON_MAX)]
        elif text and final != S.LOST:
            errors["lost_reason"] = [_("Only a lost opportunity has a lost reason.")]
        clean["lost_reason"] = text or None
    if target == S.LOST and not clean.get("lost_reason"):
        errors["lost_reason"] = [_("Say why the opportunity was lost.")]
    if "won_value" in changes:
        clean["won_value"] = check_value(errors, "won_value", changes["won_value"])
        if clean["won_value"] is not None and final != S.WON:
            errors["won_value"] = [_("Only a won opportunity has a won value.")]
    if "estimated_value" in changes:
        clean["estimated_value"] = check_value(errors, "estimated_value",
                                               changes["estimated_value"])
    if "suggested_products" in changes:
        clean["suggested_products"] = clean_products(errors, changes["suggested_products"])
    if errors:
        raise InvalidInput(_("The change has invalid fields."), errors=errors)
    return clean, owner


def update(user: User, opportunity: Opportunity, changes: dict[str, Any],
           now: datetime | None = None) -> Opportunity:
    """Apply a change to an opportunity (all of it, or nothing and an error); commits.

    `changes` may hold status, lost_reason, won_value, estimated_value, owner_id and
    suggested_products. The caller loads the opportunity locked (queries.get_opportunity
    with for_update). Raises Forbidden, Conflict/InvalidTransition (409) or InvalidInput.
    """
    require(user, Permission.OPPORTUNITY_WORK)
    now = now or utcnow()
    clean, owner = _check_changes(user, opportunity, changes)
    fields: list[str] = []
    if "owner_id" in clean:
        _change_owner(user, opportunity, owner, now)
        fields.append("owner")
    if "status" in clean:
        _move(user, opportunity, clean["status"], clean, now)
        fields.append("status")
    else:
        if "lost_reason" in clean and clean["lost_reason"] != opportunity.lost_reason:
            _set(user, opportunity, "lost_reason", clean["lost_reason"], now, fields)
        if "won_value" in clean and clean["won_value"] != opportunity.won_value:
            _set(user, opportunity, "won_value", clean["won_value"], now, fields)
    for field in ("estimated_value", "suggested_products"):
        if field in clean and clean[field] != getattr(opportunity, field):
            _set(user, opportunity, field, clean[field], now, fields)
    if fields:
        opportunity.updated_at = now
        history.changed(opportunity, fields)
    db.session.commit()
    return opportunity


def _set(user: User, opportunity: Opportunity, field: str, value: Any, now: datetime,
         fields: list[str]) -> None:
    history.record_event(opportunity, "field_changed", actor_id=user.id, at=now, field=field,
                         before=getattr(opportunity, field), after=value)
    setattr(opportunity, field, value)
    fields.append(field)


def _change_owner(user: User, opportunity: Opportunity, owner: User | None,
                  now: datetime) -> None:
    previous = opportunity.owner_id
    retaken = owner is not None and owner.id == user.id and opportunity.returned_by_id == user.id
    event = history.record_event(opportunity, "assigned", actor_id=user.id, at=now,
                                 before=previous,
                                 after=owner.id if owner else None,
                                 how="taken" if owner is not None and owner.id == user.id
                                 else ("reassigned" if owner is not None else "to_pool"),
                                 retaken=retaken)
    opportunity.owner_id = owner.id if owner is not None else None
    if owner is not None and owner.id != user.id:
        db.session.flush()
        notify_assigned(opportunity, owner.id, now=now, event_id=event.id)


def _move(user: User, opportunity: Opportunity, target: OpportunityStatus,
          clean: dict[str, Any], now: datetime) -> None:
    previous = opportunity.status
    opportunity.status = target
    if previous == S.NEW and opportunity.contacted_at is None:
        opportunity.contacted_at = now
    if target in CLOSED:
        opportunity.closed_at = now
    if target == S.LOST:
        opportunity.lost_reason = clean["lost_reason"]
    if target == S.WON and "won_value" in clean:
        opportunity.won_value = clean["won_value"]
    history.record_event(opportunity, "status_changed", actor_id=user.id, at=now,
                         before=previous.value, after=target.value,
                         lost_reason=opportunity.lost_reason if target == S.LOST else None,
                         won_value=opportunity.won_value if target == S.WON else None)
