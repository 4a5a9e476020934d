"""Service recovery: a low CSAT or an NPS detractor opens one follow-up with a deadline.

The owner is the lead of the answer's team (else the default team's lead, else the first
active admin); a VIP account's sales owner joins as account manager. Closing it records
the outcome and schedules a re-survey, whose answer says whether the customer was won back.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service import events
from service.auth.models import Role, User
from service.db_types import utcnow
from service.directory.models import Account, Team, Tier
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.validation import strip_controls
from surveys import invitations
from surveys import settings as survey_settings
from surveys.models import (Invitation, InvitationTrigger, RecoveryFollowUp, RecoveryOutcome,
                            RecoveryStatus, SurveyKind, SurveyResponse, SurveySettings)
from surveys.recovery import access, notices, reopen
from tickets import timeline

NOTE_MAX = 4000
WON_BACK_CSAT, WON_BACK_NPS = 4, 7


def is_low(kind: SurveyKind, score: int, settings: SurveySettings) -> bool:
    """Whether an answer calls for recovery: CSAT ≤ the CSAT max, NPS ≤ the NPS max."""
    limit = settings.recovery_csat_max if kind == SurveyKind.CSAT else settings.recovery_nps_max
    return score <= limit


def won_back(kind: SurveyKind, score: int) -> bool:
    """Whether a re-survey answer means the customer was won back (CSAT ≥ 4, NPS ≥ 7)."""
    return score >= (WON_BACK_CSAT if kind == SurveyKind.CSAT else WON_BACK_NPS)


def _active_lead(team_query) -> int | None:
    return db.session.scalar(select(Team.lead_id).join(User, User.id == Team.lead_id)
                             .where(team_query, User.is_active.is_(True)).limit(1))


def choose_owner(team_id: int | None) -> int | None:
    """The team's lead, else the default team's lead, else the first active admin."""
    lead = _active_lead(Team.id == team_id) if team_id is not None else None
    return (lead or _active_lead(Team.is_default.is_(True))
            or db.session.scalar(select(User.id).where(User.role == Role.ADMIN,
                                                       User.is_active.is_(True))
                                 .order_by(User.id).limit(1)))


def escalation_team_lead(follow_up: RecoveryFollowUp) -> int | None:
    """The lead above the follow-up's owner: its team's lead, else the default team's
    (never the owner themself); None when there is none."""
    for team_query in ((Team.id == follow_up.team_id) if follow_up.team_id else None,
                       Team.is_default.is_(True)):
        lead = _active_lead(team_query) if team_query is not None else None
        if lead is not None and lead != follow_up.owner_id:
            return lead
    return None


def account_manager(account_id: int | None) -> int | None:
    """A VIP account's sales owner; None for other accounts."""
    if account_id is None:
        return None
    account = db.session.get(Account, account_id)
    if account is None or account.tier != Tier.VIP:
        return None
    return account.sales_owner_id


def follow_up_for_response(response_id: int) -> RecoveryFollowUp | None:
    """The follow-up a response opened, if any."""
    return db.session.scalar(select(RecoveryFollowUp)
                             .where(RecoveryFollowUp.response_id == response_id))


def handle_answer(response_id: int, now: datetime | None = None) -> RecoveryFollowUp | None:
    """React to a survey answer, first or edited (no commit).

    A re-survey's answer sets its follow-up's `won_back` and never opens another; a low
    answer opens one follow-up per response (an edit keeps the one it has), and a comment
    saying the problem is not solved reopens the ticket (see surveys.recovery.reopen).
    """
    response = db.session.get(SurveyResponse, response_id)
    if response is None:
        return None
    invitation = db.session.get(Invitation, response.invitation_id)
    if invitation is not None and invitation.recovery_id is not None:
        _record_resurvey_answer(invitation.recovery_id, response)
        return None
    now = now or response.updated_at or utcnow()
    settings = survey_settings.current()
    low = is_low(response.kind, response.score, settings)
    follow_up = follow_up_for_response(response.id)
    if follow_up is not None:
        if follow_up.status == RecoveryStatus.OPEN:
            follow_up.score = response.score  # the owner calls about the latest answer
    elif low:
        follow_up = _open(response, now, settings)
    if follow_up is not None and low:
        reopen.act_on_comment(follow_up, response, now)
    return follow_up


def _open(response: SurveyResponse, now: datetime,
          settings: SurveySettings) -> RecoveryFollowUp | None:
    follow_up = RecoveryFollowUp(
        response_id=response.id, kind=response.kind, score=response.score,
        contact_id=response.contact_id, account_id=response.account_id,
        ticket_id=response.ticket_id, team_id=response.team_id,
        owner_id=choose_owner(response.team_id),
        account_manager_id=account_manager(response.account_id),
        status=RecoveryStatus.OPEN, due_at=now + timedelta(hours=settings.recovery_hours),
        created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(follow_up)
    except IntegrityError:  # the same answer's event handled twice at once: one wins
        return follow_up_for_response(response.id)
    if follow_up.ticket_id is not None:
        timeline.record(follow_up.ticket_id, "recovery_opened", at=now,
                        recovery_id=follow_up.id, survey_kind=follow_up.kind.value,
                        score=follow_up.score, owner_id=follow_up.owner_id,
                        due_at=follow_up.due_at.isoformat())
    notices.notify_opened(follow_up, now)
    return follow_up


def _record_resurvey_answer(recovery_id: int, response: SurveyResponse) -> None:
    follow_up = db.session.get(RecoveryFollowUp, recovery_id)
    if follow_up is not None:
        follow_up.won_back = won_back(response.kind, response.score)


def _checked_close(outcome: object, note: object) -> tuple[RecoveryOutcome, str]:
    errors: dict[str, list[str]] = {}
    try:
        chosen = RecoveryOutcome(outcome) if outcome else None
    except ValueError:
        chosen = None
    if chosen is None:
        errors["outcome"] = [_("Choose the outcome of the follow-up.")]
    text = strip_controls(note).strip() if isinstance(note, str) else ""
    if not text:
        errors["note"] = [_("Write what was done and what the customer said.")]
    elif len(text) > NOTE_MAX:
        errors["note"] = [_("Keep the note under %(max)d characters.", max=NOTE_MAX)]
    if errors:
        raise InvalidInput(_("The follow-up cannot be closed yet."), errors)
    return chosen, text


def close(user: User, follow_up: RecoveryFollowUp, outcome: RecoveryOutcome | str | None,
          note: str | None, now: datetime | None = None) -> RecoveryFollowUp:
    """Record the outcome, schedule the re-survey and commit; 409 when already done."""
    now = now or utcnow()
    if not access.may_work(user, follow_up):
        raise NotFound(_("No such follow-up."))
    if follow_up.status == RecoveryStatus.DONE:
        raise Conflict(_("This follow-up is already done."))
    chosen, text = _checked_close(outcome, note)
    settings = survey_settings.current()
    response = db.session.get(SurveyResponse, follow_up.response_id)
    follow_up.status, follow_up.outcome, follow_up.note = RecoveryStatus.DONE, chosen, text
    follow_up.closed_at, follow_up.closed_by_id = now, user.id
    snapshot = invitations.Snapshot(
        account_id=follow_up.account_id, ticket_id=follow_up.ticket_id,
        team_id=follow_up.team_id, agent_id=response.agent_id if response else None,
        product=response.product if response else None,
        channel=response.channel if response else None)
    resurvey = invitations.create_invitation(
        follow_up.kind, InvitationTrigger.RECOVERY, follow_up.contact_id,
        send_at=now + timedelta(days=settings.resurvey_delay_days), snapshot=snapshot,
        recovery_id=follow_up.id, now=now)
    follow_up.resurvey_invitation_id = resurvey.id
    if follow_up.ticket_id is not None:
        timeline.record(follow_up.ticket_id, "recovery_closed", actor=user, at=now,
                        recovery_id=follow_up.id, outcome=chosen.value)
    events.recovery_closed.send(follow_up.id)
    db.session.commit()
    return follow_up
