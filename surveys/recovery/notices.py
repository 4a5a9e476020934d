"""Telling staff about recovery follow-ups: a console notification each, and a mail."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from service import jobs
from service.auth.models import User
from service.db_types import utcnow
from service.directory.models import Account, Contact
from service.extensions import db
from service.i18n import locale_for
from service.notify import mail
from service.notify.models import Notification
from surveys.models import RecoveryFollowUp, SurveyResponse
from tickets.models import format_number

OPENED_KIND = "recovery_opened"
OVERDUE_KIND = "recovery_overdue"
_TEMPLATES = {OPENED_KIND: "opened", OVERDUE_KIND: "overdue"}


def _titles(follow_up: RecoveryFollowUp, kind: str) -> str:
    what = f"{follow_up.kind.value.upper()} {follow_up.score}"
    if kind == OVERDUE_KIND:
        return f"Recovery follow-up #{follow_up.id} ({what}) is overdue"
    return f"Recovery follow-up #{follow_up.id}: a customer answered {what}"


def _notify(follow_up: RecoveryFollowUp, kind: str, user_ids: list[int | None],
            now: datetime) -> list[Notification]:
    recipients = [user_id for user_id in dict.fromkeys(user_ids) if user_id is not None]
    keys = {user_id: f"{kind}:{follow_up.id}:{user_id}" for user_id in recipients}
    known = set(db.session.scalars(select(Notification.dedupe_key).where(
        Notification.dedupe_key.in_(list(keys.values()))))) if keys else set()
    notices = []
    for user_id in recipients:
        if keys[user_id] in known:
            continue
        notice = Notification(
            user_id=user_id, kind=kind, subject_ref=f"recovery:{follow_up.id}",
            title=_titles(follow_up, kind)[:300],
            data={"recovery_id": follow_up.id, "kind": follow_up.kind.value,
                  "score": follow_up.score, "ticket_id": follow_up.ticket_id,
                  "number": format_number(follow_up.ticket_id) if follow_up.ticket_id
                  else None, "due_at": follow_up.due_at.isoformat()},
            dedupe_key=keys[user_id], created_at=now)
        db.session.add(notice)
        notices.append(notice)
    if notices:
        db.session.flush()
        from surveys.recovery import jobs as recovery_jobs

        for notice in notices:
            jobs.enqueue(recovery_jobs.send_recovery_notice, notice.id)
    return notices


def notify_opened(follow_up: RecoveryFollowUp, now: datetime) -> list[Notification]:
    """Tell the owner and the account manager a follow-up is theirs (no commit)."""
    return _notify(follow_up, OPENED_KIND, [follow_up.owner_id, follow_up.account_manager_id],
                   now)


def notify_overdue(follow_up: RecoveryFollowUp, escalate_to: list[int],
                   now: datetime) -> list[Notification]:
    """Tell the owner (and whoever it is escalated to) the deadline passed (no commit)."""
    return _notify(follow_up, OVERDUE_KIND, [follow_up.owner_id, *escalate_to], now)


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone or current_app.config["TIMEZONE"])
    except (ValueError, KeyError):  # a zone removed from tzdata since it was chosen
        return ZoneInfo(current_app.config["TIMEZONE"])


def mail_notice(notification_id: int) -> None:
    """Mail one recovery notification in its reader's language, once."""
    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.emailed_at is not None or notice.kind not in _TEMPLATES:
        return
    user = db.session.get(User, notice.user_id)
    follow_up = db.session.get(RecoveryFollowUp, (notice.data or {}).get("recovery_id"))
    if user is not None and user.is_active and follow_up is not None \
            and user.wants_notice(notice.kind):
        response = db.session.get(SurveyResponse, follow_up.response_id)
        contact = db.session.get(Contact, follow_up.contact_id)
        account = db.session.get(Account, follow_up.account_id) if follow_up.account_id \
            else None
        zone = _zone(user)
        link = current_app.config["BASE_URL"] + f"/console/recovery/{follow_up.id}"
        name = _TEMPLATES[notice.kind]
        context = {"user": user, "follow_up": follow_up, "response": response,
                   "contact": contact, "account": account, "link": link, "zone": zone.key,
                   "due": follow_up.due_at.astimezone(zone),
                   "number": format_number(follow_up.ticket_id) if follow_up.ticket_id
                   else None}
        with force_locale(locale_for(user.locale)):
            subject = render_template(f"surveys/recovery/mail/{name}_subject.txt", **context)
            body = render_template(f"surveys/recovery/mail/{name}.txt", **context)
        mail.send_mail(f"{notice.dedupe_key}:mail", user.email, subject.strip(), body)
    notice.emailed_at = utcnow()
    db.session.commit()
