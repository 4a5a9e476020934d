"""Survey panels on the ticket, contact and account pages (registered at import).

Ticket: "Customer satisfaction" (this ticket's CSAT answer, its invitation's state and the
recovery follow-up). Contact: recent answers, last NPS, opt-out, open follow-ups. Account:
health score with its components and history, recent answers, open follow-ups. Only
staff who may see customers (CUSTOMER_VIEW) see them; follow-ups only when they may.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.db_types import utcnow
from service.directory import panels as directory_panels
from service.directory.models import Account, Contact
from service.extensions import db
from surveys import invitations
from surveys.health import services as health
from surveys.models import (Invitation, InvitationStatus, InvitationTrigger, RecoveryStatus,
                            SurveyKind, SurveyResponse)
from surveys.recovery import access
from surveys.recovery.labels import (BAND_LABELS, COMPONENT_LABELS, INVITATION_LABELS,
                                     KIND_LABELS, OUTCOME_LABELS, SKIP_LABELS, STATUS_LABELS,
                                     label)
from tickets.models import Ticket
from tickets.ticket_page import register_panel

RECENT = 5


def _answer(response: SurveyResponse) -> dict[str, Any]:
    return {"id": response.id, "kind": label(KIND_LABELS, response.kind),
            "score": response.score, "attitude": response.attitude,
            "efficiency": response.efficiency, "outcome": response.outcome,
            "comment": response.comment, "ticket_id": response.ticket_id,
            "at": response.created_at}


def invitation_state(invitation: Invitation) -> str:
    """scheduled / sent / opened / answered / skipped (opened: the page was shown)."""
    if invitation.status == InvitationStatus.SENT and invitation.opened_at is not None:
        return "opened"
    return invitation.status.value


def _follow_ups(user: User, **filters: Any) -> list[dict[str, Any]] | None:
    """Open follow-ups the user may see, or None when they may see none at all."""
    if not can(user, Permission.RECOVERY_WORK):
        return None
    rows, _next = access.list_follow_ups(user, status=[RecoveryStatus.OPEN], limit=RECENT,
                                         **filters)
    now = utcnow()
    return [{"id": row.id, "kind": label(KIND_LABELS, row.kind), "score": row.score,
             "due_at": row.due_at, "overdue": access.is_overdue(row, now)} for row in rows]


def ticket_panel(user: User, ticket: Ticket) -> dict[str, Any] | None:
    """This ticket's CSAT: answer, invitation state, recovery follow-up."""
    if not can(user, Permission.CUSTOMER_VIEW):
        return None
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.ticket_id == ticket.id,
                                 Invitation.trigger == InvitationTrigger.TICKET_CLOSED)
        .order_by(Invitation.id.desc()).limit(1))
    if invitation is None:
        return None
    response = db.session.scalar(select(SurveyResponse)
                                 .where(SurveyResponse.invitation_id == invitation.id))
    follow_up = None
    if response is not None:
        from surveys.recovery.services import follow_up_for_response

        row = follow_up_for_response(response.id)
        if row is not None:
            visible = can(user, Permission.RECOVERY_WORK) and access.may_work(user, row)
            follow_up = {"id": row.id, "status": label(STATUS_LABELS, row.status),
                         "due_at": row.due_at, "visible": visible,
                         "overdue": access.is_overdue(row, utcnow()),
                         "outcome": label(OUTCOME_LABELS, row.outcome) if row.outcome
                         else None}
    state = invitation_state(invitation)
    return {"state": state, "state_label": label(INVITATION_LABELS, state),
            "skip_reason": label(SKIP_LABELS, invitation.skip_reason)
            if invitation.skip_reason else None,
            "send_at": invitation.send_at, "sent_at": invitation.sent_at,
            "answer": _answer(response) if response else None, "follow_up": follow_up}


def _recent_answers(**where: Any) -> list[dict[str, Any]]:
    column = getattr(SurveyResponse, next(iter(where)))
    rows = db.session.scalars(select(SurveyResponse).where(column == next(iter(where.values())))
                              .order_by(SurveyResponse.created_at.desc(),
                                        SurveyResponse.id.desc()).limit(RECENT))
    return [_answer(row) for row in rows]


def contact_panel(user: User, contact: Contact) -> dict[str, Any] | None:
    """A contact's recent answers, last NPS, opt-out and open follow-ups."""
    if not can(user, Permission.CUSTOMER_VIEW):
        return None
    last_nps = db.session.scalar(
        select(SurveyResponse).where(SurveyResponse.contact_id == contact.id,
                                     SurveyResponse.kind == SurveyKind.NPS)
        .order_by(SurveyResponse.created_at.desc(), SurveyResponse.id.desc()).limit(1))
    return {"answers": _recent_answers(contact_id=contact.id),
            "last_nps": _answer(last_nps) if last_nps else None,
            "opted_out": invitations.is_opted_out(contact.id),
            "follow_ups": _follow_ups(user, contact_id=contact.id)}


def account_panel(user: User, account: Account) -> dict[str, Any] | None:
    """An account's health (band, components, history), recent answers, open follow-ups."""
    if not can(user, Permission.CUSTOMER_VIEW):
        return None
    current = health.current(account.id)
    components = []
    if current is not None:
        for name, part in (current.components or {}).items():
            if isinstance(part, dict):
                components.append({"label": label(COMPONENT_LABELS, name),
                                   "value": part.get("value"), "points": part.get("points"),
                                   "count": part.get("count"), "name": name})
    return {"health": {"score": current.score, "band": current.band.value,
                       "band_label": label(BAND_LABELS, current.band),
                       "at": current.computed_at,
                       "no_data": bool((current.components or {}).get("no_data"))}
            if current else None,
            "components": components,
            "history": [{"score": row.score, "band_label": label(BAND_LABELS, row.band),
                         "at": row.computed_at}
                        for row in health.history(account.id, RECENT)],
            "answers": _recent_answers(account_id=account.id),
            "follow_ups": _follow_ups(user, account_id=account.id)}


register_panel("customer_satisfaction", "surveys/panels/_ticket_csat.html", ticket_panel,
               order=60)
directory_panels.register("contact", "surveys", "surveys/panels/_contact_surveys.html",
                          contact_panel, order=60)
directory_panels.register("account", "health", "surveys/panels/_account_health.html",
                          account_panel, order=50)
