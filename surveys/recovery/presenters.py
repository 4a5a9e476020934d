"""The API view of recovery follow-ups, with their names loaded in a few queries."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.auth.models import User
from service.db_types import utcnow
from service.directory.models import Account, Contact, Team
from service.extensions import db
from surveys.models import RecoveryFollowUp, SurveyResponse
from surveys.recovery.access import is_overdue
from tickets.models import format_number


def _names(model: Any, ids: set[int | None]) -> dict[int, str]:
    wanted = [value for value in ids if value is not None]
    if not wanted:
        return {}
    return {row.id: row.name for row in
            db.session.execute(select(model.id, model.name).where(model.id.in_(wanted)))}


def _ref(names: dict[int, str], value: int | None) -> dict[str, Any] | None:
    return {"id": value, "name": names.get(value, "")} if value is not None else None


def present_many(rows: list[RecoveryFollowUp], *, with_answer: bool = False
                 ) -> list[dict[str, Any]]:
    """The API views of these follow-ups (one query per kind of name)."""
    users = _names(User, {user_id for row in rows
                          for user_id in (row.owner_id, row.account_manager_id,
                                          row.closed_by_id)})
    contacts = _names(Contact, {row.contact_id for row in rows})
    accounts = _names(Account, {row.account_id for row in rows})
    teams = _names(Team, {row.team_id for row in rows})
    now = utcnow()
    views = []
    for row in rows:
        view = {
            "id": row.id, "kind": row.kind.value, "score": row.score,
            "status": row.status.value, "overdue": is_overdue(row, now), "due_at": row.due_at,
            "overdue_notified_at": row.overdue_notified_at,
            "contact": _ref(contacts, row.contact_id), "account": _ref(accounts, row.account_id),
            "ticket": {"id": row.ticket_id, "number": format_number(row.ticket_id)}
            if row.ticket_id else None,
            "team": _ref(teams, row.team_id), "owner": _ref(users, row.owner_id),
            "account_manager": _ref(users, row.account_manager_id),
            "outcome": row.outcome.value if row.outcome else None, "note": row.note,
            "closed_at": row.closed_at, "closed_by": _ref(users, row.closed_by_id),
            "resurvey_invitation_id": row.resurvey_invitation_id, "won_back": row.won_back,
            "created_at": row.created_at,
        }
        if with_answer:
            response = db.session.get(SurveyResponse, row.response_id)
            view["answer"] = {
                "id": response.id, "kind": response.kind.value, "score": response.score,
                "attitude": response.attitude, "efficiency": response.efficiency,
                "outcome": response.outcome, "comment": response.comment,
                "created_at": response.created_at} if response else None
        views.append(view)
    return views


def present(row: RecoveryFollowUp) -> dict[str, Any]:
    """The API view of one follow-up, with the answer behind it."""
    return present_many([row], with_answer=True)[0]
