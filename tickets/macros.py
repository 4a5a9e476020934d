"""Canned responses (macros): who may use and manage which, and safe placeholder filling.

A canned response is shared (no team, no owner: everyone's), a team's (its members') or
personal (its owner's only). Anyone who may reply keeps personal ones; shared and team
ones need canned.shared: a lead for the teams they lead or belong to, an admin for any.
Someone else's personal response does not exist for anyone else (NotFound).

Placeholders such as {{ customer.name }} are filled by plain text substitution, never by
a template engine: what staff write can never run template code. Unknown placeholders
stay as written, and saving lists them as a warning.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import joinedload

from service.auth.models import Role, User
from service.auth.permissions import Permission, can, require
from service.db_types import utcnow
from service.directory.models import Team, team_members
from service.errors import Forbidden, InvalidInput, NotFound
from service.extensions import db
from service.validation import strip_controls
from tickets.models import CannedResponse

TITLE_MAX = 120
BODY_MAX = 10000

PLACEHOLDERS = ("customer.name", "customer.first_name", "customer.email", "ticket.number",
                "ticket.subject", "agent.name", "agent.first_name", "team.name")

# {{ name }} with optional spaces; anything else between braces is left alone.
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
# Anything that looks like a placeholder attempt, to warn about what will not be filled.
_BRACES = re.compile(r"\{\{(.{0,80}?)\}\}", re.DOTALL)

# Messages (English, like every service): the console translates them by these texts.
TITLE_REQUIRED = "Give the canned response a title."
TITLE_TOO_LONG = f"The title is at most {TITLE_MAX} characters."
BODY_REQUIRED = "Write the text of the canned response."
BODY_TOO_LONG = f"The text is at most {BODY_MAX} characters."
SCOPE_NOT_ALLOWED = "You may not keep canned responses there."
MANAGE_NOT_ALLOWED = "You may use this canned response but not change it."


class Scope(enum.StrEnum):
    PERSONAL = "personal"
    TEAM = "team"
    SHARED = "shared"


def scope_of(macro: CannedResponse) -> Scope:
    """Whose the canned response is: one person's, a team's or everyone's."""
    if macro.owner_id is not None:
        return Scope.PERSONAL
    return Scope.TEAM if macro.team_id is not None else Scope.SHARED


# ---- placeholders ----

def first_name(name: str | None) -> str:
    """The first word of a name; a name written without spaces (张伟) stays whole."""
    parts = (name or "").split()
    return parts[0] if parts else ""


def placeholder_values(*, customer_name: str | None, customer_email: str | None,
                       ticket_number: str, ticket_subject: str, agent_name: str | None,
                       team_name: str | None) -> dict[str, str]:
    """The text each known placeholder stands for on one ticket, for one agent."""
    return {
        "customer.name": customer_name or "", "customer.first_name": first_name(customer_name),
        "customer.email": customer_email or "", "ticket.number": ticket_number,
        "ticket.subject": ticket_subject, "agent.name": agent_name or "",
        "agent.first_name": first_name(agent_name), "team.name": team_name or "",
    }


def render(body: str, values: dict[str, str]) -> str:
    """Fill known placeholders in one pass; unknown ones and any other braces stay as text.

    One pass: a value that itself looks like a placeholder (a customer named
    "{{ agent.name }}") is inserted as written, never expanded again.
    """
    def fill(match: re.Match) -> str:
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    return _PLACEHOLDER.sub(fill, body)


def unknown_placeholders(body: str) -> list[str]:
    """Placeholder-like text in a body that will not be filled, as written, in order."""
    found: list[str] = []
    for match in _BRACES.finditer(body):
        known = _PLACEHOLDER.fullmatch(match.group(0))
        if known is None or known.group(1) not in PLACEHOLDERS:
            text = match.group(0)
            if text not in found:
                found.append(text)
    return found


# ---- who sees and manages what ----

def _member_team_ids(user: User):
    return select(team_members.c.team_id).where(team_members.c.user_id == user.id)


def _usable(user: User):
    """SQL condition: canned responses the user may insert in a reply or note."""
    shared = and_(CannedResponse.team_id.is_(None), CannedResponse.owner_id.is_(None))
    return or_(shared, CannedResponse.owner_id == user.id,
               CannedResponse.team_id.in_(_member_team_ids(user)))


def _manages_every_team(user: User) -> bool:
    # The matrix gives canned.shared to leads and admins; only admins reach beyond their
    # own teams, and only they keep the responses everyone shares.
    return user.role == Role.ADMIN and can(user, Permission.CANNED_SHARED)


def manageable_team_ids(user: User) -> set[int] | None:
    """Teams whose canned responses the user may manage; None means every team."""
    if not can(user, Permission.CANNED_SHARED):
        return set()
    if _manages_every_team(user):
        return None
    led = select(Team.id).where(Team.lead_id == user.id)
    return set(db.session.scalars(_member_team_ids(user).union(led)))


def _listed(user: User):
    """SQL condition: what the index shows, usable ones and the team ones the user keeps."""
    teams = manageable_team_ids(user)
    if teams is None:
        kept = CannedResponse.team_id.is_not(None)
    elif teams:
        kept = CannedResponse.team_id.in_(teams)
    else:
        kept = false()
    return or_(_usable(user), kept)


def may_keep(user: User, scope: Scope, team_id: int | None) -> bool:
    """Whether the user may keep a canned response in this scope (team)."""
    if not can(user, Permission.TICKET_REPLY):
        return False
    if scope == Scope.PERSONAL:
        return True
    if scope == Scope.SHARED:
        return _manages_every_team(user)
    teams = manageable_team_ids(user)
    return team_id is not None and (teams is None or team_id in teams)


def manager_of(user: User) -> Callable[[CannedResponse], bool]:
    """Whether the user may edit or delete a canned response, as a check made for a list
    (the user's teams are read once, not per row)."""
    replies = can(user, Permission.TICKET_REPLY)
    every = _manages_every_team(user)
    teams = manageable_team_ids(user)

    def check(macro: CannedResponse) -> bool:
        scope = scope_of(macro)
        if not replies:
            return False
        if scope == Scope.PERSONAL:
            return macro.owner_id == user.id
        if scope == Scope.SHARED:
            return every
        return teams is None or macro.team_id in teams

    return check


def can_manage(user: User, macro: CannedResponse) -> bool:
    """Whether the user may edit or delete this canned response."""
    return manager_of(user)(macro)


def list_usable(user: User) -> list[CannedResponse]:
    """The canned responses the user may insert, by title."""
    return list(db.session.scalars(
        select(CannedResponse).where(_usable(user))
        .order_by(CannedResponse.title, CannedResponse.id)))


def list_for_index(user: User) -> list[CannedResponse]:
    """What the canned-responses page lists for the user (with their teams loaded)."""
    return list(db.session.scalars(
        select(CannedResponse).where(_listed(user)).options(joinedload(CannedResponse.team))
        .order_by(CannedResponse.title, CannedResponse.id)))


def get_usable(user: User, macro_id: int) -> CannedResponse:
    """A canned response the user may insert, or NotFound."""
    macro = db.session.scalar(select(CannedResponse)
                              .where(CannedResponse.id == macro_id, _usable(user)))
    if macro is None:
        raise NotFound("No such canned response.")
    return macro


def get_for_change(user: User, macro_id: int) -> CannedResponse:
    """A canned response the user may edit: NotFound if hidden from them, else Forbidden."""
    macro = db.session.scalar(select(CannedResponse)
                              .where(CannedResponse.id == macro_id, _listed(user)))
    if macro is None:
        raise NotFound("No such canned response.")
    if not can_manage(user, macro):
        raise Forbidden(MANAGE_NOT_ALLOWED)
    return macro


# ---- writing ----

@dataclass(frozen=True)
class Saved:
    macro: CannedResponse
    unknown_placeholders: list[str]


def _clean(data: dict[str, Any]) -> tuple[str, str, dict[str, list[str]]]:
    title = strip_controls(data.get("title") or "").strip()
    body = strip_controls(data.get("body") or "").strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [TITLE_REQUIRED]
    elif len(title) > TITLE_MAX:
        errors["title"] = [TITLE_TOO_LONG]
    if not body:
        errors["body"] = [BODY_REQUIRED]
    elif len(body) > BODY_MAX:
        errors["body"] = [BODY_TOO_LONG]
    return title, body, errors


def save(user: User, macro: CannedResponse | None, data: dict[str, Any]) -> Saved:
    """Create (macro None) or change a canned response, then commit.

    `data`: title, body, scope (Scope) and team_id (for a team one). Raises InvalidInput
    (field → messages), Forbidden when the user may not keep it in that scope.
    """
    require(user, Permission.TICKET_REPLY)
    if macro is not None and not can_manage(user, macro):
        raise Forbidden(MANAGE_NOT_ALLOWED)
    title, body, errors = _clean(data)
    scope = Scope(data.get("scope") or Scope.PERSONAL)
    team_id = data.get("team_id") if scope == Scope.TEAM else None
    if not may_keep(user, scope, team_id) or (
            team_id is not None and db.session.get(Team, team_id) is None):
        errors["scope"] = [SCOPE_NOT_ALLOWED]
    if errors:
        raise InvalidInput("The canned response has invalid fields.", errors=errors)
    if macro is None:
        macro = CannedResponse(created_by_id=user.id)
        db.session.add(macro)
    macro.title, macro.body = title, body
    macro.team_id = team_id
    macro.owner_id = user.id if scope == Scope.PERSONAL else None
    macro.updated_at = utcnow()
    db.session.commit()
    return Saved(macro, unknown_placeholders(body))


def delete(user: User, macro: CannedResponse) -> None:
    """Delete a canned response the user manages, then commit."""
    if not can_manage(user, macro):
        raise Forbidden(MANAGE_NOT_ALLOWED)
    db.session.delete(macro)
    db.session.commit()
