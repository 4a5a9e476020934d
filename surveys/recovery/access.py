"""Who sees which recovery follow-ups, in one place every page and API call goes through.

Admins see all; leads see the ones they own or manage and their teams'; sales reps see
the ones where they are the account manager (or owner). Anyone else sees none (404).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, false, or_, select, true

from service.auth.models import Role, User
from service.auth.permissions import Permission, can
from service.db_types import utcnow
from service.directory.models import Team, team_members
from service.errors import NotFound
from service.extensions import db
from service.pagination import decode_time_cursor, encode_cursor
from service.validation import is_id
from surveys.models import RecoveryFollowUp, RecoveryStatus

def visible_follow_ups(user: User):
    """SQL condition: the follow-ups this user may see."""
    if not can(user, Permission.RECOVERY_WORK):
        return false()
    if user.role == Role.ADMIN:
        return true()
    mine = or_(RecoveryFollowUp.owner_id == user.id,
               RecoveryFollowUp.account_manager_id == user.id)
    if user.role == Role.LEAD:
        teams = select(team_members.c.team_id).where(team_members.c.user_id == user.id) \
            .union(select(Team.id).where(Team.lead_id == user.id))
        return or_(mine, RecoveryFollowUp.team_id.in_(teams))
    return mine


def may_work(user: User, follow_up: RecoveryFollowUp) -> bool:
    """Whether the user may close this follow-up (anyone who may see it)."""
    return db.session.scalar(select(RecoveryFollowUp.id).where(
        RecoveryFollowUp.id == follow_up.id, visible_follow_ups(user))) is not None


def get_follow_up(user: User, follow_up_id: int, *, for_update: bool = False
                  ) -> RecoveryFollowUp:
    """A follow-up the user may see, or NotFound (never revealing that it exists)."""
    if not is_id(follow_up_id):
        raise NotFound(_("No such follow-up."))
    query = select(RecoveryFollowUp).where(RecoveryFollowUp.id == follow_up_id,
                                           visible_follow_ups(user))
    if for_update:
        query = query.with_for_update(of=RecoveryFollowUp) \
            .execution_options(populate_existing=True)
    follow_up = db.session.scalar(query)
    if follow_up is None:
        raise NotFound(_("No such follow-up."))
    return follow_up


def is_overdue(follow_up: RecoveryFollowUp, now: datetime) -> bool:
    """Whether an open follow-up is past its deadline."""
    return follow_up.status == RecoveryStatus.OPEN and follow_up.due_at <= now


def list_follow_ups(user: User, *, status: Sequence[RecoveryStatus] | None = None,
                    owner_id: int | None = None, mine: bool = False,
                    overdue: bool | None = None, account_id: int | None = None,
                    contact_id: int | None = None, ticket_id: int | None = None,
                    limit: int = 50, cursor: str | None = None,
                    now: datetime | None = None) -> tuple[list[RecoveryFollowUp], str | None]:
    """One keyset page of the follow-ups the user may see, soonest due first, and the
    next cursor. `mine`: the user owns it or is its account manager."""
    now = now or utcnow()
    query = select(RecoveryFollowUp).where(visible_follow_ups(user))
    if status:
        query = query.where(RecoveryFollowUp.status.in_(list(status)))
    if mine:
        query = query.where(or_(RecoveryFollowUp.owner_id == user.id,
                                RecoveryFollowUp.account_manager_id == user.id))
    if owner_id is not None:
        query = query.where(RecoveryFollowUp.owner_id == owner_id)
    if account_id is not None:
        query = query.where(RecoveryFollowUp.account_id == account_id)
    if contact_id is not None:
        query = query.where(RecoveryFollowUp.contact_id == contact_id)
    if ticket_id is not None:
        query = query.where(RecoveryFollowUp.ticket_id == ticket_id)
    late = and_(RecoveryFollowUp.status == RecoveryStatus.OPEN, RecoveryFollowUp.due_at <= now)
    if overdue is True:
        query = query.where(late)
    elif overdue is False:
        query = query.where(~late)
    if cursor:
        due, last_id = decode_time_cursor(cursor, "due_at")
        query = query.where(or_(RecoveryFollowUp.due_at > due,
                                and_(RecoveryFollowUp.due_at == due,
                                     RecoveryFollowUp.id > last_id)))
    rows = list(db.session.scalars(query.order_by(RecoveryFollowUp.due_at, RecoveryFollowUp.id)
                                   .limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("due_at", rows[-1].due_at, rows[-1].id)
