"""Mails of the closed loop: the confirmation request and its reminder to the customer, and
the "reopened" notice to staff when the customer says it is still a problem."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from service import jobs
from service.auth import prefs
from service.auth.models import User
from service.db_types import utcnow
from service.directory.models import Team
from service.extensions import db
from service.i18n import locale_for
from service.notify import mail
from service.notify.models import Notification
from tickets.channels.email import outbound
from tickets.models import Ticket, format_number
from tickets.portal_links import portal_url
from tickets.resolution.links import confirmation_url
from tickets.resolution.models import Confirmation, ConfirmationState, Resolution

REOPENED_KIND = "ticket_reopened"


def _mailable(contact) -> bool:
    return contact is not None and bool(contact.email) and not contact.email_bouncing


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def mail_confirmation_request(resolution_id: int) -> None:
    """Ask the customer whether the fix works: two one-click links and the portal link."""
    _mail_customer(resolution_id, template="confirmation_request",
                   dedupe_key=f"confirm-request:resolution:{resolution_id}")


def mail_confirmation_reminder(resolution_id: int) -> None:
    """Remind the customer at half-time, with the same links (only while still pending)."""
    _mail_customer(resolution_id, template="confirmation_reminder",
                   dedupe_key=f"confirm-reminder:resolution:{resolution_id}")


def _mail_customer(resolution_id: int, *, template: str, dedupe_key: str) -> None:
    resolution = db.session.get(Resolution, resolution_id)
    if resolution is None or resolution.state != ConfirmationState.PENDING:
        return  # answered (or superseded) before the mail went out: nothing to ask
    ticket = db.session.get(Ticket, resolution.ticket_id)
    contact = ticket.contact if ticket is not None else None
    if not _mailable(contact):
        return  # the portal still shows the question
    zone = _zone()
    outbound.send(ticket, dedupe_key=dedupe_key, to_address=contact.email, template=template,
                  language=ticket.language or contact.language, contact=contact,
                  resolution=resolution, zone=zone.key,
                  close_on=resolution.auto_close_at.astimezone(zone),
                  yes_link=confirmation_url(resolution.id, contact.id, "confirmed"),
                  no_link=confirmation_url(resolution.id, contact.id, "rejected"),
                  link=portal_url(ticket.id, contact.id))


def notify_reopened(ticket: Ticket, confirmation: Confirmation, *, now: datetime,
                    skip_user_id: int | None = None) -> list[Notification]:
    """Tell the assignee and the team's lead the customer rejected the fix (no commit).

    One console notification each, and a mail through a job; whoever recorded the answer
    (an agent on the phone) is not told what they just did.
    """
    lead_id = (db.session.scalar(select(Team.lead_id).where(Team.id == ticket.team_id))
               if ticket.team_id else None)
    recipients = [user_id for user_id in dict.fromkeys((ticket.assignee_id, lead_id))
                  if user_id is not None and user_id != skip_user_id]
    number = format_number(ticket.id)
    notices = []
    for user_id in recipients:
        notice = Notification(
            user_id=user_id, kind=REOPENED_KIND, subject_ref=f"ticket:{ticket.id}",
            title=f"{number} reopened: the customer says it is still a problem",
            data={"number": number, "ticket_id": ticket.id,
                  "resolution_id": confirmation.resolution_id,
                  "confirmation_id": confirmation.id, "channel": confirmation.channel.value},
            dedupe_key=f"{REOPENED_KIND}:{confirmation.id}:{user_id}", created_at=now)
        db.session.add(notice)
        notices.append(notice)
    if notices:
        db.session.flush()
        from tickets.resolution import jobs as resolution_jobs

        for notice in notices:
            jobs.enqueue(resolution_jobs.send_reopened_notice, notice.id)
    return notices


def mail_reopened_notice(notification_id: int) -> None:
    """Mail one "reopened" notification in its reader's language, once."""
    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.emailed_at is not None:
        return
    user = db.session.get(User, notice.user_id)
    ticket = db.session.get(Ticket, (notice.data or {}).get("ticket_id"))
    confirmation = db.session.get(Confirmation, (notice.data or {}).get("confirmation_id"))
    # Honoured once the profile page offers this kind (service.auth.prefs.NOTICE_KINDS).
    opted_out = REOPENED_KIND in prefs.NOTICE_KINDS and not prefs.wants(user, REOPENED_KIND)
    if user is not None and user.is_active and ticket is not None and not opted_out:
        zone = _zone()
        due = ticket.resolution_due_at.astimezone(zone) if ticket.resolution_due_at else None
        link = current_app.config["BASE_URL"] + f"/console/tickets/{ticket.id}"
        with force_locale(locale_for(user.locale)):
            subject = render_template("tickets/mail/reopened_notice_subject.txt",
                                      ticket=ticket)
            body = render_template("tickets/mail/reopened_notice.txt", user=user,
                                   ticket=ticket, confirmation=confirmation, due=due,
                                   zone=zone.key, link=link)
        mail.send_mail(f"{notice.dedupe_key}:mail", user.email, subject.strip(), body)
    notice.emailed_at = utcnow()
    db.session.commit()
