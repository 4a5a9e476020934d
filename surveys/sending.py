"""Sending survey invitations: the due sweep, and one invitation's mail with its token.

The token is made at the moment of sending and lives only in the mail: the invitation
keeps its hash. The consent and fatigue rules are checked again here, because another
survey may have gone out (or the contact unsubscribed, or started bouncing) since the
invitation was scheduled.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from service import jobs
from service.db_types import utcnow
from service.directory.models import Contact
from service.extensions import db
from service.i18n import locale_for
from service.notify import mail
from service.notify.models import OutboundMail
from surveys import invitations, tokens
from surveys import settings as survey_settings
from surveys.answering import CSAT_LABELS, SCORES
from surveys.invitations import SkipReason
from surveys.links import survey_url, unsubscribe_url
from surveys.models import Invitation, InvitationStatus, InvitationTrigger, SurveyKind
from tickets.facts import ticket_facts
from tickets.models import format_number


def dedupe_key(invitation_id: int) -> str:
    """The outbound mail key of an invitation's mail (one mail per invitation)."""
    return f"survey:{invitation_id}"


def sweep_due(now: datetime | None = None, limit: int = 200) -> int:
    """Queue a send job for each scheduled invitation now due, soonest first (commits).

    SKIP LOCKED lets two sweeps share the work; one that queues an invitation again
    before its first job ran is harmless, as `send_invitation` sends once.
    """
    now = now or utcnow()
    due = list(db.session.scalars(
        select(Invitation.id)
        .where(Invitation.status == InvitationStatus.SCHEDULED, Invitation.send_at <= now)
        .order_by(Invitation.send_at, Invitation.id).limit(limit)
        .with_for_update(skip_locked=True)))
    from surveys import jobs as survey_jobs

    for invitation_id in due:
        jobs.enqueue(survey_jobs.send_invitation_job, invitation_id)
    db.session.commit()
    return len(due)


def send_invitation(invitation_id: int, now: datetime | None = None) -> InvitationStatus | None:
    """Send one scheduled invitation's mail, or mark it skipped with why (commits).

    Returns the invitation's status afterwards (None: no such invitation). A retry after
    a failed delivery re-sends the mail recorded the first time (the token is not kept).
    """
    now = now or utcnow()
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.id == invitation_id).with_for_update()
        .execution_options(populate_existing=True))
    if invitation is None:
        db.session.rollback()
        return None
    if invitation.status != InvitationStatus.SCHEDULED:
        status = invitation.status
        db.session.commit()
        if status == InvitationStatus.SENT:
            _deliver_recorded(invitation_id)
        return status
    # Locked so two invitations to one contact, sent at once, see each other (fatigue).
    contact = db.session.scalar(
        select(Contact).where(Contact.id == invitation.contact_id).with_for_update()
        .execution_options(populate_existing=True))
    reason = _skip_reason(invitation, contact, now)
    if reason is not None:
        invitation.status = InvitationStatus.SKIPPED
        invitation.skip_reason = reason
        db.session.commit()
        return invitation.status
    token, token_hash = tokens.new_token()
    invitation.token_hash = token_hash
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=survey_settings.current().token_days)
    invitation.status = InvitationStatus.SENT
    subject, text, html = render_mail(invitation, contact, token)
    db.session.flush()
    # Records the mail and commits it with the invitation, then delivers.
    mail.send_mail(dedupe_key(invitation.id), contact.email, subject, text, html=html)
    return InvitationStatus.SENT


def _skip_reason(invitation: Invitation, contact: Contact | None, now: datetime) -> str | None:
    settings = survey_settings.current()
    enabled = settings.csat_enabled if invitation.kind == SurveyKind.CSAT \
        else settings.nps_enabled
    if not enabled and invitation.trigger != InvitationTrigger.RECOVERY:
        return SkipReason.DISABLED
    return invitations.skip_reason(contact, invitation.trigger, now, settings)


def _deliver_recorded(invitation_id: int) -> None:
    """Deliver the invitation's recorded mail if an earlier try left it undelivered."""
    recorded = db.session.scalar(select(OutboundMail).where(
        OutboundMail.dedupe_key == dedupe_key(invitation_id)))
    if recorded is not None and recorded.status not in ("sent", "logged"):
        mail.send_mail(recorded.dedupe_key, recorded.to_address, recorded.subject,
                       recorded.body_text, html=recorded.body_html)


def render_mail(invitation: Invitation, contact: Contact, token: str) -> tuple[str, str, str]:
    """Subject, text and HTML of the invitation's mail, in the contact's language."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    locale = locale_for(invitation.language or contact.language)
    facts = ticket_facts(invitation.ticket_id) if invitation.ticket_id else None
    context = {
        "contact": contact, "kind": invitation.kind.value,
        "ticket_number": format_number(facts.id) if facts else None,
        "ticket_subject": facts.subject if facts else None,
        "link": survey_url(token), "unsubscribe_link": unsubscribe_url(token),
        "expires_on": invitation.expires_at.astimezone(zone).strftime("%Y-%m-%d"),
        "html_lang": "zh-CN" if locale == "zh_CN" else "en",
    }
    template = "csat" if invitation.kind == SurveyKind.CSAT else "nps"
    with force_locale(locale):
        context["scores"] = [
            {"score": score, "label": str(CSAT_LABELS[score]) if template == "csat" else "",
             "url": survey_url(token, score)} for score in SCORES[invitation.kind]]
        subject = render_template(f"surveys/mail/{template}_subject.txt", **context).strip()
        text = render_template(f"surveys/mail/{template}.txt", **context)
        html = render_template(f"surveys/mail/{template}.html", **context)
    return subject, text, html
