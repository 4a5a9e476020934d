"""How the ticket timeline tells the closed loop's events, in the reader's language."""
from __future__ import annotations

from flask_babel import gettext as _

from tickets.models import TicketEvent
from tickets.resolution.labels import CHANNEL_WORDS, label, method_label
from tickets.ticket_page import EventNames, register_event_sentence


def channel_words(value: object) -> str:
    """A confirmation channel as the end of a sentence."""
    return label(CHANNEL_WORDS, value)


def _resolved(event: TicketEvent, actor: str, names: EventNames):
    data = event.data or {}
    details = [_("Verified by: %(method)s", method=method_label(data.get("method")))]
    if data.get("override_reason"):
        tasks = ", ".join(f"#{task_id}" for task_id in data.get("overridden_task_ids") or [])
        details.append(_("Resolved with open tasks (%(tasks)s). Reason: %(reason)s",
                         tasks=tasks or "?", reason=data["override_reason"]))
    return _("%(actor)s resolved the ticket.", actor=actor), details


def _answer(confirmed: bool):
    def tell(event: TicketEvent, actor: str, names: EventNames):
        data = event.data or {}
        how = channel_words(data.get("channel"))
        if event.actor_user_id is not None:  # staff recorded what the customer said
            sentence = (_("%(actor)s recorded %(how)s that the customer confirmed the fix.",
                          actor=actor, how=how) if confirmed else
                        _("%(actor)s recorded %(how)s that the customer says it is still a "
                          "problem.", actor=actor, how=how))
        else:
            sentence = (_("%(actor)s confirmed the fix %(how)s.", actor=actor, how=how)
                        if confirmed else
                        _("%(actor)s said %(how)s that it is still a problem.", actor=actor,
                          how=how))
        return sentence, []

    return tell


def _follow_up(event: TicketEvent, actor: str, names: EventNames) -> str:
    return _("A new ticket %(number)s was opened for the customer's later message.",
             number=(event.data or {}).get("number") or "?")


def register() -> None:
    """Teach the ticket timeline the closed loop's event kinds."""
    register_event_sentence("resolved", _resolved)
    register_event_sentence("confirmation_requested", lambda e, a, n: _(
        "The customer was asked to confirm the fix."))
    register_event_sentence("confirmation_reminded", lambda e, a, n: _(
        "The customer was reminded to confirm the fix."))
    register_event_sentence("customer_confirmed", _answer(True))
    register_event_sentence("customer_rejected", _answer(False))
    register_event_sentence("auto_confirmed", lambda e, a, n: _(
        "The customer did not answer in time: the fix counts as confirmed and the ticket "
        "was closed."))
    register_event_sentence("reopened_after_close", lambda e, a, n: _(
        "%(actor)s wrote soon after the ticket was closed, so it was reopened.", actor=a))
    register_event_sentence("follow_up_opened", _follow_up)
    register_event_sentence("confirmation_superseded", lambda e, a, n: _(
        "The ticket changed status without the customer's answer: the confirmation request "
        "was withdrawn."))
