"""Resolutions and confirmations as the API and the console show them (few queries)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.auth.models import User
from service.directory.models import Team
from service.extensions import db
from tickets.models import Ticket
from tickets.resolution.models import Confirmation, Resolution


def ticket_state(ticket: Ticket) -> dict[str, Any]:
    """The ticket's status and closing facts after a resolution or an answer."""
    return {"id": ticket.id, "number": ticket.number, "status": ticket.status.value,
            "closed_reason": ticket.closed_reason.value if ticket.closed_reason else None,
            "resolved_at": ticket.resolved_at, "closed_at": ticket.closed_at,
            "reopen_count": ticket.reopen_count}


def _user_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def _ref(user_id: int | None, names: dict[int, str]) -> dict[str, Any] | None:
    if user_id is None:
        return None
    return {"id": user_id, "name": names.get(user_id, "")}


def present_confirmation(confirmation: Confirmation,
                         names: dict[int, str] | None = None) -> dict[str, Any]:
    """One answer with its evidence (channel, actor, IP, user agent, call reference)."""
    if names is None:
        names = _user_names({confirmation.user_id} if confirmation.user_id else set())
    return {"id": confirmation.id, "resolution_id": confirmation.resolution_id,
            "outcome": confirmation.outcome.value, "channel": confirmation.channel.value,
            "actor_kind": confirmation.actor_kind.value, "contact_id": confirmation.contact_id,
            "user": _ref(confirmation.user_id, names), "ip_address": confirmation.ip_address,
            "user_agent": confirmation.user_agent,
            "call_reference": confirmation.call_reference, "comment": confirmation.comment,
            "created_at": confirmation.created_at}


def present_resolutions(ticket: Ticket, resolutions: list[Resolution]) -> list[dict[str, Any]]:
    """Resolutions with their confirmations: one query for the answers, one for names."""
    ids = [resolution.id for resolution in resolutions]
    answers: dict[int, list[Confirmation]] = {}
    if ids:
        for confirmation in db.session.scalars(
                select(Confirmation).where(Confirmation.resolution_id.in_(ids))
                .order_by(Confirmation.id)):
            answers.setdefault(confirmation.resolution_id, []).append(confirmation)
    user_ids = {r.verified_by_id for r in resolutions if r.verified_by_id}
    user_ids |= {c.user_id for group in answers.values() for c in group if c.user_id}
    names = _user_names(user_ids)
    state = ticket_state(ticket)
    return [_present(resolution, answers.get(resolution.id, []), names, state)
            for resolution in resolutions]


def present_resolution(ticket: Ticket, resolution: Resolution) -> dict[str, Any]:
    """One resolution as ResolutionOut."""
    return present_resolutions(ticket, [resolution])[0]


def _present(resolution: Resolution, answers: list[Confirmation], names: dict[int, str],
             state: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": resolution.id, "ticket_id": resolution.ticket_id, "ticket": state,
        "summary": resolution.summary, "root_cause": resolution.root_cause,
        "verification": {
            "method": resolution.verification_method,
            "result": resolution.verification_result,
            "evidence_note": resolution.evidence_note,
            "attachment_ids": list(resolution.evidence_attachment_ids or []),
            "verified_by": _ref(resolution.verified_by_id, names),
            "verified_at": resolution.created_at,
        },
        "override_reason": resolution.override_reason,
        "overridden_task_ids": list(resolution.overridden_task_ids or []),
        "confirmation": {"state": resolution.state.value, "remind_at": resolution.remind_at,
                         "reminded_at": resolution.reminded_at,
                         "auto_close_at": resolution.auto_close_at,
                         "answered_at": resolution.answered_at},
        "confirmations": [present_confirmation(answer, names) for answer in answers],
        "created_at": resolution.created_at,
    }


def present_open_tasks(tasks: list[Any]) -> list[dict[str, Any]]:
    """Tasks blocking a resolution: id, title, status and department (one query for names)."""
    department_ids = {task.department_id for task in tasks}
    departments = {}
    if department_ids:
        departments = {row.id: row.name for row in db.session.execute(
            select(Team.id, Team.name).where(Team.id.in_(department_ids)))}
    return [{"id": task.id, "title": task.title, "status": task.status.value,
             "department": {"id": task.department_id,
                            "name": departments.get(task.department_id, "")}}
            for task in tasks]
