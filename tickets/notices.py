"""Mails the tickets domain sends: acknowledgements to customers, SLA digests to staff."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale

from service.auth.models import User
from service.db_types import utcnow
from service.extensions import db
from service.notify import mail
from service.notify.services import unmailed
from tickets.models import Ticket
from tickets.portal_links import portal_url


def _locale(language: str | None) -> str:
    return "zh_CN" if language == "zh" or (language or "").startswith("zh") else "en"


def acknowledge(ticket_id: int) -> None:
    """Send the acknowledgement for a new ticket, at most once and rate-limited per sender."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return
    contact = ticket.contact
    if contact.email_bouncing:
        return
    limit = current_app.config["ACK_RATE_LIMIT_PER_HOUR"]
    if mail.recent_mail_count(contact.email, "ack:", utcnow() - timedelta(hours=1)) >= limit:
        return  # a flood from one address (or someone abusing it) gets no more mail
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    due = ticket.first_response_due_at.astimezone(zone) if ticket.first_response_due_at else None
    # The customer's own text is never echoed: an unknown address may not be theirs.
    with force_locale(_locale(ticket.language or contact.language)):
        subject = render_template("tickets/mail/acknowledgement_subject.txt", ticket=ticket)
        body = render_template("tickets/mail/acknowledgement.txt", ticket=ticket,
                               contact=contact, due=due, zone=zone.key,
                               link=portal_url(ticket.id, contact.id))
    mail.send_mail(f"ack:ticket:{ticket.id}", contact.email, subject.strip(), body)


def mail_sla_digest(user_id: int) -> None:
    """Mail one digest of a user's unmailed SLA notifications, then mark them mailed."""
    user = db.session.get(User, user_id)
    if user is None:
        return
    notices = unmailed(user_id, ("sla_warning", "sla_breached"))
    if not notices:
        return
    with force_locale(_locale(user.locale)):
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
