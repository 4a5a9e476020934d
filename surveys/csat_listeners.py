"""CSAT after a closed ticket: one invitation per ticket, sent after the configured delay."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from service import events
from service.db_types import utcnow
from service.extensions import db
from surveys import settings as survey_settings
from surveys.invitations import Snapshot, create_invitation
from surveys.models import Invitation, InvitationTrigger, SurveyKind
from tickets.facts import ticket_facts


@events.ticket_closed.connect
def _schedule_csat(ticket_id: int, **_data) -> None:
    """Invite the ticket's contact to rate it, once per ticket however often it closes."""
    schedule_csat(ticket_id)


def schedule_csat(ticket_id: int) -> Invitation | None:
    """Make the ticket's CSAT invitation (no commit); None when it already has one."""
    if _has_csat(ticket_id):
        return None  # closed again after a reopen: the customer was asked already
    facts = ticket_facts(ticket_id)
    if facts is None:
        return None
    settings = survey_settings.current()
    # The close's own time, so callers with a frozen clock agree with the schedule.
    closed_at = facts.closed_at or utcnow()
    snapshot = Snapshot(account_id=facts.account_id, ticket_id=facts.id,
                        team_id=facts.team_id, agent_id=facts.assignee_id,
                        product=facts.product, channel=facts.channel,
                        language=facts.language)
    try:
        # A savepoint: a concurrent close that won the unique index leaves the ticket's
        # own transaction intact.
        with db.session.begin_nested():
            return create_invitation(
                SurveyKind.CSAT, InvitationTrigger.TICKET_CLOSED, facts.contact_id,
                send_at=closed_at + timedelta(minutes=settings.csat_delay_minutes),
                snapshot=snapshot, now=closed_at)
    except IntegrityError:
        return None


def _has_csat(ticket_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(
        Invitation.ticket_id == ticket_id,
        Invitation.trigger == InvitationTrigger.TICKET_CLOSED))))
