"""The NPS relationship survey's own schedule: every active contact, once per interval.

A contact is due when they opened a ticket within `nps_activity_days` and their last NPS
invitation (of any trigger: schedule, campaign or recovery re-survey) is older than
`nps_interval_days`, or they never had one. An invitation counts when it was scheduled,
sent, answered, or skipped for a lasting reason (unsubscribed, bouncing, no address):
those contacts are tried again one interval later, not every hour. Invitations skipped
for fatigue or because NPS was switched off do not count: the contact was never asked.

A contact still inside the fatigue window (another survey was sent to them recently) is
left for a later run instead of being recorded as skipped: the schedule runs hourly and
would otherwise write a skipped invitation per contact per hour, and the contact is
invited on the first run after the window ends.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from service.db_types import utcnow
from service.extensions import db
from surveys import settings as survey_settings
from surveys.invitations import SkipReason, create_invitation
from surveys.models import (Invitation, InvitationStatus, InvitationTrigger, SurveyKind,
                            SurveySettings)
from tickets.facts import contacts_active_since

PAGE_SIZE = 500  # active contacts examined per transaction
# Skips after which the contact was never really asked: they do not start a new interval.
_NOT_ASKED = (SkipReason.FATIGUE, SkipReason.DISABLED)


def schedule_due(now: datetime | None = None, limit: int = 500) -> int:
    """Schedule an NPS invitation for every due contact (at most `limit`); commits per page.

    Returns how many invitations were made (skipped ones included). Running it twice
    makes nothing new the second time: the first run's invitations count as the last.
    """
    now = now or utcnow()
    settings = survey_settings.current()
    if not settings.nps_enabled:
        return 0
    since = now - timedelta(days=settings.nps_activity_days)
    made, cursor = 0, 0
    while made < limit:
        # Serialise concurrent runs (two tickers, a manual run): the second one waits and
        # then sees the first one's invitations, so nobody is invited twice.
        settings = _lock_settings()
        if not settings.nps_enabled:
            break
        contact_ids = contacts_active_since(since, after_contact_id=cursor, limit=PAGE_SIZE)
        if not contact_ids:
            break
        cursor = contact_ids[-1]
        for contact_id in due_contacts(contact_ids, now, settings)[:limit - made]:
            create_invitation(SurveyKind.NPS, InvitationTrigger.NPS_SCHEDULE, contact_id,
                              send_at=now, now=now)
            made += 1
        db.session.commit()
        if len(contact_ids) < PAGE_SIZE:
            break
    db.session.commit()
    return made


def due_contacts(contact_ids: list[int], now: datetime,
                 settings: SurveySettings) -> list[int]:
    """Of these contacts, those due an NPS invitation now and outside the fatigue window."""
    if not contact_ids:
        return []
    interval_start = now - timedelta(days=settings.nps_interval_days)
    last_nps = dict(db.session.execute(
        select(Invitation.contact_id,
               func.max(func.coalesce(Invitation.sent_at, Invitation.send_at)))
        .where(Invitation.contact_id.in_(contact_ids), Invitation.kind == SurveyKind.NPS,
               (Invitation.status != InvitationStatus.SKIPPED)
               | Invitation.skip_reason.is_(None)
               | Invitation.skip_reason.not_in(_NOT_ASKED))
        .group_by(Invitation.contact_id)).all())
    fatigue_start = now - timedelta(days=settings.fatigue_days)
    fatigued = set(db.session.scalars(
        select(Invitation.contact_id).where(Invitation.contact_id.in_(contact_ids),
                                            Invitation.sent_at > fatigue_start)))
    return [contact_id for contact_id in contact_ids
            if contact_id not in fatigued
            and (contact_id not in last_nps or last_nps[contact_id] <= interval_start)]


def _lock_settings() -> SurveySettings:
    survey_settings.current()  # make sure the row exists before locking it
    return db.session.scalar(select(SurveySettings)
                             .where(SurveySettings.id == survey_settings.SETTINGS_ID)
                             .with_for_update().execution_options(populate_existing=True))
