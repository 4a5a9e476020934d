"""Recovery words in the reader's language: statuses, outcomes, health bands."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

OUTCOME_LABELS = {
    "resolved": _l("Resolved: the customer's concern was addressed"),
    "partially": _l("Partially resolved"),
    "not_resolved": _l("Not resolved"),
    "unreachable": _l("The customer could not be reached"),
}
STATUS_LABELS = {"open": _l("Open"), "done": _l("Done")}
KIND_LABELS = {"csat": _l("CSAT"), "nps": _l("NPS")}
BAND_LABELS = {"healthy": _l("Healthy"), "watch": _l("Watch"), "at_risk": _l("At risk")}
INVITATION_LABELS = {"scheduled": _l("Scheduled"), "sent": _l("Sent"),
                     "opened": _l("Opened"), "answered": _l("Answered"),
                     "skipped": _l("Skipped")}
SKIP_LABELS = {"no_email": _l("no email address"), "bouncing": _l("the address bounces"),
               "unsubscribed": _l("unsubscribed from surveys"),
               "fatigue": _l("surveyed recently"), "disabled": _l("surveys switched off"),
               "no_contact": _l("the contact was deleted")}
COMPONENT_LABELS = {"csat": _l("CSAT average"), "nps_detractors": _l("NPS detractor share"),
                    "reopen_rate": _l("Reopen rate"), "sla_breach_rate": _l("SLA breach rate"),
                    "open_complaints": _l("Open complaints")}


def label(labels: dict, value: object) -> str:
    """A value's label (enum or plain), or the value itself when unknown."""
    key = getattr(value, "value", value)
    return str(labels.get(key, key if key is not None else ""))
