"""The departments and people the task forms offer, each list in one query."""
from __future__ import annotations

from sqlalchemy import select

from service.auth.models import Role, User
from service.directory.models import Team, team_members
from service.extensions import db
from tickets.ticket_page import team_name

# Who may hold a task: staff who work in the console (not sales, not integrations).
TASK_ROLES = (Role.ADMIN, Role.LEAD, Role.AGENT, Role.DEPARTMENT)


def departments() -> list[tuple[int, str]]:
    """Every team, by name in the reader's language."""
    rows = db.session.execute(select(Team.id, Team.name, Team.name_zh)).all()
    named = [(row.id, team_name(row.name, row.name_zh) or "") for row in rows]
    return sorted(named, key=lambda item: (item[1].casefold(), item[0]))


def user_departments(user: User) -> list[int]:
    """The ids of the teams the user belongs to."""
    return list(db.session.scalars(select(team_members.c.team_id)
                                   .where(team_members.c.user_id == user.id)
                                   .order_by(team_members.c.team_id)))


def people() -> list[tuple[int, str, list[int]]]:
    """Active staff who may hold a task, with the departments they belong to."""
    found: dict[int, tuple[int, str, list[int]]] = {}
    for row in db.session.execute(
            select(User.id, User.name, team_members.c.team_id)
            .join(team_members, team_members.c.user_id == User.id)
            .where(User.is_active.is_(True), User.role.in_(TASK_ROLES))
            .order_by(User.name, User.id)):
        found.setdefault(row.id, (row.id, row.name, []))[2].append(row.team_id)
    return list(found.values())


def members(team_id: int) -> list[tuple[int, str]]:
    """Active staff of one department who may hold its tasks."""
    return [(row.id, row.name) for row in db.session.execute(
        select(User.id, User.name).join(team_members, team_members.c.user_id == User.id)
        .where(team_members.c.team_id == team_id, User.is_active.is_(True),
               User.role.in_(TASK_ROLES))
        .order_by(User.name, User.id))]
