"""Mails the tickets domain sends: acknowledgements and replies to customers, notices and
SLA digests to staff."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale

from service.auth import prefs
from service.auth.models import User
from service.db_types import utcnow
from service.extensions import db
from service.i18n import locale_for
from service.notify import mail
from service.notify.services import unmailed
from tickets.channels.email import outbound
from tickets.models import ActorKind, Channel, Message, Ticket, Visibility
from tickets.portal_links import portal_url

def _mailable(contact) -> bool:
    return bool(contact.email) and not contact.email_bouncing


def acknowledge(ticket_id: int) -> None:
    """Send the acknowledgement for a new ticket, at most once and rate-limited per sender."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or not _mailable(ticket.contact):
        return
    contact = ticket.contact
    limit = current_app.config["ACK_RATE_LIMIT_PER_HOUR"]
    if mail.recent_mail_count(contact.email, "ack:", utcnow() - timedelta(hours=1)) >= limit:
        return  # a flood from one address (or someone abusing it) gets no more mail
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    due = ticket.first_response_due_at.astimezone(zone) if ticket.first_response_due_at else None
    # The customer's own text is never echoed: an unknown address may not be theirs, and an
    # acknowledgement must not relay a spammer's text to whoever they forged.
    outbound.send(ticket, dedupe_key=f"ack:ticket:{ticket.id}", to_address=contact.email,
                  template="acknowledgement", language=ticket.language or contact.language,
                  contact=contact, due=due, zone=zone.key,
                  link=portal_url(ticket.id, contact.id))


def mail_staff_reply(message_id: int) -> None:
    """Email an agent's public reply to the customer (unless they are reading it live)."""
    message = db.session.get(Message, message_id)
    if (message is None or message.author_kind != ActorKind.STAFF
            or message.visibility != Visibility.PUBLIC or message.channel == Channel.PHONE):
        return
    ticket = message.ticket
    contact = ticket.contact
    if not _mailable(contact):
        return
    if ticket.channel == Channel.CHAT:
        from tickets.channels.chat.services import visitor_present

        if visitor_present(ticket.id):
            return  # the visitor sees it in the chat window
    outbound.send(ticket, dedupe_key=f"reply:message:{message.id}", to_address=contact.email,
                  template="reply", language=ticket.language or contact.language,
                  reply_subject=ticket.channel == Channel.EMAIL, message=message,
                  contact=contact, agent=message.author_user,
                  link=portal_url(ticket.id, contact.id))


def notify_assignee(message_id: int) -> None:
    """Tell the assignee a customer wrote; they may answer by replying to this mail."""
    message = db.session.get(Message, message_id)
    if (message is None or message.author_kind != ActorKind.CUSTOMER
            or message.channel == Channel.CHAT):  # chat is answered live in the console
        return
    ticket = message.ticket
    agent = ticket.assignee
    if agent is None or not agent.is_active or not prefs.wants(agent, "customer_replied"):
        return
    outbound.send(ticket, dedupe_key=f"notice:message:{message.id}:user:{agent.id}",
                  to_address=agent.email, template="agent_notice", language=agent.locale,
                  recipient=agent, message=message, contact=ticket.contact, agent=agent)


def notify_assigned(ticket_id: int, user_id: int) -> None:
    """Tell an agent a ticket is theirs now, unless it moved on or they opted out."""
    from sqlalchemy import select

    from tickets.models import TicketEvent

    ticket = db.session.get(Ticket, ticket_id)
    user = db.session.get(User, user_id)
    if (ticket is None or user is None or ticket.assignee_id != user_id or not user.is_active
            or not prefs.wants(user, "ticket_assigned")):
        return
    # One mail per assignment: a retried job finds the same latest "assigned" event.
    event_id = db.session.scalar(select(TicketEvent.id).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "assigned")
        .order_by(TicketEvent.id.desc()).limit(1))
    link = current_app.config["BASE_URL"] + f"/console/tickets/{ticket.id}"
    with force_locale(locale_for(user.locale)):
        subject = render_template("tickets/mail/assigned_subject.txt", ticket=ticket)
        body = render_template("tickets/mail/assigned.txt", user=user, ticket=ticket,
                               link=link)
    mail.send_mail(f"assigned:ticket:{ticket.id}:event:{event_id}:user:{user.id}",
                   user.email, subject.strip(), body)
    db.session.commit()


def mail_sla_digest(user_id: int) -> None:
    """Mail one digest of a user's unmailed SLA notifications, then mark them mailed."""
    user = db.session.get(User, user_id)
    if user is None:
        return
    notices = unmailed(user_id, ("sla_warning", "sla_breached"))
    if not notices:
        return
    if not prefs.wants(user, "sla_alerts"):
        # Settled without mail (they stay in the console), so turning alerts back on
        # later does not mail a backlog of stale warnings.
        now = utcnow()
        for notice in notices:
            notice.emailed_at = now
        db.session.commit()
        return
    with force_locale(locale_for(user.locale)):
        subject = render_template("tickets/mail/sla_digest_subject.txt", count=len(notices))
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        body = render_template("tickets/mail/sla_digest.txt", user=user, zone=zone.key,
                               lines=[_digest_line(notice, zone) for notice in notices])
    mail.send_mail(f"sla-digest:{user_id}:{notices[-1].id}", user.email, subject.strip(), body)
    now = utcnow()
    for notice in notices:
        notice.emailed_at = now
    db.session.commit()


def _digest_line(notice, zone: ZoneInfo) -> dict:
    data = notice.data or {}
    due = data.get("due_at")
    return {"kind": notice.kind, "number": data.get("number", notice.subject_ref),
            "target": data.get("target"), "title": notice.title,
            "due": datetime.fromisoformat(due).astimezone(zone).strftime("%Y-%m-%d %H:%M")
            if due else ""}
