"""Telling sales: a rep got an opportunity; a lead's rep let one return to the pool.

Each notice is a console Notification (no commit) and a mail sent by a job in the reader's
language, once per notification, unless the reader turned that kind of mail off.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale

from service import jobs
from service.auth.models import User
from service.db_types import utcnow
from service.directory.models import Account, Contact
from service.extensions import db
from service.i18n import locale_for
from service.notify import mail
from service.notify.models import Notification
from surveys.models import Opportunity
from surveys.opportunities.assignment import leads_of
from surveys.opportunities.history import console_url

ASSIGNED_KIND = "opportunity_assigned"
RETURNED_KIND = "opportunity_returned"


def _subject_name(opportunity: Opportunity) -> str:
    """The customer's name: the account's, else the contact's."""
    if opportunity.account_id:
        account = db.session.get(Account, opportunity.account_id)
        if account is not None:
            return account.name
    contact = db.session.get(Contact, opportunity.contact_id) if opportunity.contact_id else None
    return contact.name if contact is not None else "?"


def _add(user_id: int, kind: str, opportunity: Opportunity, title: str, key: str,
         now: datetime, **data) -> Notification:
    notice = Notification(user_id=user_id, kind=kind, subject_ref=f"opportunity:{opportunity.id}",
                          title=title[:300], dedupe_key=key[:200], created_at=now,
                          data={"opportunity_id": opportunity.id, "kind": opportunity.kind.value,
                                "customer": _subject_name(opportunity), **data})
    db.session.add(notice)
    return notice


def notify_assigned(opportunity: Opportunity, owner_id: int, *, now: datetime,
                    event_id: int) -> Notification:
    """Tell a rep an opportunity is theirs now (no commit; the mail follows the commit).

    `event_id` is the history row of this assignment: one notice per assignment.
    """
    customer = _subject_name(opportunity)
    notice = _add(owner_id, ASSIGNED_KIND, opportunity,
                  f"New {opportunity.kind.value} opportunity: {customer}",
                  f"{ASSIGNED_KIND}:{opportunity.id}:{owner_id}:{event_id}", now)
    db.session.flush()
    from surveys.opportunities import jobs as opportunity_jobs

    jobs.enqueue(opportunity_jobs.send_opportunity_notice, notice.id)
    return notice


def notify_returned(opportunity: Opportunity, rep_id: int, *, now: datetime
                    ) -> list[Notification]:
    """Tell the rep's lead (else the admins) a rep's opportunity went back to the pool."""
    rep = db.session.get(User, rep_id)
    customer = _subject_name(opportunity)
    notices = [_add(lead.id, RETURNED_KIND, opportunity,
                    f"{rep.name if rep else '?'} did not contact {customer} in time",
                    f"{RETURNED_KIND}:{opportunity.id}:{lead.id}:{now.isoformat()}", now,
                    rep_id=rep_id, rep_name=rep.name if rep else None)
               for lead in leads_of(rep_id)]
    if notices:
        db.session.flush()
        from surveys.opportunities import jobs as opportunity_jobs

        for notice in notices:
            jobs.enqueue(opportunity_jobs.send_opportunity_notice, notice.id)
    return notices


def _in_zone(moment: datetime, user: User) -> str:
    """A time as the reader reads it: their zone (else the service's), named."""
    try:
        zone = ZoneInfo(user.timezone or current_app.config["TIMEZONE"])
    except (ValueError, KeyError):
        zone = ZoneInfo(current_app.config["TIMEZONE"])
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


_TEMPLATES = {ASSIGNED_KIND: "opportunity_assigned", RETURNED_KIND: "opportunity_returned"}


def mail_notice(notification_id: int) -> None:
    """Mail one opportunity notification in its reader's language, once."""
    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.emailed_at is not None or notice.kind not in _TEMPLATES:
        return
    user = db.session.get(User, notice.user_id)
    opportunity = db.session.get(Opportunity, (notice.data or {}).get("opportunity_id"))
    if (user is not None and user.is_active and opportunity is not None
            and user.wants_notice(notice.kind)):
        name = _TEMPLATES[notice.kind]
        locale = locale_for(user.locale)
        context = {"user": user, "opportunity": opportunity, "data": notice.data or {},
                   "link": console_url(opportunity.id), "due": _in_zone(
                       opportunity.first_contact_due_at, user),
                   "html_lang": "zh-CN" if locale.startswith("zh") else "en"}
        with force_locale(locale):
            from surveys.opportunities.labels import kind_label, reason_text

            context.update(kind=kind_label(opportunity.kind), reason=reason_text(opportunity))
            subject = render_template(f"surveys/mail/{name}_subject.txt", **context)
            body = render_template(f"surveys/mail/{name}.txt", **context)
            html = render_template(f"surveys/mail/{name}.html", **context)
        mail.send_mail(f"{notice.dedupe_key}:mail"[:200], user.email, subject.strip(), body,
                       html=html)
    notice.emailed_at = utcnow()
    db.session.commit()
