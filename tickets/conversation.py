"""Messages and internal notes on a ticket, and what they do to its status and SLA."""
from __future__ import annotations

from datetime import datetime

from service import events
from service.auth.models import User
from service.extensions import db
from tickets import lifecycle, sla, timeline
from tickets.models import ActorKind, Channel, Message, Status, Ticket, Visibility


def add_staff_message(ticket: Ticket, author: User, body: str, visibility: Visibility,
                      now: datetime, channel: Channel = Channel.API, *,
                      original_body: str | None = None) -> Message:
    """A staff reply (public) or note (internal); the first public reply meets first response."""
    message = Message(ticket_id=ticket.id, author_kind=ActorKind.STAFF, author_user_id=author.id,
                      visibility=visibility, channel=channel, body=body,
                      original_body=original_body, created_at=now)
    db.session.add(message)
    db.session.flush()
    if visibility == Visibility.PUBLIC:
        sla.meet_first_response(ticket, now)
        if ticket.status == Status.NEW:
            lifecycle.change_status(ticket, Status.OPEN, actor=author, now=now,
                                    channel=channel, reason="first reply")
    ticket.updated_at = now
    timeline.record(ticket.id, "note_added" if visibility == Visibility.INTERNAL
                    else "reply_sent", actor=author, channel=channel, at=now,
                    message_id=message.id)
    events.message_added.send(ticket.id, message_id=message.id, visibility=visibility.value,
                              author_kind=ActorKind.STAFF.value)
    return message


def add_customer_message(ticket: Ticket, contact_id: int, body: str, channel: Channel,
                         now: datetime, *, body_html: str | None = None,
                         original_body: str | None = None,
                         counts_as_answer: bool = True) -> Message:
    """A customer's message; it answers a pending question and restarts the clock.

    An automatic message (an out-of-office reply) is kept but answers nothing.
    """
    message = Message(ticket_id=ticket.id, author_kind=ActorKind.CUSTOMER,
                      author_contact_id=contact_id, visibility=Visibility.PUBLIC,
                      channel=channel, body=body, body_html=body_html,
                      original_body=original_body, created_at=now)
    db.session.add(message)
    db.session.flush()
    if counts_as_answer and ticket.status == Status.PENDING_CUSTOMER:
        lifecycle.change_status(ticket, Status.OPEN, actor=None, contact_id=contact_id,
                                now=now, channel=channel, reason="customer replied")
    ticket.updated_at = now
    timeline.record(ticket.id, "customer_message", contact_id=contact_id, channel=channel,
                    at=now, message_id=message.id,
                    **({} if counts_as_answer else {"automatic": True}))
    events.message_added.send(ticket.id, message_id=message.id, visibility="public",
                              author_kind=ActorKind.CUSTOMER.value)
    return message
