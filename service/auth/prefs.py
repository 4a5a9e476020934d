"""Which notices a staff member wants by mail: the kinds, their labels, reading and saving.

User.notify_prefs holds {kind: bool}; a kind missing from it means yes, so a new kind
reaches everyone until they turn it off.
"""
from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

from service.auth.models import User

# kind → what the profile page calls it. Who sends each kind:
#   ticket_assigned  – mail telling someone a ticket was given to them
#   customer_replied – tickets.notices.notify_assignee ("the customer wrote")
#   sla_alerts       – tickets.notices.mail_sla_digest (warnings and escalations)
#   recovery_*       – surveys.recovery.notices (opened for the lead / account manager,
#                      overdue for the owner and the lead above them)
#   opportunity_*    – surveys.opportunities.notices (assigned to a rep; returned to the
#                      pool, told to the rep's lead)
NOTICE_KINDS: dict[str, object] = {
    "ticket_assigned": _l("A ticket is assigned to me"),
    "customer_replied": _l("A customer writes on a ticket assigned to me"),
    "sla_alerts": _l("SLA warnings and escalations (one digest per sweep)"),
    "ticket_reopened": _l("A customer says the fix for my ticket does not work"),
    "recovery_opened": _l("A customer's low survey score needs my call back"),
    "recovery_overdue": _l("A service-recovery follow-up is past its deadline"),
    "opportunity_assigned": _l("A sales opportunity is assigned to me"),
    "opportunity_returned": _l("An untouched opportunity of my team returned to the pool"),
    "weekly_report": _l("The weekly report mail (Mondays, for the teams I lead or belong to)"),
}


def notice_prefs(user: User) -> dict[str, bool]:
    """Every known kind with whether the user wants it (missing keys mean yes)."""
    return {kind: user.wants_notice(kind) for kind in NOTICE_KINDS}


def set_notice_prefs(user: User, wanted: Mapping[str, bool]) -> None:
    """Store the user's choice for every known kind; unknown kinds are ignored."""
    # A new dict, so the JSON column is seen as changed (in-place edits are not tracked).
    user.notify_prefs = {kind: bool(wanted.get(kind, False)) for kind in NOTICE_KINDS}


def wants(user: User | None, kind: str) -> bool:
    """Whether a notice of this kind should be mailed to the user."""
    if kind not in NOTICE_KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    return user is not None and user.wants_notice(kind)
