"""Overdue recovery follow-ups: the periodic sweep that tells the owner and the lead once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from service.auth.models import Role, User
from service.db_types import utcnow
from service.extensions import db
from surveys.models import RecoveryFollowUp, RecoveryStatus
from surveys.recovery import notices
from surveys.recovery.services import escalation_team_lead


def escalation_targets(follow_up: RecoveryFollowUp) -> list[int]:
    """The owner's lead (the team's, else the default team's, never the owner); the
    active admins when there is no such lead."""
    lead = escalation_team_lead(follow_up)
    if lead is not None:
        return [lead]
    return [user_id for user_id in db.session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True))
        .order_by(User.id)) if user_id != follow_up.owner_id]


def sweep_overdue(now: datetime | None = None, limit: int = 200) -> int:
    """Notify every open follow-up past its deadline once; returns how many.

    Batches are taken with FOR UPDATE SKIP LOCKED on PostgreSQL, so sweeps may overlap;
    `overdue_notified_at` lives in the database, so a sweep after downtime finds them all.
    """
    now = now or utcnow()
    done = 0
    while True:
        batch = list(db.session.scalars(
            select(RecoveryFollowUp).where(RecoveryFollowUp.status == RecoveryStatus.OPEN,
                                           RecoveryFollowUp.due_at <= now,
                                           RecoveryFollowUp.overdue_notified_at.is_(None))
            .order_by(RecoveryFollowUp.due_at, RecoveryFollowUp.id).limit(limit)
            .with_for_update(skip_locked=True, of=RecoveryFollowUp)))
        for follow_up in batch:
            follow_up.overdue_notified_at = now
            notices.notify_overdue(follow_up, escalation_targets(follow_up), now)
        done += len(batch)
        db.session.commit()
        if len(batch) < limit:
            return done
