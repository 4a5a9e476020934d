"""A customer's answer through a survey link: reading the link, recording and editing the
answer, unsubscribing.

The link's token names one invitation (only its hash is stored). An answer may be changed
until `edit_until` (the first answer plus the settings' edit hours), then it is locked.
Every save sends `survey_answered` inside the caller's transaction, so recovery, health
and opportunities react to exactly what was committed.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from service import events
from service.db_types import utcnow
from service.errors import Conflict, DomainError, InvalidInput
from service.extensions import db
from service.validation import strip_controls
from surveys import invitations, tokens
from surveys import settings as survey_settings
from surveys.models import Invitation, InvitationStatus, SurveyKind, SurveyResponse

COMMENT_MAX = 4000
USER_AGENT_MAX = 300
IP_MAX = 45
SCORES = {SurveyKind.CSAT: range(1, 6), SurveyKind.NPS: range(0, 11)}
DIMENSION_SCORES = range(1, 6)
DIMENSIONS = ("attitude", "efficiency", "outcome")
CSAT_LABELS = {1: _l("Very dissatisfied"), 2: _l("Dissatisfied"), 3: _l("Neutral"),
               4: _l("Satisfied"), 5: _l("Very satisfied")}
DIMENSION_LABELS = {"attitude": _l("Service attitude"),
                    "efficiency": _l("Resolution efficiency"),
                    "outcome": _l("Final outcome")}


class SurveyExpired(DomainError):
    """The link's time ran out before it was answered."""

    status, title, slug = 410, "Survey link expired", "survey-expired"


class LinkState(enum.StrEnum):
    """What a survey link leads to."""

    OPEN = "open"  # answerable, or answered and still editable
    INVALID = "invalid"  # malformed or unknown: 404
    EXPIRED = "expired"  # sent, unanswered, past expires_at: 410
    LOCKED = "locked"  # answered, past edit_until: 409


@dataclass(frozen=True)
class SurveyLink:
    """A survey link, read: its state, invitation and (once answered) response."""

    state: LinkState
    invitation: Invitation | None = None
    response: SurveyResponse | None = None


@dataclass(frozen=True)
class Details:
    """The rest of an answer: CSAT dimensions (1–5, each optional) and a comment."""

    attitude: int | None = None
    efficiency: int | None = None
    outcome: int | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Answer:
    """A score, and the details when the customer sent them (None keeps earlier ones)."""

    score: int
    details: Details | None = None


def read_link(token: str, now: datetime | None = None) -> SurveyLink:
    """Read a survey link without recording anything (a GET, a mail scanner)."""
    now = now or utcnow()
    if not isinstance(token, str) or not tokens.well_formed(token):
        return SurveyLink(LinkState.INVALID)
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.token_hash == tokens.token_hash(token)))
    if invitation is None or invitation.status not in (InvitationStatus.SENT,
                                                       InvitationStatus.ANSWERED):
        return SurveyLink(LinkState.INVALID)
    return _state_of(invitation, _response_of(invitation.id), now)


def _state_of(invitation: Invitation, response: SurveyResponse | None,
              now: datetime) -> SurveyLink:
    if response is None:
        if invitation.expires_at is not None and now >= invitation.expires_at:
            return SurveyLink(LinkState.EXPIRED, invitation)
        return SurveyLink(LinkState.OPEN, invitation)
    if now >= response.edit_until:
        return SurveyLink(LinkState.LOCKED, invitation, response)
    return SurveyLink(LinkState.OPEN, invitation, response)


def _response_of(invitation_id: int, *, lock: bool = False) -> SurveyResponse | None:
    query = select(SurveyResponse).where(SurveyResponse.invitation_id == invitation_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def mark_opened(invitation: Invitation, now: datetime | None = None) -> bool:
    """Record the first time the survey page was shown (no commit); False if seen before."""
    if invitation.opened_at is not None:
        return False
    now = now or utcnow()
    # Conditional, so two tabs opening at once record one time, the first.
    changed = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id,
                                 Invitation.opened_at.is_(None))
        .values(opened_at=now).execution_options(synchronize_session=False)).rowcount
    if changed:
        invitation.opened_at = now
    return bool(changed)


def validate_answer(kind: SurveyKind, answer: Answer) -> Answer:
    """The answer checked and cleaned (comment trimmed), or InvalidInput with field errors."""
    errors: dict[str, list[str]] = {}
    score = _score(errors, "score", answer.score, SCORES[kind])
    details = answer.details
    if details is not None:
        dimensions = {}
        for name in DIMENSIONS:
            value = getattr(details, name)
            if kind == SurveyKind.NPS and value is not None:
                errors[name] = [_("This survey does not ask for it.")]
            else:
                dimensions[name] = _score(errors, name, value, DIMENSION_SCORES,
                                          required=False)
        comment = details.comment
        if comment is not None and not isinstance(comment, str):
            errors["comment"] = [_("Must be text.")]
            comment = None
        comment = strip_controls(comment or "").strip() or None
        if comment is not None and len(comment) > COMMENT_MAX:
            errors["comment"] = [_("At most %(count)d characters.", count=COMMENT_MAX)]
        details = Details(comment=comment, **dimensions)
    if errors:
        raise InvalidInput(_("Some answers need attention."), errors=errors)
    return Answer(score, details)


def _score(errors: dict[str, list[str]], field: str, value: object, allowed: range, *,
           required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
        errors[field] = [_("Choose a score from %(low)d to %(high)d.", low=allowed[0],
                           high=allowed[-1])]
        return None
    return value


def record_answer(invitation: Invitation, answer: Answer, *, ip: str | None,
                  user_agent: str | None, now: datetime | None = None) -> SurveyResponse:
    """Save the customer's answer, or change it while still editable (no commit).

    Raises InvalidInput (bad answer), SurveyExpired (never answered, link too old),
    Conflict (the answer is locked, or the invitation is not answerable).
    """
    now = now or utcnow()
    answer = validate_answer(invitation.kind, answer)
    # Row-locked and re-read: two tabs answering at once make one response.
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.id == invitation.id).with_for_update()
        .execution_options(populate_existing=True))
    if invitation is None or invitation.status not in (InvitationStatus.SENT,
                                                       InvitationStatus.ANSWERED):
        raise Conflict(_("This survey cannot be answered."))
    response = _response_of(invitation.id, lock=True)
    state = _state_of(invitation, response, now).state
    if state == LinkState.EXPIRED:
        raise SurveyExpired(_("This survey link has expired."))
    if state == LinkState.LOCKED:
        raise Conflict(_("This answer can no longer be changed."))
    first = response is None
    previous_score = None if first else response.score
    if first:
        settings = survey_settings.current()
        response = SurveyResponse(
            invitation_id=invitation.id, kind=invitation.kind, contact_id=invitation.contact_id,
            account_id=invitation.account_id, ticket_id=invitation.ticket_id,
            team_id=invitation.team_id, agent_id=invitation.agent_id,
            product=invitation.product, channel=invitation.channel,
            campaign_id=invitation.campaign_id, created_at=now,
            edit_until=now + timedelta(hours=settings.edit_hours))
        db.session.add(response)
    response.score = answer.score
    if answer.details is not None:
        for name in (*DIMENSIONS, "comment"):
            setattr(response, name, getattr(answer.details, name))
    response.ip = (ip or "")[:IP_MAX] or None
    response.user_agent = (user_agent or "")[:USER_AGENT_MAX] or None
    response.updated_at = now
    invitation.status = InvitationStatus.ANSWERED
    invitation.answered_at = invitation.answered_at or now
    invitation.opened_at = invitation.opened_at or now  # answered implies seen
    db.session.flush()
    events.survey_answered.send(response.id, first=first, kind=invitation.kind.value,
                                score=response.score, previous_score=previous_score)
    return response


def unsubscribe(invitation: Invitation, now: datetime | None = None) -> bool:
    """Stop every survey to the invitation's contact (no commit); False if already out."""
    return invitations.opt_out(invitation.contact_id, "link", now=now or utcnow())
