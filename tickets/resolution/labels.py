"""Closed-loop values in the reader's words: verification methods, states, channels."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

# Common ways to verify a fix, stored as these short values (the API takes any text).
VERIFICATION_METHODS = {
    "reproduced_and_retested": _l("Reproduced and retested"),
    "customer_environment": _l("Tested in the customer's environment"),
    "automated_test": _l("Automated test"),
    "log_review": _l("Log review"),
    "remote_session": _l("Remote session with the customer"),
    "other": _l("Other"),
}
STATE_LABELS = {
    "pending": _l("Waiting for the customer"),
    "confirmed": _l("Confirmed by the customer"),
    "rejected": _l("Still a problem: reopened"),
    "auto_confirmed": _l("No answer in time: confirmed automatically"),
    "superseded": _l("Superseded: the ticket was reopened"),
}
OUTCOME_LABELS = {
    "confirmed": _l("Fixed"),
    "rejected": _l("Still a problem"),
    "auto_confirmed": _l("No answer in time"),
}
CHANNEL_LABELS = {
    "email_link": _l("Link in the confirmation mail"),
    "portal": _l("Customer portal"),
    "phone": _l("Phone"),
    "email_reply": _l("Reply to the mail"),
    "system": _l("Loopdesk (no answer)"),
}
# How an answer reached us, as it reads at the end of a sentence ("… by phone").
CHANNEL_WORDS = {
    "email_link": _l("through the link in the confirmation mail"),
    "portal": _l("in the customer portal"),
    "phone": _l("by phone"),
    "email_reply": _l("by replying to the mail"),
    "system": _l("automatically"),
}
ACTOR_LABELS = {"customer": _l("Customer"), "staff": _l("Staff"), "system": _l("Loopdesk")}


def label(labels: dict[str, Any], value: Any) -> str:
    """A stored value in the reader's words (unknown values as written)."""
    text = labels.get(str(getattr(value, "value", value)))
    return str(text) if text is not None else str(value or "")


def method_label(value: str | None) -> str:
    """A verification method in the reader's words (a value from the API as written)."""
    return label(VERIFICATION_METHODS, value)
