"""The SLA promise of a ticket in the customer's words ("We will answer by 15:00")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from tickets.models import Status, Ticket


@dataclass(frozen=True)
class Promise:
    """One sentence for the customer, and a tone for its styling."""

    text: str
    tone: str  # "waiting" (on us), "paused" (on the customer), "confirm", "done"


def portal_zone() -> ZoneInfo:
    """The portal's time zone: the service's (customers have no profile to choose one)."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def clock_time(moment: datetime, now: datetime) -> str:
    """A due time as the customer reads it: "15:00" today, else "2024-05-03 15:00"."""
    zone = portal_zone()
    local, today = moment.astimezone(zone), now.astimezone(zone)
    return local.strftime("%H:%M" if local.date() == today.date() else "%Y-%m-%d %H:%M")


def promise_for(ticket: Ticket, now: datetime, *, awaiting_confirmation: bool) -> Promise:
    """What we promise the customer about this ticket right now."""
    status = ticket.status
    if status == Status.CLOSED:
        return Promise(_("Closed"), "done")
    if status == Status.RESOLVED:
        if awaiting_confirmation:
            return Promise(_("Resolved — please confirm"), "confirm")
        return Promise(_("Resolved"), "done")
    if status == Status.PENDING_CUSTOMER or ticket.sla_paused_at is not None:
        return Promise(_("Waiting for your reply — our clock is paused"), "paused")
    if ticket.first_responded_at is None and ticket.first_response_due_at is not None:
        if ticket.first_response_due_at > now:
            return Promise(_("We will answer by %(time)s",
                             time=clock_time(ticket.first_response_due_at, now)), "waiting")
        return Promise(_("Our answer is late — we are on it"), "waiting")
    if ticket.resolution_due_at is not None and ticket.resolution_due_at > now:
        if status == Status.PENDING_INTERNAL:
            return Promise(_("Our specialists are on it — we aim to solve it by %(time)s",
                             time=clock_time(ticket.resolution_due_at, now)), "waiting")
        return Promise(_("We aim to solve it by %(time)s",
                         time=clock_time(ticket.resolution_due_at, now)), "waiting")
    return Promise(_("We are working on it"), "waiting")
