"""Reading survey answers and invitations for staff: filtered keyset pages, and names."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from service.auth.models import User
from service.directory.models import Account, Contact, Team
from service.errors import NotFound
from service.extensions import db
from service.pagination import decode_time_cursor, encode_cursor
from service.validation import is_id
from surveys.models import Invitation, SurveyKind, SurveyResponse

_SORT = "-created_at"


def list_responses(*, kind: SurveyKind | None = None, score_min: int | None = None,
                   score_max: int | None = None, team_id: int | None = None,
                   agent_id: int | None = None, account_id: int | None = None,
                   product: str | None = None, since: datetime | None = None,
                   until: datetime | None = None, limit: int = 50, cursor: str | None = None
                   ) -> tuple[list[SurveyResponse], str | None]:
    """One keyset page of answers, newest first, matching every filter given."""
    query = select(SurveyResponse)
    conditions = []
    if kind is not None:
        conditions.append(SurveyResponse.kind == kind)
    if score_min is not None:
        conditions.append(SurveyResponse.score >= score_min)
    if score_max is not None:
        conditions.append(SurveyResponse.score <= score_max)
    if team_id is not None:
        conditions.append(SurveyResponse.team_id == team_id)
    if agent_id is not None:
        conditions.append(SurveyResponse.agent_id == agent_id)
    if account_id is not None:
        conditions.append(SurveyResponse.account_id == account_id)
    if product is not None:
        conditions.append(SurveyResponse.product == product)
    if since is not None:
        conditions.append(SurveyResponse.created_at >= since)
    if until is not None:
        conditions.append(SurveyResponse.created_at < until)
    if cursor:
        at, last_id = decode_time_cursor(cursor, _SORT)
        conditions.append(or_(SurveyResponse.created_at < at,
                              and_(SurveyResponse.created_at == at,
                                   SurveyResponse.id < last_id)))
    rows = list(db.session.scalars(
        query.where(*conditions)
        .order_by(SurveyResponse.created_at.desc(), SurveyResponse.id.desc())
        .limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(_SORT, rows[-1].created_at, rows[-1].id)


def get_invitation(invitation_id: int) -> Invitation:
    """The invitation with this id, or NotFound."""
    invitation = db.session.get(Invitation, invitation_id) if is_id(invitation_id) else None
    if invitation is None:
        raise NotFound(_("No such survey invitation."))
    return invitation


def response_id_of(invitation_id: int) -> int | None:
    """The id of the invitation's answer, if it was answered."""
    return db.session.scalar(select(SurveyResponse.id)
                             .where(SurveyResponse.invitation_id == invitation_id))


@dataclass
class Names:
    """Names of the contacts, accounts, teams and staff that rows point at, by id."""
    contacts: dict[int, str] = field(default_factory=dict)
    accounts: dict[int, str] = field(default_factory=dict)
    teams: dict[int, str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)


def names_for(rows: Iterable[SurveyResponse | Invitation]) -> Names:
    """Look up, in one query per kind, the names the rows refer to."""
    rows = list(rows)

    def lookup(model, ids: set) -> dict[int, str]:
        ids.discard(None)
        if not ids:
            return {}
        return dict(db.session.execute(select(model.id, model.name)
                                       .where(model.id.in_(ids))).all())

    return Names(contacts=lookup(Contact, {row.contact_id for row in rows}),
                 accounts=lookup(Account, {row.account_id for row in rows}),
                 teams=lookup(Team, {row.team_id for row in rows}),
                 users=lookup(User, {row.agent_id for row in rows}))
