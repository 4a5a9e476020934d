"""Admin operations of the directory: teams (lead, members, default), skills, agents' settings.

Decisions:
- A team's lead is always one of its members: choosing a lead adds them to the team, and a
  team's lead cannot be taken out of it without choosing another lead first.
- Exactly one team is the default (where unrouted tickets go): making a team the default
  takes the flag from the previous one, and the default team cannot simply drop it.
- A lead manages availability and capacity only for members of the teams they lead.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from service.auth.models import Availability, Role, User
from service.directory import services as directory
from service.directory.models import Skill, Team, team_members, user_skills
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.pagination import decode_cursor, encode_cursor
from service.validation import strip_controls


# The roles tickets.routing assigns tickets to (tickets.routing.ASSIGNABLE_ROLES).
AGENT_ROLES = (Role.AGENT, Role.LEAD)
MAX_CAPACITY = 500
AGENTS_PAGE_SIZE = 100


@dataclass(frozen=True)
class TeamRow:
    team: Team
    member_count: int


@dataclass(frozen=True)
class SkillRow:
    skill: Skill
    user_count: int


# ---- teams ----

def list_teams() -> list[TeamRow]:
    """Every team with its lead and member count (counted in SQL), by name."""
    counts = (select(team_members.c.team_id, func.count().label("members"))
              .group_by(team_members.c.team_id).subquery())
    rows = db.session.execute(
        select(Team, func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.team_id == Team.id)
        .options(joinedload(Team.lead)).order_by(Team.name))
    return [TeamRow(team, count) for team, count in rows]


def get_team(team_id: int) -> Team:
    """The team with this id, or NotFound."""
    team = db.session.get(Team, team_id)
    if team is None:
        raise NotFound("No such team.")
    return team


def member_choices() -> list[User]:
    """Staff who may be team members or leads (never integration partners), by name."""
    return list(db.session.scalars(select(User).where(User.role != Role.PARTNER)
                                   .order_by(User.name, User.id)))


def save_team(team: Team | None, *, name: str, name_zh: str | None, lead_id: int | None,
              member_ids: list[int], is_default: bool) -> Team:
    """Create (team None) or change a team: names, lead, members and the default flag."""
    errors: dict[str, list[str]] = {}
    clean_name = strip_controls(name or "").strip()
    if not 1 <= len(clean_name) <= 80:
        errors["name"] = [_("Must be 1 to 80 characters.")]
    elif _name_taken(Team, Team.name, clean_name, team.id if team else None):
        errors["name"] = [_("Another team has this name.")]
    clean_zh = strip_controls(name_zh or "").strip() or None
    if clean_zh is not None and len(clean_zh) > 80:
        errors["name_zh"] = [_("Must be at most 80 characters.")]
    members = _users(member_ids, errors)
    lead = None
    if lead_id is not None:
        lead = db.session.get(User, lead_id)
        keeps_lead = team is not None and team.lead_id == lead_id
        if lead is None or lead.role == Role.PARTNER or not (lead.is_active or keeps_lead):
            errors["lead"] = [_("Choose an active staff member from the list.")]
    if team is not None and team.is_default and not is_default:
        errors["is_default"] = [_("There must be one default team: make another team the "
                                  "default instead.")]
    if errors:
        raise InvalidInput(errors=errors)
    if lead is not None and lead not in members:
        members.append(lead)  # the lead is always a member
    if is_default and (team is None or not team.is_default):
        _clear_default()
    try:
        with db.session.begin_nested():
            if team is None:
                team = directory.create_team(clean_name, name_zh=clean_zh, lead=lead,
                                             is_default=is_default)
            else:
                team.name, team.name_zh = clean_name, clean_zh
                team.lead_id = lead.id if lead else None
                team.is_default = is_default
            team.members = members
    except (Conflict, IntegrityError):  # the same name, concurrently
        raise InvalidInput(errors={"name": [_("Another team has this name.")]}) from None
    db.session.flush()
    return team


def _clear_default() -> None:
    # Locked (PostgreSQL) so two admins choosing different defaults cannot both win.
    for current in db.session.scalars(select(Team).where(Team.is_default.is_(True))
                                      .with_for_update()):
        current.is_default = False
    db.session.flush()


def _users(ids: list[int], errors: dict[str, list[str]]) -> list[User]:
    wanted = sorted(set(ids))
    users = list(db.session.scalars(select(User).where(User.id.in_(wanted),
                                                       User.role != Role.PARTNER))) if wanted \
        else []
    if len(users) != len(wanted):
        errors["members"] = [_("Choose from the list.")]
    return users


# ---- skills ----

def list_skills() -> list[SkillRow]:
    """Every skill with how many users hold it (counted in SQL), by name."""
    counts = (select(user_skills.c.skill_id, func.count().label("users"))
              .group_by(user_skills.c.skill_id).subquery())
    rows = db.session.execute(select(Skill, func.coalesce(counts.c.users, 0))
                              .outerjoin(counts, counts.c.skill_id == Skill.id)
                              .order_by(Skill.name))
    return [SkillRow(skill, count) for skill, count in rows]


def get_skill(skill_id: int) -> Skill:
    """The skill with this id, or NotFound."""
    skill = db.session.get(Skill, skill_id)
    if skill is None:
        raise NotFound("No such skill.")
    return skill


def add_skill(name: str) -> Skill:
    """Create a skill; names are unique whatever their case."""
    clean = _skill_name(name, None)
    skill = Skill(name=clean)
    try:
        with db.session.begin_nested():
            db.session.add(skill)
    except IntegrityError:
        raise InvalidInput(errors={"name": [_("A skill with this name exists.")]}) from None
    return skill


def rename_skill(skill: Skill, name: str) -> str:
    """Rename a skill (its holders keep it); returns the old name."""
    clean = _skill_name(name, skill.id)
    old, skill.name = skill.name, clean
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise InvalidInput(errors={"name": [_("A skill with this name exists.")]}) from None
    return old


def delete_skill(skill: Skill) -> None:
    """Delete a skill; every user holding it loses it."""
    db.session.delete(skill)  # the ORM removes its user_skills rows
    db.session.flush()


def _skill_name(name: str, own_id: int | None) -> str:
    clean = strip_controls(name or "").strip()
    if not 1 <= len(clean) <= 60:
        raise InvalidInput(errors={"name": [_("Must be 1 to 60 characters.")]})
    if _name_taken(Skill, Skill.name, clean, own_id):
        raise InvalidInput(errors={"name": [_("A skill with this name exists.")]})
    return clean


def _name_taken(model: type, column, name: str, own_id: int | None) -> bool:
    query = select(model.id).where(func.lower(column) == name.lower())
    if own_id is not None:
        query = query.where(model.id != own_id)
    return db.session.scalar(query.limit(1)) is not None


# ---- agents: availability and capacity ----

def managed_teams(actor: User) -> list[Team]:
    """The teams whose agents the actor manages: all for an admin, the ones a lead leads."""
    query = select(Team).order_by(Team.name)
    if actor.role != Role.ADMIN:
        query = query.where(Team.lead_id == actor.id)
    return list(db.session.scalars(query))


def _managed(actor: User):
    """SQL condition: the active agents this actor may manage."""
    condition = User.role.in_(AGENT_ROLES) & User.is_active.is_(True)
    if actor.role != Role.ADMIN:
        led = select(Team.id).where(Team.lead_id == actor.id)
        condition = condition & User.id.in_(select(team_members.c.user_id)
                                            .where(team_members.c.team_id.in_(led)))
    return condition


def managed_agents(actor: User, *, team_id: int | None = None, cursor: str | None = None,
                   limit: int = AGENTS_PAGE_SIZE) -> tuple[list[User], str | None]:
    """A page of the agents the actor manages (teams loaded), by id."""
    query = select(User).options(selectinload(User.teams)).where(_managed(actor))
    if team_id is not None:
        query = query.where(User.id.in_(select(team_members.c.user_id)
                                        .where(team_members.c.team_id == team_id)))
    if cursor:
        _value, last_id = decode_cursor(cursor, "id")
        query = query.where(User.id > last_id)
    rows = list(db.session.scalars(query.order_by(User.id).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("id", None, rows[-1].id)


def get_managed_agent(actor: User, user_id: int) -> User:
    """An agent the actor manages; NotFound for anyone else (never revealing they exist)."""
    agent = db.session.scalar(select(User).where(User.id == user_id, _managed(actor)))
    if agent is None:
        raise NotFound("No such agent.")
    return agent


def update_agent_settings(agent: User, *, availability: str, max_open_tickets: int) -> None:
    """Set availability and capacity (0 to 500); coming back or more room assigns queued work.

    The assignment itself follows the directory services' agent_became_available event.
    """
    errors: dict[str, list[str]] = {}
    if availability not in {value.value for value in Availability}:
        errors["availability"] = [_("Choose an availability from the list.")]
    if not isinstance(max_open_tickets, int) or not 0 <= max_open_tickets <= MAX_CAPACITY:
        errors["max_open_tickets"] = [_("Must be between 0 and %(n)s.", n=MAX_CAPACITY)]
    if errors:
        raise InvalidInput(errors=errors)
    directory.set_availability(agent, availability)
    directory.set_capacity(agent, max_open_tickets)
