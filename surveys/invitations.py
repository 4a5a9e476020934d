"""Making invitations, and the consent and fatigue rules every one of them passes.

A contact is asked at most once per fatigue window across all surveys, never after
unsubscribing, and never at an address that bounces or that they do not have. The rules
are checked when an invitation is made (so a skipped one is recorded with its reason) and
again just before it is sent (another may have gone out meanwhile). A recovery re-survey
is the one exception to the fatigue window: the customer was just asked, and is asked
again on purpose once the follow-up is done.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from service.db_types import utcnow
from service.directory.models import Contact
from service.extensions import db
from surveys import settings as survey_settings
from surveys.models import (Invitation, InvitationStatus, InvitationTrigger, SurveyKind,
                            SurveyOptOut, SurveySettings)


class SkipReason:
    NO_EMAIL = "no_email"
    BOUNCING = "bouncing"
    UNSUBSCRIBED = "unsubscribed"
    FATIGUE = "fatigue"
    DISABLED = "disabled"  # the survey kind is switched off in the settings
    NO_CONTACT = "no_contact"  # the contact was deleted


@dataclass(frozen=True)
class Snapshot:
    """Who served the customer, copied onto the invitation (and later its response)."""
    account_id: int | None = None
    ticket_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None
    product: str | None = None
    channel: str | None = None
    language: str | None = None


def surveyed_recently(contact_id: int, now: datetime, settings: SurveySettings) -> bool:
    """Whether the contact was sent any survey within the fatigue window."""
    since = now - timedelta(days=settings.fatigue_days)
    return bool(db.session.scalar(select(exists().where(
        Invitation.contact_id == contact_id, Invitation.sent_at.is_not(None),
        Invitation.sent_at > since))))


def skip_reason(contact: Contact | None, trigger: InvitationTrigger, now: datetime,
                settings: SurveySettings | None = None) -> str | None:
    """Why this contact must not be asked now, or None when they may be."""
    settings = settings or survey_settings.current()
    if contact is None:
        return SkipReason.NO_CONTACT
    if not contact.email:
        return SkipReason.NO_EMAIL
    if contact.email_bouncing:
        return SkipReason.BOUNCING
    if db.session.get(SurveyOptOut, contact.id) is not None:
        return SkipReason.UNSUBSCRIBED
    if trigger != InvitationTrigger.RECOVERY and surveyed_recently(contact.id, now, settings):
        return SkipReason.FATIGUE
    return None


def create_invitation(kind: SurveyKind, trigger: InvitationTrigger, contact_id: int, *,
                      send_at: datetime, snapshot: Snapshot = Snapshot(),
                      campaign_id: int | None = None, recovery_id: int | None = None,
                      now: datetime | None = None) -> Invitation:
    """Record an invitation to send at `send_at` (no commit), or a skipped one with why.

    The token is made when the mail is sent (surveys.sending), so it is never stored.
    """
    now = now or utcnow()
    settings = survey_settings.current()
    contact = db.session.get(Contact, contact_id)
    enabled = settings.csat_enabled if kind == SurveyKind.CSAT else settings.nps_enabled
    reason = None if enabled or trigger == InvitationTrigger.RECOVERY else SkipReason.DISABLED
    reason = reason or skip_reason(contact, trigger, now, settings)
    invitation = Invitation(
        kind=kind, trigger=trigger, contact_id=contact_id,
        status=InvitationStatus.SKIPPED if reason else InvitationStatus.SCHEDULED,
        skip_reason=reason, send_at=send_at, campaign_id=campaign_id,
        recovery_id=recovery_id, account_id=snapshot.account_id
        if snapshot.account_id is not None else (contact.account_id if contact else None),
        ticket_id=snapshot.ticket_id, team_id=snapshot.team_id, agent_id=snapshot.agent_id,
        product=snapshot.product, channel=snapshot.channel,
        language=snapshot.language or (contact.language if contact else None),
        created_at=now)
    db.session.add(invitation)
    db.session.flush()
    return invitation


def opt_out(contact_id: int, source: str, now: datetime | None = None) -> bool:
    """Unsubscribe the contact from every survey (no commit); False if already out."""
    if db.session.get(SurveyOptOut, contact_id) is not None:
        return False
    db.session.add(SurveyOptOut(contact_id=contact_id, source=source,
                                created_at=now or utcnow()))
    db.session.flush()
    return True


def is_opted_out(contact_id: int) -> bool:
    """Whether the contact unsubscribed from surveys."""
    return db.session.get(SurveyOptOut, contact_id) is not None
