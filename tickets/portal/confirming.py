"""The customer's answer to a resolution, from the portal or from a mail's one-click link.

The rules (who may answer, what it does to the ticket) live in tickets.resolution.services;
this module only maps the portal's forms and links onto it.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from service.extensions import db
from tickets.models import Status, Ticket
from tickets.resolution.models import (Confirmation, ConfirmationChannel, ConfirmationOutcome,
                                       ConfirmationState, Resolution)


def _services():
    # Imported when used: the resolution services import the tickets domain's modules,
    # which are loaded while this blueprint registers.
    from tickets.resolution import services

    return services


def pending_resolution(ticket: Ticket) -> Resolution | None:
    """The resolution waiting for the customer's answer, if the ticket is resolved."""
    if ticket.status != Status.RESOLVED:
        return None
    resolution = _services().current_resolution(ticket.id)
    if resolution is None or resolution.state != ConfirmationState.PENDING:
        return None
    return resolution


@dataclass(frozen=True)
class Answer:
    """What the customer chose, as the form gave it."""

    outcome: ConfirmationOutcome
    comment: str | None
    resolution_id: int | None = None  # the resolution the page showed (a stale page fails)


def answer_from_portal(ticket: Ticket, answer: Answer, *, contact_id: int,
                       ip: str | None, user_agent: str | None) -> Confirmation:
    """Record a signed-in customer's answer (with the request's IP and user agent)."""
    return _services().answer(
        ticket, answer.outcome, channel=ConfirmationChannel.PORTAL, contact_id=contact_id,
        ip=ip, user_agent=(user_agent or "")[:400] or None, comment=answer.comment,
        resolution_id=answer.resolution_id)


class LinkState(enum.StrEnum):
    """What a confirmation link leads to."""

    OPEN = "open"  # the resolution waits for this answer
    INVALID = "invalid"  # 404
    EXPIRED = "expired"  # 410
    ANSWERED = "answered"  # 409: answered already, or superseded


@dataclass(frozen=True)
class ConfirmationLink:
    """A mail's confirmation link, read: its ticket, resolution and suggested answer."""

    state: LinkState
    ticket: Ticket | None = None
    resolution: Resolution | None = None
    contact_id: int | None = None
    outcome: ConfirmationOutcome | None = None


def read_link(token: str) -> ConfirmationLink:
    """Read a confirmation link without recording anything (a GET, a mail scanner)."""
    from tickets.resolution import links

    try:
        data = links.read_confirmation_token(token)
    except links.LinkExpired:
        return ConfirmationLink(LinkState.EXPIRED)
    except links.LinkInvalid:
        return ConfirmationLink(LinkState.INVALID)
    resolution = db.session.get(Resolution, data.resolution_id)
    ticket = db.session.get(Ticket, resolution.ticket_id) if resolution else None
    if ticket is None:
        return ConfirmationLink(LinkState.INVALID)
    state = LinkState.OPEN if resolution.state == ConfirmationState.PENDING \
        else LinkState.ANSWERED
    return ConfirmationLink(state, ticket, resolution, data.contact_id,
                            ConfirmationOutcome(data.outcome))


def answer_from_link(link: ConfirmationLink, answer: Answer, *, ip: str | None,
                     user_agent: str | None) -> Confirmation:
    """Record the answer given through a mail's link (the link names contact and resolution)."""
    return _services().answer(
        link.ticket, answer.outcome, channel=ConfirmationChannel.EMAIL_LINK,
        contact_id=link.contact_id, ip=ip, user_agent=(user_agent or "")[:400] or None,
        comment=answer.comment, resolution_id=link.resolution.id)
